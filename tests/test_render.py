"""`sitegen render`, `status` and `index rebuild` end to end, with real Blender renders.

Tiny scenes (tests/blender_scenes.py), 64x48 pictures, a few samples, denoising off.
`sitegen` always runs as a subprocess (`python -m sitegen`), so signals, exit statuses and
the worker processes are the real ones; the pytest process never imports bpy.

The test catalog: model `scene` (meshes box, ball; views main, side), finishes 1 red,
2 green, 3 and 4 textured (checker.png, checker2.png). Product `pair` (render all):
Box in {1, 3, 4}, Ball in {2, removed}: 6 colourings x 2 views. Product `solo` (render
default): Box in {3, 4}, default 4, Ball hidden: its default `box-4_ball-0` is also one of
pair's pictures. Order `web-order`: pair with Box 1, at quality `web` (JPEG 48x36), view
main. 14 distinct pictures in all.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from blender_scenes import (
    BALL,
    BOX,
    FLOOR,
    HOSTILE,
    MARKERS,
    SCENE,
    checker_coloured,
    greenish,
    greyish,
    pixel,
    reddish,
    trusting_open,
)
from conftest import write_catalog
from PIL import Image

from sitegen.store import FolderStore

pytestmark = pytest.mark.blender

PREVIEW_KEYS = [f"box-{b}_ball-{c}" for b in (1, 3, 4) for c in (2, 0)]
PREVIEW = {f"preview/scene/{v}/{k}.png" for v in ("main", "side") for k in PREVIEW_KEYS}
WEB = {"web/scene/main/box-1_ball-2.jpg", "web/scene/main/box-1_ball-0.jpg"}
ALL = PREVIEW | WEB
DEFAULTS = {"preview/scene/main/box-1_ball-2.png", "preview/scene/side/box-1_ball-2.png",
            "preview/scene/main/box-4_ball-0.png", "preview/scene/side/box-4_ball-0.png",
            "web/scene/main/box-1_ball-2.jpg"}
TEXTURE_3 = {a for a in PREVIEW if "box-3_" in a}  # the pictures that use checker.png


def catalog_data(samples: int = 2) -> dict[str, Any]:
    return {
        "site": {"title": "Test", "base_url": "https://example.com/", "renders_url": "renders/"},
        "natures": [{"id": "paint", "name": "Paint"}, {"id": "print", "name": "Print"},
                    {"id": "leaf", "name": "Leaf"}],
        "patterns": [{"id": "plain", "nature": "paint", "name": "Plain"},
                     {"id": "checker", "nature": "print", "name": "Checker"},
                     {"id": "green", "nature": "leaf", "name": "Green"}],
        "finishes": [
            {"id": 1, "pattern": "plain", "name": "Red", "color": "#ff0000"},
            {"id": 2, "pattern": "green", "name": "Green", "color": "#00c000"},
            {"id": 3, "pattern": "checker", "name": "Checker", "color": "#ffffff",
             "textures": {"diffuse": "textures/checker.png"}},
            {"id": 4, "pattern": "checker", "name": "Checker two", "color": "#ffffff",
             "textures": {"diffuse": "textures/checker2.png"}},
        ],
        "qualities": [
            {"id": "preview", "engine": "cycles", "samples": samples, "resolution": [64, 48],
             "format": "png", "denoise": "off", "primary": True},
            {"id": "web", "engine": "cycles", "samples": 1, "resolution": [48, 36],
             "format": "jpeg", "denoise": "off"},
        ],
        "models": [{"id": "scene", "blend": "models/scene.blend",
                    "meshes": [{"id": "box", "objects": ["Box"]},
                               {"id": "ball", "objects": ["Ball"]}],
                    "views": ["main", "side"]}],
        "products": [
            {"id": "pair", "name": "Pair", "model": "scene", "kinds": [
                {"id": "both", "name": "Both", "parts": [
                    {"part": "Box", "covered": ["paint", "print"], "meshes": ["box"],
                     "default": 1},
                    {"part": "Ball", "covered": ["leaf"], "meshes": ["ball"],
                     "optional": True}]}]},
            {"id": "solo", "name": "Solo", "model": "scene", "render": "default", "kinds": [
                {"id": "box-only", "name": "Box only", "parts": [
                    {"part": "Box", "covered": ["print"], "meshes": ["box"], "default": 4}]}]},
        ],
        "orders": [{"id": "web-order", "product": "pair", "quality": "web", "views": ["main"],
                    "select": {"Box": {"finishes": [1]}}}],
    }


# A model whose blend lacks an object the catalog names: refused before any render.
BROKEN = {
    "models": [{"id": "broken", "blend": "models/scene.blend",
                "meshes": [{"id": "box", "objects": ["Box"]},
                           {"id": "lamp", "objects": ["Lamp"]}],
                "views": ["main"]}],
    "products": [{"id": "lamp", "name": "Lamp", "model": "broken", "kinds": [
        {"id": "only", "name": "Only", "parts": [
            {"part": "Lamp", "covered": ["paint"], "meshes": ["lamp"]}]}]}],
}


@dataclass
class Project:
    """A catalog folder and a render store side by side; `sitegen` run as a subprocess."""

    root: Path
    tag: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def cat(self) -> Path:
        return self.root / "cat"

    @property
    def store(self) -> Path:
        return self.root / "renders"

    def env(self) -> dict[str, str]:
        tmp = self.root / "tmp"  # the pool's worker logs go here, not to /tmp
        tmp.mkdir(exist_ok=True)
        # The tag marks every process of this project's runs (workers inherit it).
        return {**os.environ, "TMPDIR": str(tmp), "SITEGEN_TEST_TAG": self.tag}

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "sitegen", "--catalog", str(self.cat), *args,
                "--renders", str(self.store)]

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(*args), capture_output=True, text=True,
                              timeout=timeout, env=self.env(), cwd=self.root, check=False)

    def render(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return self.run("render", "--workers", "1", "--device", "cpu", *args, timeout=timeout)

    def start(self, *args: str) -> Running:
        return Running(subprocess.Popen(self.command(*args), stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env=self.env(),
                                        cwd=self.root))

    def status(self) -> list[dict[str, Any]]:
        result = self.run("status", "--json")
        assert result.returncode == 0, result.stderr
        return [json.loads(line) for line in result.stdout.splitlines()]

    def records(self) -> dict[str, sqlite3.Row]:
        if not (self.store / "index.sqlite").exists():
            return {}
        db = sqlite3.connect(self.store / "index.sqlite")
        db.row_factory = sqlite3.Row
        try:
            return {r["address"]: r for r in db.execute("SELECT * FROM renders")}
        finally:
            db.close()

    def pictures(self) -> set[str]:
        """Every file under the store that is neither the index, the lock nor a thumbnail."""
        return {p.relative_to(self.store).as_posix() for p in self.store.rglob("*")
                if p.is_file() and not p.name.startswith((".lock", "index.sqlite"))
                and not p.name.endswith(".thumb.webp")}

    def temp_files(self) -> list[Path]:
        return [p for p in self.store.rglob(".*") if ".tmp-" in p.name]

    def processes(self) -> dict[int, str]:
        """pid -> command line of every live process started by this project's runs."""
        found = {}
        needle = f"SITEGEN_TEST_TAG={self.tag}".encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
                    found[int(entry.name)] = cmdline.decode(errors="replace")
            except OSError:  # gone, a zombie, or not ours
                continue
        return found

    def workers(self) -> dict[int, str]:
        return {pid: c for pid, c in self.processes().items() if "blender/worker.py" in c}


class Running:
    """A `sitegen render --json` in the background; its events read as they come."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.events: list[dict[str, Any]] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.stderr = ""
        threading.Thread(target=self._read_out, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()

    def wait_for(self, event: str, count: int, timeout: float = 120) -> None:
        """Read events until `count` of kind `event` have come."""
        deadline = time.monotonic() + timeout
        while sum(e["event"] == event for e in self.events) < count:
            line = self._lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if line is None:
                raise AssertionError(f"sitegen ended before {count} {event} events: "
                                     f"{self.events} {self.stderr}")
            self.events.append(json.loads(line))

    def finish(self, timeout: float = 120) -> int:
        code = self.proc.wait(timeout)
        while (line := self._lines.get(timeout=10)) is not None:
            self.events.append(json.loads(line))
        time.sleep(0.1)  # let the stderr reader finish
        return code

    def rendered(self) -> set[str]:
        return {e["address"] for e in self.events if e["event"] == "rendered"}

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def make_project(root: Path, scenes: Path, data: dict[str, Any] | None = None,
                 extra: dict[str, Any] | None = None, blend: str = SCENE) -> Project:
    """A catalog (catalog.yaml, plus z-extra.yaml when given) with the scene and textures."""
    files = {"catalog.yaml": data if data is not None else catalog_data()}
    if extra:
        files["z-extra.yaml"] = extra
    write_catalog(root / "cat", files, blends=())
    (root / "cat" / "models").mkdir(exist_ok=True)
    shutil.copyfile(scenes / blend, root / "cat" / "models" / SCENE)
    (root / "cat" / "textures").mkdir(exist_ok=True)
    for name in ("checker.png", "checker2.png"):
        shutil.copyfile(scenes / name, root / "cat" / "textures" / name)
    return Project(root)


def copy_project(project: Project, root: Path) -> Project:
    """A copy of a project (catalog and store) to change without touching the original."""
    shutil.copytree(project.cat, root / "cat")
    shutil.copytree(project.store, root / "renders")
    return Project(root)


def events(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def by_event(items: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in items if e["event"] == kind]


def rows(status: list[dict[str, Any]]) -> dict[tuple[str, str, str], tuple[int, ...]]:
    """(product, quality, view) -> (allowed, wanted, ready, missing, stale, unknown)."""
    return {(r["product"], r["quality"], r["view"]):
            (r["allowed"], r["wanted"], r["ready"], r["missing"], r["stale"], r["unknown"])
            for r in status if "totals" not in r}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def wait_gone(project: Project, timeout: float = 30) -> dict[int, str]:
    """Wait until no process of the project is left; returns those still there."""
    deadline = time.monotonic() + timeout
    while (left := project.processes()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@dataclass
class FirstRun:
    project: Project
    status_before: list[dict[str, Any]]
    result: subprocess.CompletedProcess[str]
    status_after: list[dict[str, Any]]


@pytest.fixture(scope="module")
def first(blender_scenes: Path, tmp_path_factory: pytest.TempPathFactory) -> FirstRun:
    """The test catalog rendered once into an empty store (status taken before and after).

    Tests that change anything work on a copy (`copy_project`).
    """
    project = make_project(tmp_path_factory.mktemp("first"), blender_scenes)
    before = project.status()
    result = project.render("--json")
    return FirstRun(project, before, result, project.status())


# --- the first run ----------------------------------------------------------------------

def test_first_run_names_sizes_and_index(first: FirstRun) -> None:
    project, result = first.project, first.result
    assert result.returncode == 0, result.stderr
    out = events(result)
    assert out[0] == {"event": "plan", "wanted": 14, "ready": 0, "stale_kept": 0, "render": 14,
                      "by_product": {"pair missing": 12, "solo missing": 2}}
    assert {e["address"] for e in by_event(out, "rendered")} == ALL
    summary = by_event(out, "summary")[0]
    assert summary["rendered"] == 14 and summary["failed"] == 0
    # Exactly the format's names; a thumbnail beside each; nothing else.
    assert project.pictures() == ALL
    assert not project.temp_files()
    for address in ALL:
        path = project.store / address
        with Image.open(path) as im:
            size = (64, 48) if address.startswith("preview/") else (48, 36)
            fmt = "PNG" if address.endswith(".png") else "JPEG"
            assert (im.format, im.size, im.mode) == (fmt, size, "RGB"), address
        with Image.open(path.with_name(path.name.rsplit(".", 1)[0] + ".thumb.webp")) as im:
            assert im.format == "WEBP" and im.size == size  # never enlarged
    # The index: one record per picture, the file's hash and size, a fingerprint.
    records = project.records()
    assert set(records) == ALL
    for address, rec in records.items():
        data = (project.store / address).read_bytes()
        assert (rec["sha256"], rec["bytes"]) == (hashlib.sha256(data).hexdigest(), len(data))
        assert rec["fingerprint"] and rec["blender"].startswith("5.")
        inputs = json.loads(rec["inputs"])
        assert set(inputs) >= {"renderer", "quality", "model", "blender"}
        assert inputs["blender"] == rec["blender"]  # the version is an input of the picture
    assert json.loads(records["preview/scene/main/box-3_ball-2.png"]["inputs"]).keys() == {
        "renderer", "quality", "model", "blender", "finish 2", "finish 3"}


def test_finishes_hidden_meshes_and_textures_are_really_rendered(first: FirstRun) -> None:
    store = first.project.store

    def px(address: str, point: tuple[float, float, float]) -> tuple[int, ...]:
        view = address.split("/")[2]
        with Image.open(store / address) as im:
            return im.convert("RGB").getpixel(pixel(point, view, im.size))  # type: ignore

    red_green = "preview/scene/main/box-1_ball-2.png"
    assert reddish(px(red_green, BOX)) and greenish(px(red_green, BALL))
    hidden = "preview/scene/main/box-1_ball-0.png"
    assert reddish(px(hidden, BOX))
    ball, floor = px(hidden, BALL), px(hidden, FLOOR)
    assert greyish(ball) and abs(ball[0] - floor[0]) < 25, (ball, floor)  # the floor shows
    for finish in (3, 4):
        textured = f"preview/scene/main/box-{finish}_ball-0.png"
        assert checker_coloured(px(textured, BOX)), px(textured, BOX)
    # the two textures differ where the box faces the camera
    assert px("preview/scene/main/box-3_ball-0.png", BOX) != px(
        "preview/scene/main/box-4_ball-0.png", BOX)
    # the side camera sees the ball in front of the box
    assert greenish(px("preview/scene/side/box-1_ball-2.png", BALL))
    assert reddish(px("web/scene/main/box-1_ball-0.jpg", BOX))


def test_status_before_and_after_the_first_run(first: FirstRun) -> None:
    assert rows(first.status_before) == {
        ("pair", "preview", "main"): (6, 6, 0, 6, 0, 0),
        ("pair", "preview", "side"): (6, 6, 0, 6, 0, 0),
        ("pair", "web", "main"): (6, 2, 0, 2, 0, 0),
        ("solo", "preview", "main"): (2, 1, 0, 1, 0, 0),
        ("solo", "preview", "side"): (2, 1, 0, 1, 0, 0),
    }
    assert rows(first.status_after) == {
        ("pair", "preview", "main"): (6, 6, 6, 0, 0, 0),
        ("pair", "preview", "side"): (6, 6, 6, 0, 0, 0),
        ("pair", "web", "main"): (6, 2, 2, 0, 0, 0),
        ("solo", "preview", "main"): (2, 1, 1, 0, 0, 0),
        ("solo", "preview", "side"): (2, 1, 1, 0, 0, 0),
    }
    # solo's default is also one of pair's pictures: the totals count it once.
    assert first.status_before[-1]["totals"] == {"wanted": 14, "ready": 0, "missing": 14,
                                                 "stale": 0, "unknown": 0}
    assert first.status_after[-1]["totals"] == {"wanted": 14, "ready": 14, "missing": 0,
                                                "stale": 0, "unknown": 0}


def test_second_run_renders_nothing(first: FirstRun, tmp_path: Path) -> None:
    project = copy_project(first.project, tmp_path)
    before = {a: (r["rendered_at"], r["sha256"]) for a, r in project.records().items()}
    mtimes = {a: (project.store / a).stat().st_mtime_ns for a in ALL}
    result = project.render()
    assert result.returncode == 0, result.stderr
    assert result.stdout == "wanted 14: 14 ready; render nothing\n"
    assert {a: (r["rendered_at"], r["sha256"]) for a, r in project.records().items()} == before
    assert {a: (project.store / a).stat().st_mtime_ns for a in ALL} == mtimes
    assert not project.workers()
    result = project.render("--dry-run", "--force")
    assert result.stdout == ("wanted 14: 0 ready; render 14 (forced)\n"
                             "  pair: 12 forced\n"
                             "  solo: 2 forced\n")


def test_dry_run_on_an_empty_store(blender_scenes: Path, tmp_path: Path) -> None:
    project = make_project(tmp_path, blender_scenes)
    result = project.render("--dry-run")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("wanted 14: 0 ready; render 14 (missing)\n"
                             "  pair: 12 missing\n"
                             "  solo: 2 missing\n")
    out = events(project.render("--dry-run", "--json", "--product", "solo"))
    assert out[0] == {"event": "plan", "wanted": 2, "ready": 0, "stale_kept": 0, "render": 2,
                      "by_product": {"solo missing": 2}}
    assert out[1:] == [{"event": "job", "address": f"preview/scene/{v}/box-4_ball-0.png",
                        "product": "solo", "reason": "missing"} for v in ("main", "side")]
    out = events(project.render("--dry-run", "--json", "--order", "web-order"))
    assert out[0]["by_product"] == {"pair missing": 2}
    assert {e["address"] for e in by_event(out, "job")} == WEB
    out = events(project.render("--dry-run", "--json", "--view", "side", "--limit", "3"))
    assert (out[0]["wanted"], out[0]["render"]) == (6, 3)
    assert [e["address"] for e in by_event(out, "job")] == [
        "preview/scene/side/box-1_ball-2.png", "preview/scene/side/box-4_ball-0.png",
        "preview/scene/side/box-1_ball-0.png"]  # the defaults first
    assert not project.store.exists() or not project.pictures()


# --- stale pictures -----------------------------------------------------------------------

def test_changed_texture_makes_exactly_its_pictures_stale(first: FirstRun,
                                                           tmp_path: Path) -> None:
    project = copy_project(first.project, tmp_path)
    before = project.records()
    # checker.png becomes plain magenta: only finish 3's pictures depend on it
    Image.new("RGB", (64, 64), (230, 20, 230)).save(project.cat / "textures" / "checker.png")

    result = project.render("--dry-run")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("wanted 14: 10 ready; render nothing\n"
                             "4 stale picture(s) kept: re-render them with --stale\n")
    result = project.render("--dry-run", "--stale")
    assert result.stdout == ("wanted 14: 10 ready; render 4 (stale: finish 3)\n"
                             "  pair: 4 stale\n")
    assert rows(project.status()) == {
        ("pair", "preview", "main"): (6, 6, 4, 0, 2, 0),
        ("pair", "preview", "side"): (6, 6, 4, 0, 2, 0),
        ("pair", "web", "main"): (6, 2, 2, 0, 0, 0),
        ("solo", "preview", "main"): (2, 1, 1, 0, 0, 0),
        ("solo", "preview", "side"): (2, 1, 1, 0, 0, 0),
    }
    # A plain run keeps the stale pictures; --stale re-renders exactly them.
    assert project.render("--json").returncode == 0
    assert project.records() == before
    result = project.render("--stale", "--json")
    assert result.returncode == 0, result.stderr
    out = events(result)
    assert out[0]["by_product"] == {"pair stale": 4}
    assert {e["address"] for e in by_event(out, "rendered")} == TEXTURE_3
    after = project.records()
    for address in ALL - TEXTURE_3:
        assert dict(after[address]) == dict(before[address]), address
    for address in TEXTURE_3:
        assert after[address]["fingerprint"] != before[address]["fingerprint"]
        assert after[address]["sha256"] == sha256(project.store / address)
    with Image.open(project.store / "preview/scene/main/box-3_ball-0.png") as im:
        r, g, b = im.convert("RGB").getpixel(pixel(BOX, "main", im.size))
        assert r > 1.5 * g and b > 1.5 * g, (r, g, b)  # the new texture is used
    assert all(r[4] == 0 and r[2] == r[1] for r in rows(project.status()).values())
    assert project.render().stdout == "wanted 14: 14 ready; render nothing\n"


# --- --limit, the index, qualities, the lock ---------------------------------------------

def test_limit_renders_every_default_first(blender_scenes: Path, tmp_path: Path) -> None:
    project = make_project(tmp_path, blender_scenes)
    result = project.render("--limit", "5", "--json")
    assert result.returncode == 0, result.stderr
    out = events(result)
    assert out[0]["render"] == 5 and out[0]["wanted"] == 14
    assert {e["address"] for e in by_event(out, "rendered")} == DEFAULTS
    assert set(project.records()) == DEFAULTS
    plan = events(project.render("--dry-run", "--json"))[0]
    assert (plan["ready"], plan["render"]) == (5, 9)


def test_index_rebuild_gives_unknown_fingerprints(first: FirstRun, tmp_path: Path) -> None:
    project = copy_project(first.project, tmp_path)
    stray = project.store / "preview/scene/main/.box-1_ball-2.tmp-99999.png"
    stray.write_bytes(b"half a picture")
    for name in ("index.sqlite", "index.sqlite-wal", "index.sqlite-shm"):
        (project.store / name).unlink(missing_ok=True)
    assert all(r[2] == 0 and r[3] == r[1] for r in rows(project.status()).values())

    result = project.run("index", "rebuild")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (f"indexed 14 picture(s) in {project.store}; their fingerprints "
                             "are unknown until they are rendered again\n")
    records = project.records()
    assert set(records) == ALL  # no thumbnail, no temporary file
    for address, rec in records.items():
        assert rec["fingerprint"] is None and json.loads(rec["inputs"]) == {}
        assert rec["sha256"] == sha256(project.store / address)
    assert rows(project.status()) == {
        ("pair", "preview", "main"): (6, 6, 6, 0, 0, 6),
        ("pair", "preview", "side"): (6, 6, 6, 0, 0, 6),
        ("pair", "web", "main"): (6, 2, 2, 0, 0, 2),
        ("solo", "preview", "main"): (2, 1, 1, 0, 0, 1),
        ("solo", "preview", "side"): (2, 1, 1, 0, 0, 1),
    }
    # unknown fingerprints are trusted: nothing to render
    assert project.render().stdout == "wanted 14: 14 ready; render nothing\n"


def test_changed_quality_is_refused(first: FirstRun, tmp_path: Path) -> None:
    project = copy_project(first.project, tmp_path)
    before = project.records()
    data = catalog_data(samples=3)
    write_catalog(project.cat, {"catalog.yaml": data}, blends=())
    for args in ((), ("--dry-run",), ("--stale",), ("--force",)):
        result = project.render(*args)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert "quality 'preview' already has renders made with other settings " \
               "(samples 2 -> 3)" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert project.records() == before
    # a new quality with those settings is the way: it is accepted
    data["qualities"][0].update(samples=2)
    data["qualities"].append({**data["qualities"][0], "id": "final", "samples": 3,
                              "primary": False})
    write_catalog(project.cat, {"catalog.yaml": data}, blends=())
    assert project.render("--dry-run").returncode == 0


def test_quality_without_renders_can_still_change(blender_scenes: Path,
                                                   tmp_path: Path) -> None:
    data = catalog_data()
    data["models"][0]["meshes"][0]["objects"] = ["Crate"]  # every render fails
    project = make_project(tmp_path, blender_scenes, data)
    result = project.render()
    assert result.returncode == 1 and not project.records()
    data["qualities"][0]["samples"] = 3
    write_catalog(project.cat, {"catalog.yaml": data}, blends=())
    result = project.render("--dry-run")
    assert result.returncode == 0, result.stderr  # "a quality is immutable once it has renders"


def test_the_lock(first: FirstRun, tmp_path: Path) -> None:
    project = copy_project(first.project, tmp_path)
    (project.store / "preview/scene/side/box-4_ball-2.png").unlink()
    with FolderStore(project.store).lock("pytest holding it"):
        for args in (("render", "--workers", "1"), ("index", "rebuild")):
            result = project.run(*args)
            assert result.returncode == 1, result.stdout
            assert (f"{project.store} is locked by another run: pid {os.getpid()} on "
                    in result.stderr), result.stderr
            assert "(pytest holding it, since" in result.stderr
        assert project.render("--dry-run").returncode == 0  # reading needs no lock
        assert project.run("status").returncode == 0
        assert not (project.store / "preview/scene/side/box-4_ball-2.png").exists()
    result = project.render("--json")
    assert result.returncode == 0, result.stderr
    assert [e["address"] for e in by_event(events(result), "rendered")] == [
        "preview/scene/side/box-4_ball-2.png"]


# --- failures -----------------------------------------------------------------------------

def test_a_broken_model_is_refused_once_and_the_others_render(blender_scenes: Path,
                                                               tmp_path: Path) -> None:
    project = make_project(tmp_path, blender_scenes, extra=BROKEN)
    result = project.render()
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "rendered 14, failed 0 in" in result.stdout
    line = yaml.safe_dump(BROKEN, sort_keys=False).splitlines().index("    - Lamp") + 1
    assert result.stderr.splitlines()[-1] == (
        f"error: model 'broken' not rendered (1 picture(s)): cat/z-extra.yaml:{line}: "
        "models[0].meshes[1].objects[0]: object 'Lamp' not found in scene.blend "
        "(objects: Ball, Box, Floor, Sun, main, side)")
    assert output.count("Lamp") == 1 and "Traceback" not in output
    assert set(project.records()) == ALL
    assert project.pictures() == ALL
    # the failed picture stays missing; the rest is ready
    plan = events(project.render("--dry-run", "--json"))[0]
    assert (plan["ready"], plan["render"], plan["by_product"]) == (14, 1, {"lamp missing": 1})
    assert not project.workers()


def test_a_refused_model_leaves_the_batches_of_the_others_whole(blender_scenes: Path,
                                                               tmp_path: Path) -> None:
    data = catalog_data()
    # Ball may take every finish: 15 colourings x 2 views = 30 preview pictures of `scene`,
    # more than one batch of 25 for a single worker; the broken model's default picture
    # comes between the two batches.
    data["products"][0]["kinds"][0]["parts"][1]["covered"] = ["leaf", "paint", "print"]
    del data["orders"]
    project = make_project(tmp_path, blender_scenes, data, extra=BROKEN)
    result = project.render("--json")
    out = events(result)
    assert [(e["model"], e["pictures"]) for e in by_event(out, "refused")] == [("broken", 1)]
    assert out.index(by_event(out, "refused")[0]) < out.index(by_event(out, "rendered")[0])
    assert not by_event(out, "failed")
    assert len(by_event(out, "rendered")) == 30
    assert by_event(out, "summary")[0]["refused"] == 1 and result.returncode == 1


def test_timeout_kills_the_render_retries_it_once_then_fails(blender_scenes: Path,
                                                              tmp_path: Path) -> None:
    data = catalog_data()
    # Adaptive sampling stops early on a tiny scene: a large picture takes long whatever happens.
    data["qualities"][0].update(samples=100000, resolution=[1920, 1080])
    data["products"] = data["products"][1:]  # solo: one default picture (one view)
    data["models"][0]["views"] = ["main"]
    del data["orders"]
    project = make_project(tmp_path, blender_scenes, data)
    address = "preview/scene/main/box-4_ball-0.png"
    start = time.monotonic()
    result = project.render("--json", "--timeout", "3")
    took = time.monotonic() - start
    assert result.returncode == 1, result.stderr
    out = events(result)
    assert by_event(out, "worker") == [
        {"event": "worker", "state": "killed", "error": "no answer within 3 s",
         "address": address}] * 2
    assert [(e["address"], e["error"]) for e in by_event(out, "failed")] == [
        (address, "no answer within 3 s")]
    assert by_event(out, "summary")[0]["failed"] == 1
    assert took < 60
    assert not project.pictures() and not project.temp_files() and not project.records()
    assert not wait_gone(project, 10)


# --- interruptions ------------------------------------------------------------------------

def test_kill_9_of_a_worker_mid_batch(blender_scenes: Path, tmp_path: Path) -> None:
    project = make_project(tmp_path, blender_scenes, catalog_data(samples=30))
    run = project.start("render", "--json", "--workers", "1", "--device", "cpu")
    try:
        run.wait_for("rendered", 3)
        workers = project.workers()
        assert len(workers) == 1, workers
        os.kill(next(iter(workers)), signal.SIGKILL)
        code = run.finish()
    finally:
        run.kill()
    assert code == 0, run.stderr
    killed = by_event(run.events, "worker")
    assert len(killed) == 1 and killed[0]["state"] == "killed", killed
    assert killed[0]["address"] in run.rendered()  # retried, and done
    assert run.rendered() == ALL and not by_event(run.events, "failed")
    assert set(project.records()) == ALL and project.pictures() == ALL
    assert not project.temp_files()
    for address, rec in project.records().items():
        assert rec["sha256"] == sha256(project.store / address)
    assert project.render().stdout == "wanted 14: 14 ready; render nothing\n"
    assert not wait_gone(project, 10)


def test_kill_9_of_the_run_then_a_rerun(blender_scenes: Path, tmp_path: Path) -> None:
    project = make_project(tmp_path, blender_scenes, catalog_data(samples=30))
    run = project.start("render", "--json", "--workers", "1", "--device", "cpu")
    try:
        run.wait_for("rendered", 4)
        run.proc.kill()  # sitegen dies; its orphaned worker must go away by itself
        run.finish()
    finally:
        run.kill()
    assert not wait_gone(project, 30)
    records = project.records()
    reported = run.rendered()
    assert reported <= set(records) and 4 <= len(records) < 14
    for address, rec in records.items():  # nothing partial
        assert rec["sha256"] == sha256(project.store / address)
        with Image.open(project.store / address) as im:
            im.load()
    plan = events(project.render("--dry-run", "--json"))[0]
    assert (plan["ready"], plan["render"]) == (len(records), 14 - len(records))

    result = project.render("--json")  # the lock died with the killed run
    assert result.returncode == 0, result.stderr
    assert {e["address"] for e in by_event(events(result), "rendered")} == ALL - set(records)
    after = project.records()
    assert set(after) == ALL and project.pictures() == ALL
    for address in records:  # nothing lost, nothing redone
        assert dict(after[address]) == dict(records[address])
    assert not project.temp_files()


def test_sigterm_stops_promptly_and_keeps_what_finished(blender_scenes: Path,
                                                         tmp_path: Path) -> None:
    project = make_project(tmp_path, blender_scenes, catalog_data(samples=400))
    run = project.start("render", "--json", "--workers", "2", "--threads", "1",
                        "--device", "cpu")
    try:
        run.wait_for("rendered", 2)
        workers = project.workers()
        assert len(workers) == 2, workers
        # a second run on the same store is refused, naming the first
        second = project.render()
        assert second.returncode == 1
        assert f"is locked by another run: pid {run.proc.pid} " in second.stderr
        start = time.monotonic()
        run.proc.send_signal(signal.SIGTERM)
        code = run.finish(timeout=30)
        took = time.monotonic() - start
    finally:
        run.kill()
    assert code == 130, run.stderr
    assert took < 5, took
    assert "interrupted: finished pictures are stored and indexed" in run.stderr
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    assert not project.processes()  # no Blender process left
    assert not project.temp_files()
    records = project.records()
    assert run.rendered() <= set(records) and len(records) < 14
    for address, rec in records.items():
        assert rec["sha256"] == sha256(project.store / address)
    assert project.pictures() == set(records)
    status = rows(project.status())
    assert all(r[2] + r[3] == r[1] and r[4] == 0 for r in status.values())
    # pair's rows cover all 14 pictures (solo's default is one of pair's)
    assert sum(r[2] for k, r in status.items() if k[0] == "pair") == len(records)
    plan = events(project.render("--dry-run", "--json"))[0]
    assert (plan["ready"], plan["render"]) == (len(records), 14 - len(records))


# --- hostile files ------------------------------------------------------------------------

def test_a_hostile_blend_runs_none_of_its_code(blender_scenes: Path, tmp_path: Path) -> None:
    markers = [blender_scenes / m for m in MARKERS]
    for m in markers:
        m.unlink(missing_ok=True)
    trusting_open(blender_scenes / HOSTILE)  # positive control: the file is hostile
    assert all(m.exists() for m in markers)
    for m in markers:
        m.unlink()
    project = make_project(tmp_path, blender_scenes, blend=HOSTILE)
    result = project.render("--json")
    assert result.returncode == 0, result.stderr
    assert project.pictures() == ALL
    assert not [m for m in markers if m.exists()]



# --- a layered quality --------------------------------------------------------------------

def layered_data() -> dict[str, Any]:
    """The test catalog with a layered primary quality, and `flat`: the same settings in
    full pictures, wanted by an order for Box 1 (to compare a stack with the real thing)."""
    data = catalog_data(samples=4)
    data["qualities"][0]["primary"] = False
    settings = {"engine": "cycles", "samples": 4, "resolution": [64, 48], "format": "png",
                "denoise": "off"}
    data["qualities"] += [{"id": "layered", **settings, "primary": True, "layers": True,
                           "sizes": [32, 20]},
                          {"id": "flat", **settings}]
    data["orders"].append({"id": "full-check", "product": "pair", "quality": "flat",
                           "views": ["main"], "select": {"Box": {"finishes": [1]}}})
    return data


# Per view: presence `11` (box and ball) and `10` (box alone; also solo's default).
LAYER_NAMES = ["layer-11-base", "layer-11-box-1", "layer-11-box-3", "layer-11-box-4",
               "layer-11-ball-2", "layer-10-base", "layer-10-box-1", "layer-10-box-3",
               "layer-10-box-4"]
LAYERS = {f"layered/scene/{v}/{n}.png" for v in ("main", "side") for n in LAYER_NAMES}


def test_a_layered_quality_renders_layers_and_makes_every_colouring_ready(
        blender_scenes: Path, tmp_path: Path) -> None:
    import numpy as np

    project = make_project(tmp_path, blender_scenes, layered_data())
    dry = project.render("--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    out = events(dry)
    assert (out[0]["wanted"], out[0]["render"]) == (len(LAYERS) + 4, len(LAYERS) + 4)
    readiness = {(e["product"], e["view"]): (e["colourings_ready"],
                                             e["colourings_ready_after"], e["allowed"])
                 for e in by_event(out, "layers")}
    assert readiness[("pair", "main")] == (0, 6, 6)
    assert readiness[("solo", "main")] == (0, 2, 2)  # its default's layers make both ready

    result = project.render("--json")
    assert result.returncode == 0, result.stderr
    assert project.pictures() >= LAYERS
    store = project.store
    # Each layer, and beside it its copies at the quality's sizes (CATALOG_FORMAT.md 1.1:
    # `.w<W>` before the extension, the height in proportion), which are not indexed.
    sized = {a.replace(".png", f".w{w}.png") for a in LAYERS for w in (32, 20)}
    assert {p.relative_to(store).as_posix()
            for p in (store / "layered").rglob("*.png")} == LAYERS | sized
    assert set(project.records()) & sized == set()
    main = store / "layered" / "scene" / "main"
    with Image.open(main / "layer-11-base.png") as backdrop, \
            Image.open(main / "layer-11-ball-2.png") as ball:
        assert (backdrop.mode, ball.mode) == ("RGB", "RGBA")
        assert 0 < np.asarray(ball)[..., 3].mean() < 255  # a part on transparent pixels
    for name, mode in (("layer-11-base", "RGB"), ("layer-11-ball-2", "RGBA")):
        for width, height in ((32, 24), (20, 15)):
            with Image.open(main / f"{name}.w{width}.png") as im:
                assert (im.format, im.size, im.mode) == ("PNG", (width, height), mode)

    # The stack of box 1 + ball 2 (as the browser composites it) against the full render
    # at the same settings.
    from sitegen.verify import composite, decode, psnr

    full = decode((store / "flat/scene/main/box-1_ball-2.png").read_bytes(), "RGB")
    stacked = composite(decode((main / "layer-11-base.png").read_bytes(), "RGB"), [
        decode((main / name).read_bytes(), "RGBA")
        for name in ("layer-11-box-1.png", "layer-11-ball-2.png")])
    assert psnr(stacked, full) > 28  # tiny, 4 samples: silhouette pixels weigh a lot

    status = {(r["product"], r["quality"], r["view"]): r for r in project.status()
              if "totals" not in r}
    pair = status[("pair", "layered", "main")]
    assert (pair["unit"], pair["wanted"], pair["ready"], pair["colourings_ready"]) == (
        "layers", 9, 9, 6)
    again = project.render()
    assert again.stdout.startswith(f"wanted {len(LAYERS) + 4}: {len(LAYERS) + 4} ready; "
                                   "render nothing"), again.stdout

    # One layer gone: only the colourings stacked from it are no longer ready.
    (main / "layer-11-ball-2.png").unlink()
    status = {(r["product"], r["quality"], r["view"]): r for r in project.status()
              if "totals" not in r}
    assert status[("pair", "layered", "main")]["colourings_ready"] == 3  # ball removed only
    assert status[("pair", "layered", "side")]["colourings_ready"] == 6


# --- one colouring (`render --colouring`) -------------------------------------------------

def colouring_event(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    [event] = by_event(events(result), "colouring")
    return event


def test_render_one_colouring_then_nothing(blender_scenes: Path, tmp_path: Path) -> None:
    project = make_project(tmp_path, blender_scenes)
    result = project.render("--product", "pair", "--colouring", "Box:3-Ball:0", "--json")
    assert result.returncode == 0, result.stderr
    out = events(result)
    assert (out[0]["wanted"], out[0]["ready"], out[0]["render"]) == (2, 0, 2)
    picture = ["preview/scene/main/box-3_ball-0.png", "preview/scene/side/box-3_ball-0.png"]
    # Exactly the one picture per view: in the store, in the index, with its thumbnail.
    assert {e["address"] for e in by_event(out, "rendered")} == set(picture)
    assert project.pictures() == set(picture) and set(project.records()) == set(picture)
    assert all((project.store / a.replace(".png", ".thumb.webp")).is_file() for a in picture)
    assert colouring_event(result) == {
        "event": "colouring", "product": "pair", "kind": "both",
        "configuration": "Box:3-Ball:0", "addresses": picture,
        "states": dict.fromkeys(picture, "rendered")}

    before = {a: (r["rendered_at"], r["sha256"]) for a, r in project.records().items()}
    again = project.render("--product", "pair", "--colouring", "Box:3-Ball:0")
    assert again.returncode == 0, again.stderr
    assert again.stdout == ("wanted 2: 2 ready; render nothing\n"
                            "pair both Box:3-Ball:0:\n"
                            "  preview/scene/main/box-3_ball-0.png  ready\n"
                            "  preview/scene/side/box-3_ball-0.png  ready\n")
    assert {a: (r["rendered_at"], r["sha256"]) for a, r in project.records().items()} == before
    assert not project.workers()

    # A part left out takes its kind's default (Ball 2); --view narrows to one view.
    side = project.render("--product", "pair", "--colouring", "Box:4", "--view", "side")
    assert side.returncode == 0, side.stderr
    assert side.stdout.startswith("wanted 1: 0 ready; render 1 (missing)\n")
    assert side.stdout.endswith("pair both Box:4-Ball:2:\n"
                                "  preview/scene/side/box-4_ball-2.png  rendered\n")
    assert project.pictures() == {*picture, "preview/scene/side/box-4_ball-2.png"}

    # Stale pictures are kept unless --stale, as for a plain render.
    Image.new("RGB", (64, 64), (230, 20, 230)).save(project.cat / "textures" / "checker.png")
    kept = project.render("--product", "pair", "--colouring", "Box:3-Ball:0")
    assert kept.returncode == 0, kept.stderr
    assert kept.stdout == ("wanted 2: 0 ready; render nothing\n"
                           "2 stale picture(s) kept: re-render them with --stale\n"
                           "pair both Box:3-Ball:0:\n"
                           "  preview/scene/main/box-3_ball-0.png  stale, kept (--stale "
                           "re-renders it)\n"
                           "  preview/scene/side/box-3_ball-0.png  stale, kept (--stale "
                           "re-renders it)\n")
    fresh = project.render("--product", "pair", "--colouring", "Box:3-Ball:0", "--stale",
                           "--json")
    assert fresh.returncode == 0, fresh.stderr
    assert {e["address"] for e in by_event(events(fresh), "rendered")} == set(picture)
    assert colouring_event(fresh)["states"] == dict.fromkeys(picture, "rendered")

    # What cannot be read is said in one line, before any worker starts.
    bad = project.render("--product", "pair", "--colouring", "Box:2")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr == ("error: finish 2 (Green) is not offered for Box of pair: Box "
                          "takes 1 (Red), 3 (Checker), 4 (Checker two)\n")
    usage = project.render("--colouring", "Box:1")
    assert usage.returncode == 2 and "exactly one --product" in usage.stderr


def test_render_one_colouring_at_a_layered_quality_renders_its_missing_layers(
        blender_scenes: Path, tmp_path: Path) -> None:
    project = make_project(tmp_path, blender_scenes, layered_data())

    def layers(*names: str) -> set[str]:
        return {f"layered/scene/{v}/{n}.png" for v in ("main", "side") for n in names}

    first = project.render("--product", "pair", "--colouring", "Box:1-Ball:2", "--json")
    assert first.returncode == 0, first.stderr
    stack = layers("layer-11-base", "layer-11-box-1", "layer-11-ball-2")
    assert {e["address"] for e in by_event(events(first), "rendered")} == stack
    assert set(project.records()) == stack
    assert set(colouring_event(first)["states"].values()) == {"rendered"}

    # Another Box on the same presence: only its own layer is missing.
    second = project.render("--product", "pair", "--colouring", "Box:3-Ball:2", "--json")
    assert second.returncode == 0, second.stderr
    out = events(second)
    assert (out[0]["wanted"], out[0]["ready"], out[0]["render"]) == (6, 4, 2)
    assert {e["address"] for e in by_event(out, "rendered")} == layers("layer-11-box-3")
    assert set(project.records()) == stack | layers("layer-11-box-3")
    states = colouring_event(second)["states"]
    assert {a for a, s in states.items() if s == "rendered"} == layers("layer-11-box-3")
    assert {a for a, s in states.items() if s == "ready"} == layers("layer-11-base",
                                                                    "layer-11-ball-2")
    again = project.render("--product", "pair", "--colouring", "Box:3-Ball:2", "--json")
    assert events(again)[0]["render"] == 0 and not by_event(events(again), "rendered")
