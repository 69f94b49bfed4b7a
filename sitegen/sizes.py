"""A picture's size ladder: the smaller widths a quality's `sizes` asks for, and thumbnails.

CATALOG_FORMAT.md 1.1: a quality with `sizes: [800, 400]` also has each of its pictures
(and each layer: docs/layers.md) downscaled to those widths, the height in proportion
rounded to the nearest pixel, at `<quality>/<model>/<view>/<name>.w<W>.<ext>`. They are
made on the host from the stored picture, right after it is rendered, in the quality's own
format and quality; the thumbnail (`.thumb.webp`) comes from the same downscaling.

Downscaling is done **in linear light with premultiplied alpha** (Lanczos): the page adds
layers in linear light, and a linear filter commutes with that sum, so the stack of
downscaled layers is the downscaled stack (to 8-bit rounding); in display space a dark
part's edge over a light floor would come out too dark, and with straight alpha the colour
of transparent pixels would bleed into the edges.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

TEMP_MARK = ".tmp-"  # (as the store's: a temporary file is never a picture)
_SIZED = re.compile(r"\.w([1-9][0-9]*)\.(png|jpg|webp)$")

# 8-bit sRGB -> linear, and linear -> 8-bit sRGB (the page's curve, layers.js).
_LEVELS = np.arange(256, dtype=np.float64) / 255
TO_LINEAR = np.where(_LEVELS <= 0.04045, _LEVELS / 12.92, ((_LEVELS + 0.055) / 1.055) ** 2.4)


def to_srgb8(linear: np.ndarray) -> np.ndarray:
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
    """`image` (RGB or RGBA, 8-bit sRGB, straight alpha) resized to `size` with a Lanczos
    filter in linear light, alpha premultiplied; the same mode back."""
    from PIL import Image

    mode = "RGBA" if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info \
        else "RGB"
    pixels = np.asarray(image.convert(mode))
    linear = TO_LINEAR[pixels[..., :3]]
    alpha = pixels[..., 3].astype(np.float64) / 255 if mode == "RGBA" else None
    if alpha is not None:
        linear = linear * alpha[..., None]

    def resized(channel: np.ndarray) -> np.ndarray:
        plane = Image.fromarray(channel.astype(np.float32), mode="F")
        return np.asarray(plane.resize(size, Image.Resampling.LANCZOS), dtype=np.float64)

    out = np.stack([resized(linear[..., c]) for c in range(3)], axis=-1)
    if alpha is None:
        return Image.fromarray(to_srgb8(out), "RGB")
    a = np.clip(resized(alpha), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        straight = np.where(a[..., None] > 0, out / a[..., None], 0.0)
    rgba = np.dstack([to_srgb8(straight), np.floor(a * 255 + 0.5).astype(np.uint8)])
    return Image.fromarray(rgba, "RGBA")


def save_encoded(image: Image.Image, path: Path, ext: str, quality: int) -> None:
    """Write `image` as a quality's format writes its pictures, atomically: jpg at
    `quality`; webp lossy at `quality` (alpha kept lossless), lossless at 100 (as Blender
    writes it); png lossless."""
    tmp = path.with_name(f".{path.name}{TEMP_MARK}{os.getpid()}.{ext}")
    try:
        if ext == "jpg":
            image.convert("RGB").save(tmp, "JPEG", quality=quality, optimize=True)
        elif ext == "webp":
            if quality >= 100:
                image.save(tmp, "WEBP", lossless=True, quality=100, method=6, exact=False)
            else:
                image.save(tmp, "WEBP", quality=quality, method=6, alpha_quality=100)
        elif ext == "png":
            image.save(tmp, "PNG", compress_level=9)
        else:
            raise ValueError(f"no encoder for .{ext}")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def ladder(picture: Path, widths: Iterable[int], ext: str, quality: int,
           out_of: dict[int, Path]) -> Iterator[Path]:
    """Write the picture's copy at each width to `out_of[width]` (each atomically, one
    decode of the picture); yields the paths written."""
    from PIL import Image

    with Image.open(picture) as image:
        image.load()
        for w in sorted(set(widths)):
            small = downscale(image, (w, sized_height(image.width, image.height, w)))
            save_encoded(small, out_of[w], ext, quality)
            yield out_of[w]
