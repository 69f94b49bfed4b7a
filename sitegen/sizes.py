"""A picture's size ladder: the smaller widths a quality's `sizes` asks for, and thumbnails.

CATALOG_FORMAT.md 1.1: a quality with `sizes: [800, 400]` also has each of its pictures
(and each layer: docs/layers.md) downscaled to those widths, the height in proportion
rounded to the nearest pixel, at `<quality>/<model>/<view>/<name>.w<W>.<ext>`. They are
made on the host from the stored picture, right after it is rendered, in the quality's own
format and quality; the thumbnail (`.thumb.webp`) comes from the same downscaling.

Downscaling is done **in linear light with premultiplied alpha**, with Pillow's Hamming
filter (a windowed sinc of support 1: antialiased, sharper than bilinear, and never
negative): the page adds layers in linear light, and a filter that is linear and never
overshoots commutes with that sum, so the stack of downscaled layers is the downscaled
stack to 1 level (tests/test_sizes.py). Lanczos rings, the ringing is clipped at 0 in the
8-bit files, and a holdout's black edge then differs by up to 47 levels; in display space a
dark part's edge over a light floor would come out too dark, and with straight alpha the
colour of transparent pixels would bleed into the edges.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from sitegen.protocol import PICTURE_EXTENSIONS

if TYPE_CHECKING:
    from PIL import Image

_SIZED = re.compile(r"\.w([1-9][0-9]*)\.(" + "|".join(PICTURE_EXTENSIONS) + ")$")

# 8-bit sRGB -> linear, and linear -> 8-bit sRGB (the page's curve, layers.js).
_LEVELS = np.arange(256, dtype=np.float64) / 255
TO_LINEAR = np.where(_LEVELS <= 0.04045, _LEVELS / 12.92, ((_LEVELS + 0.055) / 1.055) ** 2.4)


def to_srgb8(linear: NDArray[np.float64]) -> NDArray[np.uint8]:
    """Linear values (0..1) to 8-bit sRGB, rounded to the nearest level."""
    x = np.clip(linear, 0.0, 1.0)
    srgb = np.where(x <= 0.0031308, x * 12.92, 1.055 * np.power(x, 1 / 2.4) - 0.055)
    return np.floor(srgb * 255 + 0.5).astype(np.uint8)  # type: ignore[no-any-return]


def sized_address(address: str, width: int) -> str:
    """`<quality>/<model>/<view>/<name>.w<W>.<ext>`: a picture's copy `width` pixels wide."""
    stem, ext = address.rsplit(".", 1)
    return f"{stem}.w{width}.{ext}"


def is_sized_name(name: str) -> bool:
    """Whether a file name is a sized copy (`<name>.w<W>.<ext>`), never a picture's own
    name: a key or a layer name ends with a finish id or 0, never with `.w<digits>`."""
    return _SIZED.search(name) is not None


def sized_height(width: int, height: int, new_width: int) -> int:
    """The height of a copy `new_width` wide: in proportion, to the nearest pixel (half up)."""
    return max(1, int(height * new_width / width + 0.5))


def sized_addresses(address: str, widths: Iterable[int]) -> list[str]:
    return [sized_address(address, w) for w in sorted(set(widths))]


def downscale(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`image` (RGB or RGBA, 8-bit sRGB, straight alpha) resized to `size` with the Hamming
    filter in linear light, alpha premultiplied; the same mode back."""
    from PIL import Image

    mode = "RGBA" if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info \
        else "RGB"
    pixels = np.asarray(image.convert(mode))
    linear = TO_LINEAR[pixels[..., :3]]
    alpha = pixels[..., 3].astype(np.float64) / 255 if mode == "RGBA" else None
    if alpha is not None:
        linear = linear * alpha[..., None]

    def resized(channel: NDArray[np.float64]) -> NDArray[np.float64]:
        plane = Image.fromarray(channel.astype(np.float32), mode="F")
        return np.asarray(plane.resize(size, Image.Resampling.HAMMING), dtype=np.float64)

    out = np.stack([resized(linear[..., c]) for c in range(3)], axis=-1)
    if alpha is None:
        return Image.fromarray(to_srgb8(out), "RGB")
    a = np.clip(resized(alpha), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        straight = np.where(a[..., None] > 0, out / a[..., None], 0.0)
    rgba = np.dstack([to_srgb8(straight), np.floor(a * 255 + 0.5).astype(np.uint8)])
    return Image.fromarray(rgba, "RGBA")


def encode(image: Image.Image, path: Path, ext: str, quality: int) -> None:
    """Write `image` as a quality's format writes its pictures: jpg at `quality`; webp lossy
    at `quality` (alpha lossless), lossless at 100 (as Blender writes it); avif at
    `quality` (libavif's defaults); png lossless."""
    if ext == "jpg":
        image.convert("RGB").save(path, "JPEG", quality=quality, optimize=True)
    elif ext == "webp" and quality >= 100:
        image.save(path, "WEBP", lossless=True, quality=100, method=6)
    elif ext == "webp":
        # blender/worker.py's pillow_save writes the pictures themselves the same way
        image.save(path, "WEBP", quality=quality, method=6, alpha_quality=100)
    elif ext == "avif":
        image.save(path, "AVIF", quality=quality)  # as blender/worker.py's pillow_save
    elif ext == "png":
        image.save(path, "PNG", compress_level=9)
    else:
        raise ValueError(f"no encoder for .{ext}")
