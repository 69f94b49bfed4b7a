"""The size ladder (sitegen/sizes.py, CATALOG_FORMAT.md 1.1 `sizes`): names, the catalog's
checks, downscaling in linear light with premultiplied alpha, and the store's companions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import DEMO, base_catalog
from PIL import Image

from sitegen.catalog.load import load_catalog
from sitegen.errors import CatalogError
from sitegen.plan import wanted_renders
from sitegen.sizes import (
    TO_LINEAR,
    downscale,
    is_sized_name,
    sized_address,
    sized_height,
    to_srgb8,
)
from sitegen.store import (
    FolderStore,
    companion_files,
    is_companion_name,
    is_picture_name,
    make_companions,
    remove_picture,
)
from sitegen.verify import composite


def test_names() -> None:
    assert sized_address("hd/maru/main/layer-11101-pads.padend-4031.webp", 800) == \
        "hd/maru/main/layer-11101-pads.padend-4031.w800.webp"
    assert sized_address("q/kino/front/frame-1127_top-0.jpg", 400) == \
        "q/kino/front/frame-1127_top-0.w400.jpg"
    assert is_sized_name("frame-1127_top-0.w400.jpg")
    assert not is_sized_name("frame-1127_top-0.jpg")
    assert not is_sized_name("layer-11-pads.w400-12.webp")  # a mesh called w400: a layer
    assert not is_sized_name("frame-1127.w0.png") and not is_sized_name("x.w400.gif")
    assert is_companion_name("frame-1.w400.png") and is_companion_name("frame-1.thumb.webp")
    assert not is_picture_name("frame-1.w400.png") and is_picture_name("frame-1.png")
    assert is_sized_name("layer-1-base.w320.avif") and is_picture_name("layer-1-base.avif")
    assert (sized_height(480, 360, 240), sized_height(64, 48, 20), sized_height(1000, 333, 500)
            ) == (180, 15, 167)  # 166.5: half up


def test_no_picture_name_of_the_demo_is_a_sized_name() -> None:
    catalog, _ = load_catalog(DEMO)
    names = {w.address.rsplit("/", 1)[1] for w in wanted_renders(catalog)}
    assert len(names) > 50
    assert not [n for n in names if is_sized_name(n) or not is_picture_name(n)]


def write_catalog_with(tmp_path: Path, make_catalog: Any, sizes: list[int]) -> Path:
    data = base_catalog()
    data["qualities"][0].update(resolution=[480, 360], sizes=sizes)
    return make_catalog({"catalog.yaml": data})


@pytest.mark.parametrize(("sizes", "message"), [
    ([480, 240], "sizes 480 not smaller than the resolution's width (480)"),
    ([240, 120, 240], "sizes 240 given twice"),
])
def test_bad_sizes_are_errors_naming_the_line(make_catalog: Any, tmp_path: Path,
                                              sizes: list[int], message: str) -> None:
    root = write_catalog_with(tmp_path, make_catalog, sizes)
    with pytest.raises(CatalogError) as caught:
        load_catalog(root)
    text = str(caught.value)
    assert "catalog.yaml:" in text and "qualities[0].sizes" in text and message in text, text


def test_good_sizes_load(make_catalog: Any, tmp_path: Path) -> None:
    catalog, _ = load_catalog(write_catalog_with(tmp_path, make_catalog, [240, 120]))
    assert catalog.qualities["preview"].sizes == [240, 120]


def edge_layers(rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
    """A holdout backdrop and two part layers whose coverages partition every pixel."""
    h, w = 60, 80
    cover = np.zeros((2, h, w))
    yy, xx = np.mgrid[0:h, 0:w]
    cover[0] = np.clip((xx - 20.3) / 1.7, 0, 1) * np.clip((50.6 - yy) / 2.2, 0, 1)
    cover[1] = np.clip((yy - 50.6) / 2.2 + 1, 0, 1) * (1 - cover[0])
    floor = 1 - cover[0] - cover[1]
    colours = [np.array([0.02, 0.01, 0.01]), np.array([0.7, 0.1, 0.05])]
    backdrop = to_srgb8(floor[..., None] * np.array([0.8, 0.8, 0.75]))
    layers = []
    for a, c in zip(cover, colours, strict=True):
        rgb = to_srgb8(np.broadcast_to(c, (h, w, 3)) + rng.normal(0, 0.01, (h, w, 3)))
        layers.append(np.dstack([rgb, np.floor(a * 255 + 0.5).astype(np.uint8)]))
    return backdrop, layers


def test_a_stack_of_downscaled_layers_is_the_downscaled_stack() -> None:
    """The filter is linear in linear light with premultiplied alpha: it commutes with the
    page's sum (to 8-bit rounding)."""
    backdrop, layers = edge_layers(np.random.default_rng(3))
    size = (30, 23)
    small = [np.asarray(downscale(Image.fromarray(x), size)) for x in [backdrop, *layers]]
    stacked_small = composite(small[0], small[1:])
    small_stack = np.asarray(downscale(Image.fromarray(composite(backdrop, layers)), size))
    diff = np.abs(stacked_small.astype(int) - small_stack.astype(int))
    assert diff.max() <= 1 and diff.mean() < 0.1, (diff.max(), diff.mean())
    # In display space (Pillow's own resize, premultiplied but not linear) it does not.
    naive = [np.asarray(Image.fromarray(x).resize(size, Image.Resampling.HAMMING))
             for x in [backdrop, *layers]]
    naive_diff = np.abs(composite(naive[0], naive[1:]).astype(int) - small_stack.astype(int))
    assert naive_diff.max() > 10 * diff.max()


def test_transparent_colour_does_not_bleed_into_an_edge() -> None:
    pixels = np.zeros((8, 16, 4), np.uint8)
    pixels[:, :8] = (255, 0, 255, 0)  # magenta, but transparent
    pixels[:, 8:] = (0, 200, 0, 255)
    small = np.asarray(downscale(Image.fromarray(pixels, "RGBA"), (8, 4)))
    visible = small[..., 3] > 0
    assert (small[visible][:, 0] <= 2).all() and (small[visible][:, 2] <= 2).all()
    # An opaque flat picture stays flat; its level survives the trip through linear light.
    flat = np.asarray(downscale(Image.new("RGB", (50, 40), (90, 140, 200)), (21, 17)))
    assert (flat == (90, 140, 200)).all()
    assert (to_srgb8(TO_LINEAR) == np.arange(256)).all()


@pytest.mark.parametrize(("ext", "mode", "quality", "fmt"), [
    ("png", "RGBA", 90, "PNG"), ("webp", "RGBA", 80, "WEBP"), ("webp", "RGB", 100, "WEBP"),
    ("jpg", "RGB", 85, "JPEG"), ("avif", "RGB", 75, "AVIF")])
def test_companions_are_written_removed_and_found(tmp_path: Path, ext: str, mode: str,
                                                  quality: int, fmt: str) -> None:
    store = FolderStore(tmp_path / "renders")
    address = f"q/m/main/layer-1-a-3.{ext}"
    picture = store.path_of(address)
    picture.parent.mkdir(parents=True)
    colour = (40, 90, 160, 200) if mode == "RGBA" else (40, 90, 160)
    Image.new(mode, (640, 480), colour).save(picture)
    names = make_companions(picture, address, store.path_of, [320, 100], quality)
    assert names == ["q/m/main/layer-1-a-3.thumb.webp", f"q/m/main/layer-1-a-3.w100.{ext}",
                     f"q/m/main/layer-1-a-3.w320.{ext}"]
    for name, size in zip(names, [(240, 180), (100, 75), (320, 240)], strict=True):
        with Image.open(store.path_of(name)) as im:
            assert im.size == size and im.format == ("WEBP" if "thumb" in name else fmt)
            assert im.mode == (mode if "thumb" not in name or mode == "RGBA" else "RGB")
    # Another picture whose name starts the same is no companion of it.
    other = store.path_of(f"q/m/main/layer-1-a-3.w100-9.{ext}")
    other.write_bytes(b"")
    assert set(companion_files(address, store.path_of)) == set(names)
    assert not [p for p in picture.parent.iterdir() if ".tmp-" in p.name]
    remove_picture(store, address)
    assert sorted(p.name for p in picture.parent.iterdir()) == [other.name]


def test_a_picture_that_does_not_decode_raises_and_writes_nothing(tmp_path: Path) -> None:
    store = FolderStore(tmp_path / "renders")
    address = "q/m/main/frame-1.png"
    picture = store.path_of(address)
    picture.parent.mkdir(parents=True)
    picture.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(OSError):
        make_companions(picture, address, store.path_of, [100])
    assert [p.name for p in picture.parent.iterdir()] == ["frame-1.png"]
