"""sitegen.modelcheck through `validate`: every model file opened in Blender, problems at
the models.yaml line, answers cached by content (a second `validate` starts no Blender).

`sitegen` runs as a subprocess with its own cache folder (SITEGEN_CACHE_DIR); the
`--blender` stand-in (tests/blender_standin.py) logs every worker start, which is how the
tests tell that a run started none. `render` refusing a failing model is in test_render.py.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from blender_scenes import KINO, SCENE
from blender_standin import BPY_VERSION, write_standin
from click.testing import CliRunner
from conftest import base_catalog

from sitegen.cli import cli

pytestmark = pytest.mark.blender

MODELS = """\
models:
  - id: whole
    blend: models/scene.blend
    meshes:
      - {id: box, objects: [Box]}
      - {id: ball, objects: [Ball]}
    views: [main, side]
  - id: cut
    blend: models/cut.blend
    meshes: [{id: box, objects: [Box]}]
    views: [main]
  - id: junk
    blend: models/junk.blend
    meshes: [{id: box, objects: [Box]}]
    views: [main]
  - id: lacking
    blend: models/scene.blend
    meshes:
      - {id: box, objects: [Box, Leg.003]}
      - lamp
    views: [main]
  - id: blind
    blend: models/scene.blend
    meshes: [{id: box, objects: [Box]}]
    views: [main, top]
"""
SCENE_OBJECTS = "Ball, Box, Floor, Sun, main, side"


def line(needle: str, text: str = MODELS) -> int:
    """The line of `text` (1-based) that holds `needle`."""
    return next(n for n, row in enumerate(text.splitlines(), 1) if needle in row)


@pytest.fixture
def catalog(make_catalog: Callable[..., Path], blender_scenes: Path) -> Path:
    """The kino catalog (a real kino.blend) plus models.yaml: one whole model, a truncated
    file, a file that is no .blend, a model lacking two objects, one lacking a camera."""
    data = base_catalog()
    root = make_catalog({"catalog.yaml": data, "models.yaml": MODELS})
    shutil.copyfile(blender_scenes / KINO, root / "kino.blend")
    (root / "models").mkdir()
    scene = (blender_scenes / SCENE).read_bytes()
    (root / "models" / "scene.blend").write_bytes(scene)
    (root / "models" / "cut.blend").write_bytes(scene[: len(scene) // 2])
    (root / "models" / "junk.blend").write_text("this is no blend file\n")
    return root


def validate(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SITEGEN_CACHE_DIR": str(root.parent / "cache")}
    return subprocess.run([sys.executable, "-m", "sitegen", "--catalog", root.name, "validate",
                           *args], capture_output=True, text=True, cwd=root.parent, env=env,
                          timeout=300, check=False)


def expected_errors(version: str = BPY_VERSION) -> list[str]:
    return [
        f"cat/models.yaml:{line('models/cut.blend')}: models[1].blend: cut.blend cannot be "
        f"opened by Blender {version}: ",
        f"cat/models.yaml:{line('models/junk.blend')}: models[2].blend: junk.blend cannot be "
        f"opened by Blender {version}: ",
        f"cat/models.yaml:{line('Leg.003')}: models[3].meshes[0].objects[1]: object 'Leg.003' "
        f"not found in scene.blend (objects: {SCENE_OBJECTS})",
        f"cat/models.yaml:{line('- lamp')}: models[3].meshes[1]: object 'lamp' not found in "
        f"scene.blend (objects: {SCENE_OBJECTS})",
        f"cat/models.yaml:{line('[main, top]')}: models[4].views[1]: no camera 'top' in "
        "scene.blend (cameras: main, side)",
        "catalog invalid: 5 error(s)",
    ]


def assert_errors(stderr: str, expected: list[str]) -> None:
    lines = stderr.splitlines()
    assert len(lines) == len(expected), stderr
    for got, want in zip(lines, expected, strict=True):
        # the two files that do not open: Blender's own reason follows
        assert got.startswith(want) if want.endswith(": ") else got == want, (got, want)


def test_validate_opens_every_model_and_places_each_problem(catalog: Path) -> None:
    result = validate(catalog)
    assert result.returncode == 1, result.stdout
    assert_errors(result.stderr, expected_errors())
    assert "Missing DNA block" in result.stderr  # the truncated file, in Blender's words
    assert "File format is not supported" in result.stderr  # the junk
    assert "Traceback" not in result.stderr and str(catalog) not in result.stderr
    # --strict adds nothing: these are errors already; the kino model passes
    assert validate(catalog, "--strict").stderr == result.stderr


def test_a_second_validate_starts_no_blender(catalog: Path, tmp_path: Path) -> None:
    starts = tmp_path / "starts.log"
    standin = write_standin(tmp_path / "blender", starts=starts)

    def started() -> int:
        return len(starts.read_text().splitlines()) if starts.exists() else 0

    first = validate(catalog, "--blender", str(standin))
    assert first.returncode == 1
    assert_errors(first.stderr, expected_errors())
    assert started() == 1  # one worker checked all six models
    second = validate(catalog, "--blender", str(standin))
    assert (second.returncode, second.stderr) == (1, first.stderr)
    assert started() == 1  # every answer came from the cache
    # A fixed file has another content hash: checked again, alone.
    shutil.copyfile(catalog / "models" / "scene.blend", catalog / "models" / "junk.blend")
    third = validate(catalog, "--blender", str(standin))
    assert started() == 2
    expected = expected_errors()
    del expected[1]
    expected[-1] = "catalog invalid: 4 error(s)"
    assert_errors(third.stderr, expected)
    # The same files seen by another Blender version are checked again.
    other = write_standin(tmp_path / "blender-4.5", version="4.5.9", starts=starts)
    fourth = validate(catalog, "--blender", str(other))
    assert started() == 3
    assert "cut.blend cannot be opened by Blender 4.5.9: " in fourth.stderr


def test_a_clean_catalog_validates_and_a_broken_blender_is_an_error(
        make_catalog: Callable[..., Path], blender_scenes: Path, tmp_path: Path) -> None:
    root = make_catalog()
    shutil.copyfile(blender_scenes / KINO, root / "kino.blend")
    result = validate(root)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert result.stdout.startswith("catalog valid: 1 products")
    broken = write_standin(tmp_path / "broken-blender", fail="version")
    result = validate(root, "--blender", str(broken))
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: Blender workers could not start: {broken}: ")
    assert "Error: cannot load libGL.so.1" in result.stderr


def test_without_blender_validate_warns_and_skips_the_models(
        make_catalog: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_catalog()  # kino.blend is a fake: it would not open
    find_spec = importlib.util.find_spec

    def no_bpy(name: str, *args: Any) -> Any:
        return None if name == "bpy" else find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", no_bpy)
    monkeypatch.setenv("SITEGEN_CACHE_DIR", str(root.parent / "cache"))
    result = CliRunner().invoke(cli, ["--catalog", str(root), "validate"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("catalog valid: 1 products")
    assert result.stderr == ("warning: model files not checked: the bpy module is not "
                             f"installed in {sys.executable} (pip install bpy==5.0.1) and no "
                             "--blender PATH was given\n")

