"""sitegen as a user installs it: a wheel, installed (not editable) into a fresh venv.

The wheel is built by `pip wheel` from a copy of what it is made of (so that nothing is left
in the checkout). The fresh venv gets it with `pip install --no-deps`, and its dependencies
from this test's own environment through a `.pth` file: bpy alone is a 374 MB download, and
the code under test is the wheel's all the same (imported from the venv's site-packages;
commands run from a folder outside the repository). `pip check` says the wheel's declared
dependencies are met. Then `sitegen validate`, a tiny `render` and `sitegen build`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT
from programs import need_bpy
from sitefixtures import demo_copy

TINY = {"resolution": [32, 24], "samples": 1, "denoise": "off", "sizes": [16]}
PRODUCT, MODEL = "hako-table", "hako"  # the demo's smallest product: one view, 12 colourings


def setuptools_config() -> dict[str, Any]:
    config: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return dict(config["tool"]["setuptools"])


def shipped_files() -> dict[str, Path]:
    """Every file the wheel must hold, by its path in the wheel: all of each mapped folder."""
    files = {}
    for package, folder in setuptools_config()["package-dir"].items():
        root = ROOT / folder
        for path in root.rglob("*"):
            rel = path.relative_to(root)
            if path.is_file() and "__pycache__" not in rel.parts and path.suffix != ".pyc":
                files["/".join([*package.split("."), *rel.parts])] = path
    return files


def test_pyproject_names_every_package() -> None:
    """A package-dir mapping rules out `packages.find`: a new folder under sitegen/,
    templates/ or blender/ must be added to `packages` in pyproject.toml, or it does not ship."""
    config = setuptools_config()
    folders = {name.rsplit("/", 1)[0].replace("/", ".") for name in shipped_files()}
    assert sorted(folders - set(config["packages"])) == [], "add these to pyproject.toml"
    assert sorted(set(config["packages"]) - folders) == [], "these folders are gone"


def tiny_demo(folder: Path) -> Path:
    """The demo catalog with one product and one model, at tiny qualities."""
    cat = demo_copy(folder, "studio", {"studio": TINY, "preview": {**TINY, "format": "png"}})
    for products in (cat / "products").glob("*.yaml"):
        if products.name != f"{MODEL}.yaml":
            products.unlink()  # their orders too
    models_yaml = cat / "models" / "models.yaml"
    doc = yaml.safe_load(models_yaml.read_text(encoding="utf-8"))
    doc["models"] = [m for m in doc["models"] if m["id"] == MODEL]
    models_yaml.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    for blend in (cat / "models").glob("*.blend"):
        if blend.stem != MODEL:
            blend.unlink()
    return cat


@pytest.mark.slow
@pytest.mark.blender
def test_the_installed_wheel_validates_renders_and_builds(tmp_path: Path) -> None:
    need_bpy()
    # The wheel, from a copy of its sources.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.cfg", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for folder in setuptools_config()["package-dir"].values():
        shutil.copytree(ROOT / folder, src / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    built = subprocess.run([*pip, "wheel", "--no-deps", "--wheel-dir", str(tmp_path / "dist"),
                            str(src)], capture_output=True, text=True, timeout=600, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp_path / "dist").glob("sitegen-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert sorted(set(shipped_files()) - names) == [], "left out of the wheel"

    # A fresh venv: the wheel itself, the dependencies of this environment beside it.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site_packages = Path(subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip())
    ours = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (site_packages / "zz-test-dependencies.pth").write_text("".join(f"{p}\n" for p in ours))
    installed = subprocess.run([*pip, "--python", str(python), "install", "--no-deps",
                                "--no-index", str(wheel)],
                               capture_output=True, text=True, timeout=300, check=False)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    checked = subprocess.run([*pip, "--python", str(python), "check"],
                             capture_output=True, text=True, timeout=300, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # Everything from outside the repository, with nothing of it on the path.
    work = tmp_path / "work"
    cat = tiny_demo(work / "cat")
    (work / "tmp").mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(TMPDIR=str(work / "tmp"), SITEGEN_CACHE_DIR=str(work / "cache"))

    def run(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(a) for a in args], capture_output=True, text=True,
                              timeout=timeout, cwd=work, env=env, check=False)

    where = run(python, "-c", "import json, sitegen, sitegen.render.workers as r, "
                "sitegen.site as s; print(json.dumps([sitegen.__file__, str(r.WORKER_SCRIPT), "
                "str(s.TEMPLATES)]))")
    assert where.returncode == 0, where.stderr
    for path in json.loads(where.stdout):
        assert Path(path).is_relative_to(site_packages / "sitegen"), path
    sitegen = venv / "bin" / "sitegen"

    validated = run(sitegen, "--catalog", cat, "validate")
    assert validated.returncode == 0, validated.stdout + validated.stderr
    rendered = run(sitegen, "--catalog", cat, "render", "--renders", "renders", "--workers", "1",
                   "--device", "cpu", "--json", timeout=600)
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr
    (summary,) = (e for e in map(json.loads, rendered.stdout.splitlines())
                  if e["event"] == "summary")
    assert summary["rendered"] > 0 and summary["failed"] == 0, summary
    pictures = list((work / "renders" / "studio" / MODEL).rglob("*.webp"))
    bounce = [p for p in pictures if ".from-" in p.name]  # bounce images: no companions
    assert bounce and len(pictures) == 3 * (summary["rendered"] - len(bounce)) + len(bounce)
    assert len([p for p in pictures if p.name.endswith(".w16.webp")]) == (
        summary["rendered"] - len(bounce))

    built_site = run(sitegen, "--catalog", cat, "build", "--renders", "renders", "--out", "site")
    assert built_site.returncode == 0, built_site.stdout + built_site.stderr
    site = work / "site"
    assert (site / "index.html").is_file()
    assert (site / "products" / PRODUCT / "index.html").is_file()
    assert (site / "products" / PRODUCT / "data.json").is_file()
    static = {p.name.split("-")[0] + p.suffix for p in (site / "static").iterdir()}
    assert {"sketchbook.js", "layers.js", "ready.js", "style.css", "favicon.svg"} <= static
    assert str(ROOT) not in (site / "index.html").read_text()
