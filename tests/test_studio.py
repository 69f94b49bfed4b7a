"""The studio: a real `sitegen serve` with real Blender workers, driven by a real Chromium.

One studio for the module, on the small kino catalog of conftest.py (its kino.blend from
tests/blender_scenes.py) at 64x48 and 4 samples, into a store of its own and an --out
folder: a missing colouring shown in a page is rendered and appears; an edit reloads the
open page with its selection kept; a broken file shows its `file:line` over the page and
fixing it clears it; a stale picture is rendered again when viewed; the build holds no
trace of the studio. Every page is checked for console errors and CSP violations. Then a
slow render nobody looks at any more is stopped for the one looked at, and Ctrl-C in the
middle of that: the server and its workers stop, nothing half-written.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from browsing import Tab
from conftest import base_catalog, write_catalog
from sitefixtures import ROOT, read_tree

from sitegen.store import open_store

pytestmark = [pytest.mark.slow, pytest.mark.blender]

PRODUCT = "kino-stool"
PAGE = f"products/{PRODUCT}/"


def studio_catalog() -> dict[str, Any]:
    cat = base_catalog()
    cat["qualities"][0]["samples"] = 4
    return cat


@dataclass
class Running:
    """A `sitegen serve` subprocess and what it was given."""

    proc: subprocess.Popen[str]
    url: str
    catalog: Path
    store: Path
    out: Path
    log: Path

    def output(self) -> str:
        return self.log.read_text()

    def wait_output(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            assert self.proc.poll() is None, self.output()
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.output()}"
            time.sleep(0.05)

    def look(self, **body: Any) -> dict[str, Any]:
        request = urllib.request.Request(self.url + "_studio/look", method="POST",
                                         data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            answer: dict[str, Any] = json.loads(response.read())
        return answer


def start_studio(root: Path, scenes: Path, *args: str) -> Running:
    catalog = write_catalog(root / "cat", {"catalog.yaml": studio_catalog()}, blends=())
    (catalog / "kino.blend").write_bytes((scenes / "kino.blend").read_bytes())
    store, out, log = root / "renders", root / "out", root / "serve.log"
    with open(log, "w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sitegen", "--catalog", str(catalog), "serve", "--port",
             "0", "--renders", str(store), "--out", str(out), "--threads", "1", *args],
            cwd=root, stdout=sink, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    running = Running(proc, "", catalog, store, out, log)
    running.wait_output("serving ", timeout=60)
    line = next(li for li in running.output().splitlines() if li.startswith("serving "))
    running.url = line.split(" at ", 1)[1].split(" ", 1)[0]
    return running


def stop(running: Running) -> int:
    running.proc.send_signal(signal.SIGINT)
    return running.proc.wait(timeout=30)


def kill_tree(running: Running) -> None:
    """After a failed test: kill a studio still running, and its workers (a test's slow
    render would otherwise go on for hours)."""
    if running.proc.poll() is not None:
        return
    for pid in [*children(running.proc.pid), running.proc.pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    running.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory, blender_scenes: Path) -> Iterator[Running]:
    running = start_studio(tmp_path_factory.mktemp("studio"), blender_scenes)
    try:
        yield running
        if running.proc.poll() is None:
            stop(running)
    finally:
        kill_tree(running)
    assert "Traceback" not in running.output(), running.output()


@pytest.fixture
def tab(browser: Any, studio: Running, request: pytest.FixtureRequest) -> Iterator[Tab]:
    opened = Tab(browser, studio.url, request.node.name)
    try:
        yield opened
        opened.assert_clean()
    finally:
        opened.close()


def edit_catalog(studio: Running, change: Any) -> None:
    """Rewrite catalog.yaml: `change` takes the catalog dict (and changes it in place)."""
    path = studio.catalog / "catalog.yaml"
    cat = yaml.safe_load(path.read_text())
    change(cat)
    path.write_text(yaml.safe_dump(cat, sort_keys=False))


def key(frame: int, top: int) -> str:
    return f"frame-{frame}_top-{top}_insert-0_rim-0"


def shows(tab: Tab, name: str) -> None:
    """Wait until the page shows this picture, ready and loaded."""
    tab.wait("(name) => { const img = document.querySelector('.sb-figure .sb-img');"
             " return sketchbook.isReady() && img && img.src.includes(name)"
             " && img.complete && img.naturalWidth > 0; }", name, timeout=60)


def test_a_missing_colouring_is_rendered_when_shown(tab: Tab, studio: Running) -> None:
    address = f"preview/kino/front/{key(1140, 1128)}.png"
    assert not (studio.store / address).exists()
    page = tab.page
    page.goto(studio.url + PAGE + "#kind=wood-top&view=front&Frame=1140&Top=1128")
    shows(tab, key(1140, 1128))
    assert tab.selection()["parts"] == {"Frame": 1140, "Top": 1128}
    # Into the store as `render` puts it: indexed with its fingerprint, with a thumbnail.
    store = open_store(str(studio.store))
    try:
        assert store.stored()[address].fingerprint is not None
    finally:
        store.close()
    assert (studio.store / address.replace(".png", ".thumb.webp")).is_file()
    assert f"rendered {address}" in studio.output()
    # Only what was looked at: the other view of the colouring is still missing.
    assert not (studio.store / address.replace("/front/", "/side/")).exists()
    assert page.locator(".sitegen-studio-errors").count() == 0


def test_an_edit_reloads_the_page_with_its_selection(tab: Tab, studio: Running) -> None:
    tab.open(PAGE + "#kind=wood-top&view=side&Frame=1127&Top=1140")
    shows(tab, key(1127, 1140))  # rendered on demand first (the page reloads once for it)
    before = tab.hash()
    tab.wait("() => document.body.textContent.includes('Walnut')")
    tab.js("window.__before_reload = true")

    def rename(cat: dict[str, Any]) -> None:
        next(f for f in cat["finishes"] if f["id"] == 1140)["name"] = "Walnut oiled"

    edit_catalog(studio, rename)
    tab.wait("() => document.body.textContent.includes('Walnut oiled')", timeout=10)
    tab.wait("() => document.body.dataset.sketchbook === 'ready'")
    assert tab.js("window.__before_reload === undefined")  # a new page, not a patched one
    assert tab.hash() == before
    assert tab.selection()["parts"] == {"Frame": 1127, "Top": 1140}


def test_a_broken_file_shows_its_line_and_recovers(tab: Tab, studio: Running) -> None:
    page = tab.open(PAGE)
    tab.wait("() => sketchbook.isReady()", timeout=60)  # its default, rendered on demand
    path = studio.catalog / "catalog.yaml"
    good = path.read_text()
    lines = good.splitlines()
    at = next(n for n, line in enumerate(lines) if line.startswith("- id: 1127"))
    lines[at] = "- id: [1127"  # a YAML syntax error
    path.write_text("\n".join(lines) + "\n")
    errors = page.locator(".sitegen-studio-errors")
    errors.wait_for(state="visible", timeout=10_000)
    text = errors.inner_text()
    assert "cat/catalog.yaml:" in text or "catalog.yaml:" in text, text
    assert "Traceback" not in studio.output()
    assert tab.js("document.body.dataset.sketchbook") == "ready"  # the last good page stays
    path.write_text(good)
    errors.wait_for(state="detached", timeout=10_000)


def test_a_stale_picture_is_rendered_again_when_viewed(tab: Tab, studio: Running) -> None:
    address = f"preview/kino/front/{key(1127, 1127)}.png"
    first = studio.look(viewer="test", product=PRODUCT, kind="wood-top",
                        parts={"Frame": 1127, "Top": 1127}, view="front")
    assert first["state"] in ("queued", "ready")
    studio.wait_output(f"rendered {address}", timeout=60)
    before = (studio.store / address).read_bytes()

    def recolour(cat: dict[str, Any]) -> None:
        next(f for f in cat["finishes"] if f["id"] == 1127)["color"] = "#d01010"

    edit_catalog(studio, recolour)
    time.sleep(1)  # the studio takes the edit
    tab.open(PAGE + "#kind=wood-top&view=front&Frame=1127&Top=1127")
    deadline = time.monotonic() + 60
    while (studio.store / address).read_bytes() == before:
        assert time.monotonic() < deadline, studio.output()
        time.sleep(0.1)
    shows(tab, key(1127, 1127))
    assert studio.output().count(f"rendered {address}") == 2


def test_the_build_has_no_trace_of_the_studio(studio: Running, tmp_path: Path) -> None:
    """`sitegen build` from the same catalog and store writes what the studio built, byte
    for byte, and nothing in it names the studio."""
    time.sleep(1)  # the last render's rebuild
    out = tmp_path / "built"
    subprocess.run([sys.executable, "-m", "sitegen", "--catalog", str(studio.catalog),
                    "build", "--out", str(out), "--renders", str(studio.store)],
                   cwd=ROOT, check=True, capture_output=True)
    built = read_tree(out)
    assert built == read_tree(studio.out)
    for name, data in built.items():
        assert b"_studio" not in data and b"studio.js" not in data, name
    with urllib.request.urlopen(studio.url + PAGE, timeout=10) as response:
        served = response.read()
    assert b'src="/_studio/studio.js' in served and served != built[PAGE + "index.html"]


def test_a_render_nobody_wants_is_stopped_and_ctrl_c_stops_the_rest(
        tmp_path: Path, blender_scenes: Path) -> None:
    """A slow render under way is abandoned (its worker killed, no picture) as soon as
    its viewer looks at another colouring, which then renders; Ctrl-C in the middle of
    that one stops the server and its workers with nothing half-written."""
    running = start_studio(tmp_path, blender_scenes)
    try:

        def slow(cat: dict[str, Any]) -> None:  # a render of many seconds, even converging
            cat["qualities"][0].update(samples=100_000, resolution=[640, 480])

        edit_catalog(running, slow)
        running.wait_output("changed: rebuilt", timeout=10)
        first = f"preview/kino/front/{key(1127, 1128)}.png"
        second = f"preview/kino/front/{key(1140, 1128)}.png"
        events_url = running.url + "_studio/events?viewer=test"
        with urllib.request.urlopen(events_url, timeout=60) as events:
            seen: list[tuple[str, str]] = []

            def until(name: str, address: str) -> None:
                for line in events:
                    if line.startswith(b"data: "):
                        event = json.loads(line[6:])
                        seen.append((event["event"], event.get("address", "")))
                        if seen[-1] == (name, address) and (
                                name != "progress" or event["fraction"] > 0):
                            return
                raise AssertionError(seen)

            answer = running.look(viewer="test", product=PRODUCT, kind="wood-top",
                                  parts={"Frame": 1127, "Top": 1128}, view="front")
            assert answer["state"] == "queued", answer
            until("progress", first)  # under way: its progress comes, in percent
            assert seen[:3] == [("hello", ""), ("queued", first), ("rendering", first)], seen
            time.sleep(0.35)  # not a burst (ondemand.BURST): the next look starts at once
            started = time.monotonic()
            answer = running.look(viewer="test", product=PRODUCT, kind="wood-top",
                                  parts={"Frame": 1140, "Top": 1128}, view="front")
            assert answer["state"] == "queued", answer
            until("rendering", second)
            assert ("rendered", first) not in seen and ("failed", first) not in seen, seen
            assert ("dropped", first) in seen, seen
            assert time.monotonic() - started < 10  # not after the rest of its samples
            until("progress", second)
        workers = children(running.proc.pid)
        assert workers
        assert stop(running) in (0, 130)
        assert "stopped" in running.output() and "Traceback" not in running.output()
        assert not [pid for pid in workers if alive(pid)]
        for address in (first, second):
            assert not (running.store / address).exists()  # abandoned, not half-written
        leftovers = [p.name for p in running.store.rglob("*") if p.is_file()
                     and p.name not in (".lock", "index.sqlite")]
        assert leftovers == []  # no temporary, no picture
    finally:
        kill_tree(running)


def children(pid: int) -> list[int]:
    found = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                           text=True).stdout.split()
    return [int(p) for p in found]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").is_file() and " Z " not in Path(
        f"/proc/{pid}/stat").read_text()
