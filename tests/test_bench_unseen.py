"""bench/unseen.py: the benchmark catalog nobody tuned the layers on builds, validates (the
model checked in Blender too); its layout depends on the seed only."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT


def load_unseen():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_unseen", ROOT / "bench" / "unseen.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_importing_needs_no_bpy() -> None:
    unseen = load_unseen()
    assert "bpy" not in vars(unseen)
    files = unseen.catalog_files((400, 300))
    assert set(files) == {"site.yaml", "materials.yaml", "models.yaml", "products.yaml"}
    assert "sizes: [200, 100]" in files["site.yaml"]
    assert unseen.layout(1) == unseen.layout(1) != unseen.layout(2)


@pytest.mark.blender
@pytest.mark.slow
def test_builds_and_validates(tmp_path: Path) -> None:
    unseen = load_unseen()
    one = unseen.make_unseen(tmp_path / "one", seed=1, resolution=(160, 120))
    assert one == tmp_path / "one"
    assert (one / "models" / "unseen.blend").is_file()
    result = subprocess.run(
        [sys.executable, "-m", "sitegen", "--catalog", str(one), "validate"],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "catalog valid: 2 products, 3 kinds, 9 finishes, 1 models" in result.stdout
