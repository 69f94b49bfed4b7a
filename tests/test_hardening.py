"""Bad inputs and hostile machines (issue 9): a clear error naming the place, nothing lost.

`--quality Q` renders at Q; textures that are not images are refused at load; a full disk
or a read-only store stops a run with the cause, the index and the files agreeing; small
things (YAML's `off`, over-long names). Conditions that need root (a small tmpfs, a
read-only bind mount) say so when they cannot run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import base_catalog, write_png

from sitegen.catalog.load import load_catalog
from sitegen.errors import CatalogError

ROOT_ONLY = ("needs root to mount a tmpfs or a read-only bind mount (run the suite as root, "
             "as CI does)")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sitegen", *args], capture_output=True,
                          text=True, check=False, cwd=cwd, timeout=300)


def clean_failure(result: subprocess.CompletedProcess[str]) -> None:
    """Exit 1 with a message, no traceback, no 'this is a bug'."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "this is a bug" not in result.stderr, (
        result.stderr)


@contextlib.contextmanager
def mounted(args: list[str], target: Path) -> Iterator[Path]:
    """`mount ARGS TARGET` for the block; skips the test when it cannot be done here."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip(ROOT_ONLY)
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", *args, str(target)], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        pytest.skip(f"{ROOT_ONLY}: mount said {done.stderr.strip()}")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


# -- 3. --quality Q means "at Q" ------------------------------------------------------------

def draft_catalog() -> dict[str, Any]:
    cat = base_catalog()
    cat["qualities"].append({"id": "draft", "engine": "cycles", "samples": 1,
                             "resolution": [32, 24], "format": "jpeg"})
    cat["orders"] = [
        {"id": "fair", "product": "kino-stool", "quality": "draft", "views": ["front"],
         "select": {"Frame": {"finishes": [1127]}}},
        {"id": "shop", "product": "kino-stool", "views": ["side"],
         "select": {"Frame": {"finishes": [1128]}}},
    ]
    return cat


def test_quality_means_at_that_quality_not_a_filter(load: Callable[..., Any]) -> None:
    from sitegen.plan import wanted_renders

    catalog = load({"catalog.yaml": draft_catalog()})
    primary = list(wanted_renders(catalog))
    draft = list(wanted_renders(catalog, quality="draft"))
    # Every product's wanted colouring, now at draft (15 colourings x 2 views), plus the
    # draft order's pictures (already among them); the primary-quality order is not wanted.
    assert {w.quality for w in draft} == {"draft"}
    assert len(draft) == 30
    assert {(w.model, w.view, w.key) for w in draft} == {
        (w.model, w.view, w.key) for w in primary if w.quality == "preview"}
    # An order named with --quality is wanted at that quality.
    shop = list(wanted_renders(catalog, quality="draft", order="shop"))
    assert shop and {(w.quality, w.view) for w in shop} == {("draft", "side")}
    assert {w.key for w in shop} == {w.key for w in wanted_renders(catalog, order="shop")}
    # Without --quality, nothing changes: products at the primary one, orders at their own.
    assert {w.quality for w in primary} == {"preview", "draft"}
    assert all(w.quality == "draft" and w.view == "front" for w in primary
               if w.quality == "draft")


def test_status_and_dry_run_at_a_quality(make_catalog: Callable[..., Path],
                                         tmp_path: Path) -> None:
    import json

    root = make_catalog({"catalog.yaml": draft_catalog()})
    renders = str(tmp_path / "renders")
    plan = run("--catalog", str(root), "render", "--quality", "draft", "--product",
               "kino-stool", "--dry-run", "--json", "--renders", renders)
    assert plan.returncode == 0, plan.stderr
    assert json.loads(plan.stdout.splitlines()[0])["render"] == 30
    status = run("--catalog", str(root), "status", "--quality", "draft", "--json",
                 "--renders", renders)
    assert status.returncode == 0, status.stderr
    rows = [json.loads(line) for line in status.stdout.splitlines()]
    assert rows[-1]["totals"]["wanted"] == 30
    assert {r["quality"] for r in rows[:-1]} == {"draft"}


@pytest.mark.blender
def test_render_at_a_quality_that_is_not_primary(blender_scenes: Path, tmp_path: Path) -> None:
    from test_render import make_project

    project = make_project(tmp_path, blender_scenes)
    result = project.render("--quality", "web", "--product", "pair")
    assert result.returncode == 0, result.stderr
    # pair: 6 colourings x 2 views, at web (48x36 JPEG), not a filter on web's order (2).
    made = {a for a in project.records() if a.startswith("web/")}
    assert len(made) == 12 and all(a.endswith(".jpg") for a in made)
    again = project.render("--quality", "web", "--product", "pair")
    assert "wanted 12: 12 ready" in again.stdout


# -- 4. textures that are not images --------------------------------------------------------

def textured_catalog(rel: str = "tex/1140.png") -> dict[str, Any]:
    cat = base_catalog()
    cat["finishes"][2]["textures"] = {"diffuse": rel}  # walnut, its pattern's only finish
    return cat


@pytest.mark.parametrize(("name", "content", "why"), [
    ("text.png", b"this is not a picture\n", "not an image (no known image format)"),
    ("empty.png", b"", "the file is empty"),
    ("gif.png", None, "it is a GIF image, which Blender does not read"),
    ("truncated.png", "truncate", "the image cannot be decoded"),
])
def test_a_texture_that_is_not_an_image_is_refused_at_its_entry(
        make_catalog: Callable[..., Path], name: str, content: bytes | str | None,
        why: str) -> None:
    from PIL import Image

    text = yaml.safe_dump(textured_catalog(f"tex/{name}"), sort_keys=False)
    root = make_catalog({"catalog.yaml": text})
    path = root / "tex" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if content is None:
        Image.new("RGB", (8, 8), (10, 20, 30)).save(path, "GIF")
    elif content == "truncate":
        noise = Image.effect_noise((64, 64), 60).convert("RGB")
        noise.save(path, "PNG")
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        assert isinstance(content, bytes)
        path.write_bytes(content)
    line = text[: text.index(f"tex/{name}")].count("\n") + 1
    result = run("--catalog", str(root), "validate")
    clean_failure(result)
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"cat/catalog.yaml:{line}: finishes[2].textures.diffuse: finish "
                            f"1140: 'tex/{name}' is not a texture Blender can read: {why}"), first
    # Every command loads the catalog the same way: build refuses it too, no traceback.
    clean_failure(run("--catalog", str(root), "build", "--out", "site", "--renders", "r"))


def test_real_images_and_blender_only_formats_pass(make_catalog: Callable[..., Path]) -> None:
    cat = base_catalog()
    names = ["a.png", "b.jpg", "c.tif", "d.webp", "e.bmp", "f.exr", "g.hdr"]
    for finish, name in zip(cat["finishes"], names, strict=True):
        finish["textures"] = {"diffuse": f"tex/{name}"}
    from PIL import Image

    root = make_catalog({"catalog.yaml": cat})
    (root / "tex").mkdir()
    for name in names[:5]:
        Image.new("RGB", (4, 4), (1, 2, 3)).save(root / "tex" / name)
    (root / "tex" / "f.exr").write_bytes(b"\x76\x2f\x31\x01" + b"\0" * 64)  # OpenEXR magic
    (root / "tex" / "g.hdr").write_bytes(b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n")
    catalog, _ = load_catalog(root)
    assert catalog.texture_path(catalog.finishes[1127], "diffuse") is not None


def test_a_texture_check_is_cached_by_content(make_catalog: Callable[..., Path],
                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    import sitegen.catalog.images as images

    monkeypatch.setenv("SITEGEN_CACHE_DIR", str(tmp_path / "cache"))
    root = make_catalog({"catalog.yaml": textured_catalog()})
    write_png(root / "tex" / "1140.png")
    decoded: list[Path] = []
    real = images._decode

    def counting(path: Path) -> str | None:
        decoded.append(path)
        return real(path)

    monkeypatch.setattr(images, "_decode", counting)
    load_catalog(root)
    load_catalog(root)
    assert len(decoded) == 1  # the second load asked the cache
    (root / "tex" / "1140.png").write_bytes(b"now text")  # new content: decoded again
    with pytest.raises(CatalogError):
        load_catalog(root)
    assert len(decoded) == 2


@pytest.mark.blender
def test_render_stale_never_overwrites_good_pictures_with_a_broken_texture(
        blender_scenes: Path, tmp_path: Path) -> None:
    from test_render import TEXTURE_3, make_project, sha256

    project = make_project(tmp_path, blender_scenes)
    assert project.render("--product", "pair").returncode == 0
    before = {a: sha256(project.store / a) for a in TEXTURE_3}
    (project.cat / "textures" / "checker.png").write_text("not a picture any more")
    result = project.render("--stale")
    clean_failure(result)
    assert "'textures/checker.png' is not a texture Blender can read" in result.stderr
    assert {a: sha256(project.store / a) for a in TEXTURE_3} == before


# -- 7. a full disk ---------------------------------------------------------------------------

def big_pictures(samples: int = 2) -> dict[str, Any]:
    from test_render import catalog_data

    data = catalog_data(samples)
    data["qualities"][0]["resolution"] = [256, 192]  # about 100 KB a PNG: fills a disk fast
    return data


@pytest.mark.blender
@pytest.mark.slow
def test_a_full_disk_stops_the_run_and_the_index_agrees_with_the_files(
        blender_scenes: Path, tmp_path: Path) -> None:
    from test_render import make_project

    project = make_project(tmp_path, blender_scenes, big_pictures())
    with mounted(["-t", "tmpfs", "-o", "size=3m", "tmpfs"], project.store):
        filler = project.store / "filler"
        free = shutil.disk_usage(project.store).free
        filler.write_bytes(b"\0" * (free - 700 * 1024))  # room for a few pictures only
        result = project.render("--product", "pair")
        clean_failure(result)
        assert "no space left on the device" in result.stderr, result.stderr
        assert "produced no file" not in result.stderr
        pictures = project.pictures() - {"filler"}
        assert pictures and set(project.records()) == pictures  # indexed = on disk
        assert not project.temp_files()

        # Still full: the next run stops at once and says why, rendering nothing.
        filler2 = project.store / "filler2"
        with contextlib.suppress(OSError), open(filler2, "wb") as f:
            while True:
                f.write(b"\0" * 4096)
        rerun = project.render("--product", "pair")
        clean_failure(rerun)
        assert "no space left on the device" in rerun.stderr
        assert "failed" not in rerun.stderr.replace("failed before", "")
        assert set(project.records()) == project.pictures() - {"filler", "filler2"}

        # Space again: the rest renders, the index still agrees.
        filler.unlink()
        filler2.unlink()
        final = project.render("--product", "pair")
        assert final.returncode == 0, final.stderr
        assert len(project.records()) == 14  # pair's 12 and its order's 2 at web
        assert set(project.records()) == project.pictures()


@pytest.mark.blender
def test_a_picture_a_crash_left_unindexed_is_removed_and_rendered_again(
        blender_scenes: Path, tmp_path: Path) -> None:
    from test_render import make_project

    project = make_project(tmp_path, blender_scenes)
    orphan = project.store / "preview/scene/main/box-1_ball-2.png"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"half a picture")  # on disk, not in the index
    result = project.render("--product", "pair")
    assert result.returncode == 0, result.stderr
    assert orphan.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(project.records()) == project.pictures()


# -- 8. a read-only store or output folder --------------------------------------------------

def test_a_read_only_store_is_read_and_refuses_writes_clearly(
        make_catalog: Callable[..., Path], tmp_path: Path) -> None:
    from sitegen.store import FolderStore

    root = make_catalog({"catalog.yaml": base_catalog()})
    source = tmp_path / "store-src"
    store = FolderStore(source)
    address = "preview/kino/front/frame-1127_top-1127.png"
    write_png(store.path_of(address))
    store.record(address, None, {}, "0" * 64, 10, 1.0, "5.0.1")
    store.close()
    with mounted(["--bind", "-o", "ro", str(source)], tmp_path / "ro"):
        ro = str(tmp_path / "ro")
        status = run("--catalog", str(root), "status", "--renders", ro)
        assert status.returncode == 0, status.stderr  # reading works
        rendering = run("--catalog", str(root), "render", "--renders", ro)
        clean_failure(rendering)
        assert "read-only file system" in rendering.stderr and ro in rendering.stderr
        rebuild = run("--catalog", str(root), "index", "rebuild", "--renders", ro)
        clean_failure(rebuild)
        assert "read-only file system" in rebuild.stderr


# -- 11. smaller things -------------------------------------------------------------------------

def test_unquoted_off_reads_as_off_and_yes_says_what_to_write(
        make_catalog: Callable[..., Path]) -> None:
    cat = base_catalog()
    text = yaml.safe_dump(cat, sort_keys=False).replace("primary: true",
                                                        "primary: true\n  denoise: off")
    catalog, _ = load_catalog(make_catalog({"catalog.yaml": text}))
    assert catalog.qualities["preview"].denoise == "off"
    root = make_catalog({"catalog.yaml": text.replace("denoise: off", "denoise: yes")})
    result = run("--catalog", str(root), "validate")
    clean_failure(result)
    assert "qualities[0].denoise: a YAML boolean (yes, on, true) is not a denoising level: " \
           "write one of 'off', 'fast', 'balanced', 'high'" in result.stderr


def test_an_over_long_name_is_cut_in_errors(make_catalog: Callable[..., Path]) -> None:
    cat = base_catalog()
    cat["products"][0]["kinds"][0]["parts"][0]["covered"] = ["x" * 5000]
    root = make_catalog({"catalog.yaml": cat})
    result = run("--catalog", str(root), "validate")
    clean_failure(result)
    assert "x" * 200 not in result.stderr
    assert "(5002 characters)" in result.stderr  # the quoted name, with its quotes
    valid = make_catalog({"catalog.yaml": base_catalog()})
    usage = run("--catalog", str(valid), "variants", "y" * 5000)
    assert usage.returncode == 2
    assert "y" * 200 not in usage.stderr + usage.stdout
