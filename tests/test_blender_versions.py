"""`--blender PATH` end to end, and the Blender version as an input of every picture.

A Blender executable is stood in for by tests/blender_standin.py (its banner on stdout
before the worker's `ready` line, Blender's argument form); a Python with bpy 4.5 LTS is a
second venv, `.venv-bpy45/` at the repository root (git-ignored), made on first use with
`pip install 'bpy==4.5.*'` (Python 3.11, PyPI) and reused. Without PyPI the 4.5 test fails
and says so; SITEGEN_SKIP_BPY45=1 skips it. The test catalog is test_render.py's.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from blender_scenes import BOX, checker_coloured, pixel
from blender_standin import BPY_VERSION, NOISE, write_standin
from click.testing import CliRunner
from conftest import ROOT
from PIL import Image
from programs import require
from test_render import Project, by_event, events, make_project

from sitegen.cli import cli
from sitegen.plan import fingerprint

pytestmark = pytest.mark.blender

BPY45_VENV = ROOT / ".venv-bpy45"
SOLO = {"preview/scene/main/box-4_ball-0.png", "preview/scene/side/box-4_ball-0.png"}


@pytest.fixture(scope="session")
def bpy45() -> Path:
    """The Python of a venv with bpy 4.5 LTS: `.venv-bpy45/`, made once and then reused.

    SITEGEN_SKIP_BPY45=1 skips the tests that need it; otherwise a venv that cannot be
    made (no Python 3.11, no PyPI) fails them, saying why.
    """
    require("bpy45", True, "")  # SITEGEN_SKIP_BPY45=1: skip
    python = BPY45_VENV / "bin" / "python"
    BPY45_VENV.mkdir(exist_ok=True)
    with open(BPY45_VENV / ".sitegen-lock", "w") as lock:  # two sessions: one installs
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (_bpy_version(python) or "").startswith("4.5."):
            return python
        require("bpy45", sys.version_info[:2] == (3, 11), "bpy 4.5 needs Python 3.11, these "
                f"tests run on {sys.version.split()[0]}")
        steps = [[sys.executable, "-m", "venv", str(BPY45_VENV)],
                 [str(python), "-m", "pip", "install", "--disable-pip-version-check",
                  "bpy==4.5.*"]]
        for step in steps[int(python.exists()):]:
            done = subprocess.run(step, capture_output=True, text=True, timeout=1800,
                                  check=False)
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-5:])
            require("bpy45", done.returncode == 0,
                    f"could not make the bpy 4.5 venv {BPY45_VENV} ({' '.join(step[-3:])} "
                    f"exited with {done.returncode}; it needs PyPI):\n{tail}\n")
        version = _bpy_version(python)
        require("bpy45", (version or "").startswith("4.5."),
                f"{BPY45_VENV} has bpy {version}, not 4.5")
    return python


def _bpy_version(python: Path) -> str | None:
    if not python.exists():
        return None
    probe = subprocess.run([str(python), "-c", "import importlib.metadata as m; "
                            "print(m.version('bpy'))"], capture_output=True, text=True,
                           timeout=60, check=False)
    return probe.stdout.strip() if probe.returncode == 0 else None


@pytest.fixture
def project(blender_scenes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """test_render.py's catalog, with a cache folder of its own (model checks start empty)."""
    monkeypatch.setenv("SITEGEN_CACHE_DIR", str(tmp_path / "cache"))
    return make_project(tmp_path / "project", blender_scenes)


def records(project: Project) -> dict[str, tuple[str, str]]:
    """address -> (the Blender version recorded, the version among its inputs)."""
    return {a: (r["blender"], json.loads(r["inputs"]).get("blender"))
            for a, r in project.records().items()}


def status_rows(project: Project, *args: str) -> dict[tuple[str, str], dict[str, Any]]:
    result = project.run("status", "--json", *args)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    return {(r["product"], r["view"]): r for r in rows if r.get("quality") == "preview"}


def assert_solo_pictures_look_right(project: Project) -> None:
    for address in SOLO:
        with Image.open(project.store / address) as im:
            assert (im.format, im.size) == ("PNG", (64, 48))
            if "/main/" in address:  # the box faces this camera: its checker texture shows
                colour = im.convert("RGB").getpixel(pixel(BOX, "main", im.size))
                assert checker_coloured(colour), (address, colour)


def test_a_blender_executable_renders_through_its_banner(project: Project,
                                                          tmp_path: Path) -> None:
    starts = tmp_path / "starts.log"
    standin = write_standin(tmp_path / "blender", starts=starts, noise=True)
    result = project.render("--product", "solo", "--json", "--blender", str(standin))
    assert result.returncode == 0, result.stderr
    out = events(result)  # stdout carries JSON only: the banner went nowhere
    assert {e["address"] for e in by_event(out, "rendered")} == SOLO
    assert "Traceback" not in result.stderr and NOISE not in result.stdout
    assert records(project) == {a: (BPY_VERSION, BPY_VERSION) for a in SOLO}
    assert_solo_pictures_look_right(project)
    # Blender's argument form, once for the model check and once for the render worker.
    assert starts.read_text().splitlines() == [
        "-b --factory-startup --disable-autoexec --python-exit-code 1 --python "
        f"{ROOT / 'blender' / 'worker.py'} --"] * 2
    # The bpy module is the same Blender version: nothing is stale.
    assert project.render("--dry-run").stdout.startswith("wanted 14: 2 ready; render 12 (")


def test_workers_that_cannot_start_fail_the_run_and_say_why(project: Project,
                                                             tmp_path: Path) -> None:
    broken = write_standin(tmp_path / "broken", fail="version")
    result = project.render("--blender", str(broken))
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"error: Blender workers could not start: {broken}: neither a Blender executable nor "
        f"a Python with bpy: `--version` exited with status 1: Blender {BPY_VERSION} (hash "
        "0123456789ab built 2025-11-18 00:00:00) | Error: cannot load libGL.so.1")
    assert "Traceback" not in result.stderr and "rendered" not in result.stdout

    no_start = write_standin(tmp_path / "no-start", fail="start")  # --version answers
    result = project.render("--blender", str(no_start))
    assert result.returncode == 1
    reason = (f"error: Blender workers could not start: {no_start}: the worker exited "
              "(status 1): Error: cannot load libGL.so.1 (stdout: Blender ")
    assert result.stderr.splitlines()[-1].startswith(reason), result.stderr  # model check
    # With the model check cached (same version), the render workers meet the same end.
    assert project.render("--product", "solo").returncode == 0
    result = project.render("--product", "pair", "--blender", str(no_start))
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith(reason), result.stderr  # render pool
    assert "Traceback" not in result.stderr and "rendered 0" not in result.stdout
    assert set(project.records()) == SOLO and not project.workers()

    no_bpy = Path("/usr/bin/python3")
    if no_bpy.exists() and subprocess.run([str(no_bpy), "-c", "import bpy"],
                                          capture_output=True, check=False).returncode:
        result = project.render("--blender", str(no_bpy))
        assert result.returncode == 1
        assert result.stderr.splitlines()[-1] == (
            f"error: Blender workers could not start: {no_bpy}: a Python without the bpy "
            "module (pip install bpy==5.0.1 into it)")


def test_bpy_45_renders_through_the_same_worker_and_its_pictures_are_its_own(
        project: Project, bpy45: Path) -> None:
    version = _bpy_version(bpy45)
    assert version is not None and version.startswith("4.5.")
    result = project.render("--product", "solo", "--blender", str(bpy45))
    assert result.returncode == 0, result.stderr
    assert "rendered 2, failed 0" in result.stdout
    assert records(project) == {a: (version, version) for a in SOLO}
    assert_solo_pictures_look_right(project)
    # Another Blender made them: for the bpy module (5.0.1) they are stale, kept.
    assert project.render("--dry-run", "--product", "solo").stdout == (
        "wanted 2: 0 ready; render nothing\n"
        "2 stale picture(s) kept: re-render them with --stale\n")
    plan = events(project.render("--dry-run", "--product", "solo", "--stale", "--json"))
    assert {e["reason"] for e in by_event(plan, "job")} == {"stale: blender"}
    rows = status_rows(project)
    assert (rows[("solo", "main")]["stale"], rows[("solo", "main")]["blender"]) == (1, {})
    rows = status_rows(project, "--blender", str(bpy45))
    assert (rows[("solo", "main")]["ready"], rows[("solo", "main")]["blender"]) == (
        1, {version: 1})

    # The bpy module re-renders one of them; each row says which version made what.
    result = project.render("--product", "solo", "--stale", "--view", "main")
    assert result.returncode == 0, result.stderr
    assert records(project) == {"preview/scene/main/box-4_ball-0.png": (BPY_VERSION,) * 2,
                                "preview/scene/side/box-4_ball-0.png": (version, version)}
    rows = status_rows(project)
    assert rows[("solo", "main")]["blender"] == {BPY_VERSION: 1}
    assert (rows[("solo", "side")]["stale"], rows[("solo", "side")]["blender"]) == (1, {})


def test_where_the_version_is_unknown_every_picture_counts_and_status_names_both(
        project: Project, bpy45: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A host without bpy (one that feeds a farm) cannot know the version: it compares
    pictures without it, and a row shows every version that made its ready pictures."""
    version = _bpy_version(bpy45)
    assert project.render("--product", "solo", "--view", "side", "--blender",
                          str(bpy45)).returncode == 0
    assert project.render("--product", "pair", "--view", "main").returncode == 0
    rows = {(r["product"], r["view"]): r for r in _status_without_bpy(project, monkeypatch)}
    assert rows[("pair", "main")]["blender"] == {BPY_VERSION: 6}
    assert rows[("pair", "side")]["blender"] == {version: 1}
    assert project.render("--product", "pair", "--view", "side", "--blender",
                          str(bpy45)).returncode == 0
    with _no_bpy(monkeypatch):
        text = CliRunner().invoke(cli, ["--catalog", str(project.cat), "status", "--renders",
                                        str(project.store)]).output
    lines = text.splitlines()
    assert lines[0].split()[-1] == "BLENDER"
    pair = {row.split()[2]: row for row in lines if row.split()[:2] == ["pair", "preview"]}
    assert pair["main"].endswith(f"  {BPY_VERSION}")
    assert pair["side"].endswith(f"  {version}")
    # solo's default (box-4, ball hidden) is one of pair's pictures: made by both versions
    solo = [row for row in lines if row.startswith("solo")]
    assert [row.split()[-1] for row in solo] == [BPY_VERSION, version]
    total = [row for row in lines if row.startswith("total")][0].split()
    assert total[1:3] == ["14", "14"]  # ready, whichever version made them


@contextlib.contextmanager
def _no_bpy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    find_spec = importlib.util.find_spec

    def no_bpy(name: str, *args: Any) -> Any:
        return None if name == "bpy" else find_spec(name, *args)

    with monkeypatch.context() as m:
        m.setattr(importlib.util, "find_spec", no_bpy)
        yield


def _status_without_bpy(project: Project, monkeypatch: pytest.MonkeyPatch
                        ) -> list[dict[str, Any]]:
    with _no_bpy(monkeypatch):
        result = CliRunner().invoke(cli, ["--catalog", str(project.cat), "status", "--json",
                                          "--renders", str(project.store)])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()
            if "totals" not in line and '"preview"' in line]


def test_old_pictures_without_a_version_input_stay_ready(project: Project) -> None:
    """Pictures indexed before the version was an input are not all made stale."""
    assert project.render("--product", "solo").returncode == 0
    db = sqlite3.connect(project.store / "index.sqlite")
    with db:
        for address, inputs in db.execute("SELECT address, inputs FROM renders").fetchall():
            old = {k: v for k, v in json.loads(inputs).items() if k != "blender"}
            db.execute("UPDATE renders SET inputs = ?, fingerprint = ? WHERE address = ?",
                       (json.dumps(old, sort_keys=True), fingerprint(old), address))
    db.close()
    assert project.render("--dry-run", "--product", "solo").stdout == (
        "wanted 2: 2 ready; render nothing\n")
