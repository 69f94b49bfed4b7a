"""blender/worker.py on its own: the JSON-lines protocol, real Cycles renders of tiny scenes.

Each worker is a subprocess (`python blender/worker.py`): the pytest process never imports
bpy. Scenes come from tests/blender_scenes.py (built once per session).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
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
from conftest import ROOT
from PIL import Image

pytestmark = pytest.mark.blender

WORKER = ROOT / "blender" / "worker.py"
SIZE = (64, 48)


class Worker:
    """A worker subprocess spoken to in JSON lines; stderr (Blender's noise) goes to a log."""

    def __init__(self, log: Path, *args: str) -> None:
        self.log_path = log
        with open(log, "ab") as err:
            self.proc = subprocess.Popen([sys.executable, str(WORKER), *args],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=err, cwd=log.parent)
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        self.raw: list[bytes] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.ready = self.recv(timeout=120)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.raw.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def send(self, msg: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(msg) + "\n").encode())
        self.proc.stdin.flush()

    def recv(self, timeout: float = 120) -> dict[str, Any]:
        line = self.lines.get(timeout=timeout)
        if line is None:
            raise EOFError(f"the worker closed stdout (status {self.proc.poll()}): "
                           f"{self.log_path.read_text(errors='replace')[-2000:]}")
        return json.loads(line)  # type: ignore[no-any-return]

    def call(self, msg: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
        self.send(msg)
        return self.recv(timeout)

    def close(self) -> int:
        if self.proc.poll() is None:
            with contextlib.suppress(BrokenPipeError):
                self.send({"op": "quit"})
        try:
            return self.proc.wait(60)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def materials(scenes: Path) -> dict[str, dict[str, Any]]:
    return {
        "1": {"color": "#ff0000", "diffuse": None, "normal": None, "roughness": None},
        "2": {"color": "#ffffff", "diffuse": str(scenes / "checker.png"),
              "normal": str(scenes / "normal.png"), "roughness": str(scenes / "rough.png")},
        "3": {"color": "#00c000", "diffuse": None, "normal": None, "roughness": None},
    }


def open_msg(scenes: Path, blend: str = SCENE, **quality: Any) -> dict[str, Any]:
    q = {"engine": "cycles", "samples": 4, "resolution": list(SIZE), "format": "png",
         "jpeg_quality": 90, "transparent": False, "denoise": "off"}
    q.update(quality)
    return {"op": "open", "blend": str(scenes / blend),
            "meshes": {"box": ["Box"], "ball": ["Ball"]}, "materials": materials(scenes),
            "quality": q, "threads": 2, "device": "cpu"}


def render_msg(out: Path, values: dict[str, int], view: str = "main",
               job: str = "job") -> dict[str, Any]:
    return {"op": "render", "id": job, "view": view, "values": values, "out": str(out)}


def px(path: str | Path, point: tuple[float, float, float], view: str = "main"
       ) -> tuple[int, ...]:
    with Image.open(path) as im:
        return im.convert("RGBA").getpixel(pixel(point, view, im.size))  # type: ignore[no-any-return]


def temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*") if ".tmp-" in p.name]


@pytest.fixture(scope="module")
def worker(blender_scenes: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    """One worker for the protocol tests (each test sends its own `open`)."""
    w = Worker(tmp_path_factory.mktemp("worker") / "worker.log")
    yield w
    w.kill()


def test_ready_ping_and_stdout_carries_only_json(worker: Worker) -> None:
    assert worker.ready["event"] == "ready"
    assert worker.ready["pid"] == worker.proc.pid
    assert worker.ready["blender"].startswith("5.")
    assert worker.call({"op": "ping"}) == {"event": "pong"}
    assert worker.call({"op": "frobnicate"})["event"] == "error"
    worker.proc.stdin.write(b"{not json\n")  # type: ignore[union-attr]
    worker.proc.stdin.flush()  # type: ignore[union-attr]
    bad = worker.recv()
    assert bad["event"] == "error" and "bad JSON" in bad["error"]
    assert worker.call({"op": "ping"}) == {"event": "pong"}
    assert all(line.startswith(b"{") for line in worker.raw)


def test_open_errors_name_what_is_missing(worker: Worker, blender_scenes: Path,
                                         tmp_path: Path) -> None:
    bad = open_msg(blender_scenes)
    bad["meshes"] = {"box": ["Box"], "legs": ["Legs", "Rails"]}
    answer = worker.call(bad)
    assert answer["event"] == "error"
    assert "Legs" in answer["error"] and "Rails" in answer["error"]
    # a failed open leaves no model open
    answer = worker.call(render_msg(tmp_path / "x.png", {"box": 1}, job="x"))
    assert answer["event"] == "error" and answer["id"] == "x"
    assert not (tmp_path / "x.png").exists()
    bad = open_msg(blender_scenes)
    bad["materials"]["9"] = {"color": "#123456", "diffuse": str(tmp_path / "missing.png")}
    answer = worker.call(bad)
    assert answer["event"] == "error" and str(tmp_path / "missing.png") in answer["error"]
    answer = worker.call(open_msg(blender_scenes, blend="nope.blend"))
    assert answer["event"] == "error" and "nope.blend" in answer["error"]


def test_an_image_blender_cannot_read_is_refused_not_rendered_magenta(
        worker: Worker, blender_scenes: Path, tmp_path: Path) -> None:
    text = tmp_path / "237.png"
    text.write_text("this is not a picture\n")
    cut = tmp_path / "cut.png"
    cut.write_bytes((blender_scenes / "checker.png").read_bytes()[:100])
    for bad, slot in ((text, "diffuse"), (cut, "diffuse"), (text, "normal"), (text, "roughness")):
        msg = open_msg(blender_scenes)
        msg["materials"]["9"] = {"color": "#123456", slot: str(bad)}
        answer = worker.call(msg)
        assert answer["event"] == "error", answer
        assert f"cannot load {slot} map {bad}: Blender cannot read it as an image" in (
            answer["error"])
        # nothing is open: no magenta picture can be rendered from it
        out = tmp_path / "magenta.png"
        assert worker.call(render_msg(out, {"box": 9, "ball": 0}))["event"] == "error"
        assert not out.exists()
    assert worker.call(open_msg(blender_scenes))["event"] == "opened"


def test_check_says_what_a_model_file_lacks(worker: Worker, blender_scenes: Path,
                                           tmp_path: Path) -> None:
    answer = worker.call({"op": "check", "blend": str(blender_scenes / SCENE),
                          "objects": ["Box", "Lamp"], "views": ["main", "top", "Box"]})
    assert answer["event"] == "checked" and answer["error"] is None, answer
    assert answer["blender"] == worker.ready["blender"]
    assert answer["missing_objects"] == {"Lamp": "missing"}
    assert answer["missing_views"] == {"top": "missing", "Box": "MESH"}
    assert answer["cameras"] == ["main", "side"] and answer["camera_count"] == 2
    assert {"Box", "Ball", "Floor", "Sun"} <= set(answer["objects"])
    data = (blender_scenes / SCENE).read_bytes()
    for name, content in (("cut.blend", data[: len(data) // 2]), ("junk.blend", b"junk" * 9),
                          ("empty.blend", b"")):
        bad = tmp_path / name
        bad.write_bytes(content)
        answer = worker.call({"op": "check", "blend": str(bad), "objects": ["Box"],
                              "views": ["main"]})
        assert answer["event"] == "checked" and answer["error"], answer
        assert name in answer["error"] and str(tmp_path) not in answer["error"]
    # a check replaces the open model
    assert worker.call(open_msg(blender_scenes))["event"] == "opened"
    worker.call({"op": "check", "blend": str(blender_scenes / SCENE)})
    answer = worker.call(render_msg(tmp_path / "x.png", {"box": 1, "ball": 0}))
    assert answer["event"] == "error" and "no model open" in answer["error"]


def test_finish_colour_hidden_mesh_and_textures(worker: Worker, blender_scenes: Path,
                                                tmp_path: Path) -> None:
    opened = worker.call(open_msg(blender_scenes))
    assert opened["event"] == "opened", opened
    assert opened["views"] == ["main", "side"] and opened["device"] == "CPU"

    # box red, ball hidden: the ball's pixel shows the grey floor
    out = tmp_path / "a" / "red-box.png"  # the folder is created
    answer = worker.call(render_msg(out, {"box": 1, "ball": 0}))
    assert answer["event"] == "rendered", answer
    assert answer["out"] == str(out) and out.is_file()
    assert reddish(px(out, BOX)), px(out, BOX)
    assert greyish(px(out, BALL)), px(out, BALL)
    assert abs(px(out, BALL)[0] - px(out, FLOOR)[0]) < 25
    with Image.open(out) as im:
        assert (im.format, im.size, im.mode) == ("PNG", SIZE, "RGB")
    data = out.read_bytes()
    assert answer["bytes"] == len(data)
    assert answer["sha256"] == hashlib.sha256(data).hexdigest()
    assert {"sync", "render", "write"} <= set(answer["timings"])
    assert abs(sum(answer["timings"][k] for k in ("sync", "render", "write"))
               - answer["seconds"]) < 0.05

    # box textured (blue/yellow checker, never red), ball green
    out = tmp_path / "b.png"
    answer = worker.call(render_msg(out, {"box": 2, "ball": 3}))
    assert answer["event"] == "rendered", answer
    assert checker_coloured(px(out, BOX)), px(out, BOX)
    assert greenish(px(out, BALL)), px(out, BALL)

    # the other camera: box hidden, ball red
    out = tmp_path / "c" / "d" / "side.png"
    answer = worker.call(render_msg(out, {"box": 0, "ball": 1}, view="side"))
    assert answer["event"] == "rendered", answer
    assert reddish(px(out, BALL, "side")), px(out, BALL, "side")
    assert not temp_files(tmp_path)


def test_identical_jobs_give_identical_bytes(worker: Worker, blender_scenes: Path,
                                            tmp_path: Path) -> None:
    for fmt, ext in (("png", "png"), ("jpeg", "jpg")):
        assert worker.call(open_msg(blender_scenes, format=fmt))["event"] == "opened"
        first = worker.call(render_msg(tmp_path / f"one.{ext}", {"box": 1, "ball": 3}))
        second = worker.call(render_msg(tmp_path / f"two.{ext}", {"box": 1, "ball": 3}))
        assert first["event"] == second["event"] == "rendered"
        assert first["sha256"] == second["sha256"], fmt  # no render times in the metadata
    with Image.open(tmp_path / "one.jpg") as im:
        assert im.format == "JPEG" and im.mode == "RGB" and im.size == SIZE
        assert not [a for a in im.applist if a[0] == "COM"]


def test_bad_jobs_are_answered_and_the_worker_goes_on(worker: Worker, blender_scenes: Path,
                                                      tmp_path: Path) -> None:
    assert worker.call(open_msg(blender_scenes))["event"] == "opened"
    cases = [
        (render_msg(tmp_path / "v.png", {"box": 1, "ball": 0}, view="nope"), "nope"),
        (render_msg(tmp_path / "f.png", {"box": 7, "ball": 0}), "7"),
        (render_msg(tmp_path / "m.png", {"box": 1}), "ball"),
        (render_msg(tmp_path / "e.jpg", {"box": 1, "ball": 0}), "extension"),
        ({**render_msg(tmp_path / "r.png", {"box": 1, "ball": 0}), "out": "rel.png"},
         "absolute"),
    ]
    for n, (msg, needle) in enumerate(cases):
        msg["id"] = f"bad{n}"
        answer = worker.call(msg)
        assert answer["event"] == "error" and answer["id"] == f"bad{n}", answer
        assert needle in answer["error"], answer
    assert list(tmp_path.iterdir()) == []
    assert worker.call(render_msg(tmp_path / "ok.png", {"box": 1, "ball": 0}))["event"] == (
        "rendered")


def test_webp_transparent_and_jpeg_quality(worker: Worker, blender_scenes: Path,
                                           tmp_path: Path) -> None:
    assert worker.call(open_msg(blender_scenes, format="webp", transparent=True,
                                jpeg_quality=80, resolution=[48, 36]))["event"] == "opened"
    answer = worker.call(render_msg(tmp_path / "k.webp", {"box": 1, "ball": 3}))
    assert answer["event"] == "rendered", answer
    with Image.open(tmp_path / "k.webp") as im:
        assert (im.format, im.mode, im.size) == ("WEBP", "RGBA", (48, 36))
        assert im.getpixel((0, 0))[3] < 10  # the sky is transparent
        assert reddish(im.getpixel(pixel(BOX, "main", im.size)))
    assert worker.call(open_msg(blender_scenes, format="jpeg", jpeg_quality=70,
                                transparent=True))["event"] == "opened"
    answer = worker.call(render_msg(tmp_path / "k.jpg", {"box": 1, "ball": 0}))
    with Image.open(tmp_path / "k.jpg") as im:
        assert (im.format, im.mode) == ("JPEG", "RGB")  # JPEG is always RGB


def test_lossy_webp_is_libwebp_method_6_of_the_8_bit_render(
        worker: Worker, blender_scenes: Path, tmp_path: Path) -> None:
    """Lossy WebP is written as the host writes sizes (Pillow, method 6, alpha lossless),
    from the same 8-bit pixels a PNG of the render holds; nothing else is left behind."""
    colouring = {"box": 1, "ball": 3}
    for fmt in ("png", "webp"):
        assert worker.call(open_msg(blender_scenes, format=fmt, transparent=True,
                                    jpeg_quality=80, resolution=[48, 36]))["event"] == "opened"
        answer = worker.call(render_msg(tmp_path / f"k.{fmt}", colouring))
        assert answer["event"] == "rendered", answer
    with Image.open(tmp_path / "k.png") as png:
        png.save(tmp_path / "expected.webp", "WEBP", quality=80, method=6, alpha_quality=100)
    assert (tmp_path / "k.webp").read_bytes() == (tmp_path / "expected.webp").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["expected.webp", "k.png", "k.webp"]


def test_avif_is_pillows_encoding_of_the_8_bit_render(
        worker: Worker, blender_scenes: Path, tmp_path: Path) -> None:
    """Blender does not write AVIF: the worker renders the 8-bit PNG it would write and
    Pillow encodes it as the host encodes sizes; nothing else is left behind. A transparent
    AVIF quality is refused (browsers decode AVIF's alpha differently from Pillow)."""
    colouring = {"box": 1, "ball": 3}
    refused = worker.call(open_msg(blender_scenes, format="avif", transparent=True))
    assert refused["event"] == "error" and "AVIF is for opaque pictures" in refused["error"]
    for fmt in ("png", "avif"):
        assert worker.call(open_msg(blender_scenes, format=fmt, jpeg_quality=60,
                                    resolution=[48, 36]))["event"] == "opened"
        answer = worker.call(render_msg(tmp_path / f"k.{fmt}", colouring))
        assert answer["event"] == "rendered", answer
    with Image.open(tmp_path / "k.png") as png:
        png.save(tmp_path / "expected.avif", "AVIF", quality=60)
    assert (tmp_path / "k.avif").read_bytes() == (tmp_path / "expected.avif").read_bytes()
    with Image.open(tmp_path / "k.avif") as im:
        assert (im.format, im.mode, im.size) == ("AVIF", "RGB", (48, 36))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["expected.avif", "k.avif", "k.png"]


def test_hostile_blend_runs_none_of_its_code(blender_scenes: Path, tmp_path: Path) -> None:
    markers = [blender_scenes / m for m in MARKERS]
    # Positive control: a Blender that trusts the file runs both pieces of code.
    for m in markers:
        m.unlink(missing_ok=True)
    trusting_open(blender_scenes / HOSTILE)
    assert all(m.exists() for m in markers), "the hostile test file is not hostile"
    for m in markers:
        m.unlink()

    w = Worker(tmp_path / "worker.log")
    try:
        opened = w.call(open_msg(blender_scenes, blend=HOSTILE))
        assert opened["event"] == "opened", opened
        for view in ("main", "side"):
            answer = w.call(render_msg(tmp_path / f"{view}.png", {"box": 1, "ball": 3},
                                       view=view))
            assert answer["event"] == "rendered", answer
        assert w.close() == 0
    finally:
        w.kill()
    assert not [m for m in markers if m.exists()]


# The "long" renders below: the tiny scene converges under adaptive sampling, so 100000
# samples at 160x120 finish in about 1.9 s on an idle machine (then the signal came after
# the file was written); at 480x360 they take well over the tests' 1.5 to 2 s.
def test_sigterm_idle_and_mid_render(blender_scenes: Path, tmp_path: Path) -> None:
    w = Worker(tmp_path / "idle.log")
    start = time.perf_counter()
    w.proc.send_signal(signal.SIGTERM)
    assert w.proc.wait(30) == 143
    assert time.perf_counter() - start < 5

    w = Worker(tmp_path / "busy.log")
    try:
        assert w.call(open_msg(blender_scenes, samples=100000, resolution=[480, 360]))[
            "event"] == "opened"
        w.send(render_msg(tmp_path / "out" / "long.png", {"box": 1, "ball": 3}))
        time.sleep(2.0)
        assert w.proc.poll() is None
        start = time.perf_counter()
        w.proc.send_signal(signal.SIGTERM)
        assert w.proc.wait(30) == 143
        assert time.perf_counter() - start < 3  # prompt, although Cycles is mid-render
    finally:
        w.kill()
    assert not (tmp_path / "out" / "long.png").exists()
    assert not temp_files(tmp_path)


def test_kill_9_mid_render_leaves_no_picture(blender_scenes: Path, tmp_path: Path) -> None:
    w = Worker(tmp_path / "w.log")
    try:
        assert w.call(open_msg(blender_scenes, samples=100000, resolution=[480, 360]))[
            "event"] == "opened"
        w.send(render_msg(tmp_path / "long.png", {"box": 1, "ball": 3}))
        time.sleep(1.5)
        os.kill(w.proc.pid, signal.SIGKILL)
        assert w.proc.wait(30) == -signal.SIGKILL
    finally:
        w.kill()
    assert not (tmp_path / "long.png").exists()  # never a partial file under the final name


def test_eof_quits_and_arguments_after_double_dash(blender_scenes: Path,
                                                   tmp_path: Path) -> None:
    w = Worker(tmp_path / "w.log", "--", "--threads", "1", "--device", "cpu")
    try:
        msg = open_msg(blender_scenes)
        del msg["threads"], msg["device"]
        opened = w.call(msg)
        assert opened["event"] == "opened" and opened["device"] == "CPU"
        assert w.call(render_msg(tmp_path / "k.png", {"box": 1, "ball": 0}))["event"] == (
            "rendered")
        w.proc.stdin.close()  # type: ignore[union-attr]
        assert w.proc.wait(60) == 0
    finally:
        w.kill()


# --- progress lines ------------------------------------------------------------------
def render_with_progress(w: Worker, msg: dict[str, Any], timeout: float = 120
                         ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Send a render with `"progress": true`; its progress events and then its answer."""
    w.send({**msg, "progress": True})
    events = []
    while True:
        line = w.recv(timeout)
        if line["event"] != "progress":
            return events, line
        events.append(line)


def check_progress(events: list[dict[str, Any]], job: str) -> list[float]:
    """At least one event, each `{"event": "progress", "id": job, "fraction": f}`, the
    fractions in 0..1 and growing; returns them."""
    assert events, "no progress event"
    fractions = [e["fraction"] for e in events]
    assert all(e == {"event": "progress", "id": job, "fraction": f}
               for e, f in zip(events, fractions, strict=True)), events
    assert all(isinstance(f, (int, float)) and 0 <= f <= 1 for f in fractions), fractions
    assert all(a < b for a, b in zip(fractions, fractions[1:], strict=False)), fractions
    return fractions


def test_progress_lines_while_a_picture_renders(worker: Worker, blender_scenes: Path,
                                                tmp_path: Path) -> None:
    assert worker.call(open_msg(blender_scenes, samples=64))["event"] == "opened"
    values = {"box": 1, "ball": 3}
    # without the flag: exactly one line, the answer
    lines = len(worker.raw)
    plain = worker.call(render_msg(tmp_path / "plain.png", values, job="plain"))
    assert plain["event"] == "rendered", plain
    assert len(worker.raw) == lines + 1
    start = time.perf_counter()
    events, answer = render_with_progress(
        worker, render_msg(tmp_path / "p.png", values, job="p"))
    seconds = time.perf_counter() - start
    assert answer["event"] == "rendered" and answer["id"] == "p", answer
    fractions = check_progress(events, "p")
    assert len(fractions) <= 1 + seconds / 0.1  # at most one line per 0.1 s
    assert answer["sha256"] == plain["sha256"]  # the same picture
    # `"progress": false` is the same as no flag; a flag that is not a bool is an error
    lines = len(worker.raw)
    off = worker.call({**render_msg(tmp_path / "off.png", values, job="off"),
                       "progress": False})
    assert off["event"] == "rendered" and len(worker.raw) == lines + 1
    bad = worker.call({**render_msg(tmp_path / "bad.png", values, job="bad"), "progress": 1})
    assert bad["event"] == "error" and "'progress'" in bad["error"], bad
    # a job that fails before it renders sends no progress line, only its error
    events, answer = render_with_progress(
        worker, render_msg(tmp_path / "v.png", values, view="nope", job="v"))
    assert events == [] and answer["event"] == "error" and answer["id"] == "v"
    # and the next job without the flag is answered alone
    lines = len(worker.raw)
    assert worker.call(render_msg(tmp_path / "n.png", values, job="n"))["event"] == "rendered"
    assert len(worker.raw) == lines + 1


def test_ask_hands_progress_events_to_on_progress(blender_scenes: Path,
                                                  tmp_path: Path) -> None:
    from sitegen.render.workers import WorkerProcess, worker_command

    w = WorkerProcess(worker_command(None), tmp_path, "progress")
    w.start(120)
    try:
        opened = w.ask(open_msg(blender_scenes, samples=64), 120)  # type: ignore[arg-type]
        assert opened["event"] == "opened", opened
        got: list[dict[str, Any]] = []
        msg = {**render_msg(tmp_path / "a.png", {"box": 1, "ball": 3}, job="a"),
               "progress": True}
        answer = w.ask(msg, 120, on_progress=got.append)  # type: ignore[arg-type]
        assert answer["event"] == "rendered" and answer["id"] == "a", answer
        check_progress(got, "a")
        # None: the events are dropped, the answer is still the answer
        answer = w.ask({**msg, "id": "b"}, 120)  # type: ignore[arg-type]
        assert answer["event"] == "rendered" and answer["id"] == "b", answer
        assert w.ask({"op": "ping"}, 30) == {"event": "pong"}  # nothing left behind
    finally:
        w.stop()
