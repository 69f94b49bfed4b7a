#!/usr/bin/env python3
"""Write the demo catalog's textures into catalog/textures/.

Pillow and the standard library only. Deterministic: every random value comes
from a ``random.Random`` with a fixed seed, and the PNGs carry no metadata, so
running the script twice writes the same bytes.

Conventions the renderer can rely on:

* every texture is 256x256 and tiles seamlessly in both directions;
* wood grain runs along the image's vertical axis (UV ``v``): the demo models
  unwrap long wooden parts with ``v`` along their length;
* normal maps are tangent-space, OpenGL convention (green = +v, as Blender
  expects), mostly (128, 128, 255), to be read as Non-Color data;
* roughness maps are 8-bit greyscale (0 = mirror, 255 = fully rough), Non-Color;
* diffuse maps are sRGB, their mean colour equals the finish colour in
  catalog/materials/wood.yaml.

Usage: python scripts/make_demo_textures.py [--out catalog/textures]
"""

from __future__ import annotations

import argparse
import math
import random
from collections.abc import Callable
from pathlib import Path

from PIL import Image

SIZE = 256
N = SIZE * SIZE
Field = list[float]

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "catalog" / "textures"


# --------------------------------------------------------------------------- noise


def value_noise(seed: int, cells_x: int, cells_y: int) -> Field:
    """Tileable value noise in [0, 1] on a cells_x x cells_y lattice (smoothstep)."""
    rng = random.Random(seed)
    lattice = [[rng.random() for _ in range(cells_x)] for _ in range(cells_y)]
    sx = cells_x / SIZE
    sy = cells_y / SIZE
    # Per-column and per-row lattice indices and smoothstep weights, computed once.
    cols = []
    for x in range(SIZE):
        fx = x * sx
        i = int(fx)
        t = fx - i
        cols.append((i % cells_x, (i + 1) % cells_x, t * t * (3 - 2 * t)))
    out: Field = [0.0] * N
    for y in range(SIZE):
        fy = y * sy
        j = int(fy)
        t = fy - j
        wy = t * t * (3 - 2 * t)
        row0 = lattice[j % cells_y]
        row1 = lattice[(j + 1) % cells_y]
        base = y * SIZE
        for x in range(SIZE):
            i0, i1, wx = cols[x]
            a = row0[i0] + (row0[i1] - row0[i0]) * wx
            b = row1[i0] + (row1[i1] - row1[i0]) * wx
            out[base + x] = a + (b - a) * wy
    return out


def fbm(seed: int, cells_x: int, cells_y: int, octaves: int, gain: float = 0.5) -> Field:
    """Fractal sum of tileable value noise, normalised to [0, 1]."""
    total: Field = [0.0] * N
    amp = 1.0
    norm = 0.0
    for o in range(octaves):
        layer = value_noise(seed * 101 + o, cells_x << o, cells_y << o)
        total = [t + amp * v for t, v in zip(total, layer, strict=True)]
        norm += amp
        amp *= gain
    return [t / norm for t in total]


def stretch(f: Field) -> Field:
    """Rescale a field to span exactly [0, 1]."""
    lo = min(f)
    hi = max(f)
    span = (hi - lo) or 1.0
    return [(v - lo) / span for v in f]


def smoothstep(e0: float, e1: float, v: float) -> float:
    t = min(1.0, max(0.0, (v - e0) / (e1 - e0)))
    return t * t * (3 - 2 * t)


# --------------------------------------------------------------------------- output


def hex_rgb(h: str) -> tuple[float, float, float]:
    h = h.lstrip("#")
    return (int(h[0:2], 16) / 255, int(h[2:4], 16) / 255, int(h[4:6], 16) / 255)


def to_byte(v: float) -> int:
    return max(0, min(255, int(round(v * 255))))


def save_grey(path: Path, f: Field) -> None:
    img = Image.new("L", (SIZE, SIZE))
    img.putdata([to_byte(v) for v in f])
    img.save(path, format="PNG", optimize=True)


def save_rgb(path: Path, r: Field, g: Field, b: Field) -> None:
    img = Image.new("RGB", (SIZE, SIZE))
    img.putdata([(to_byte(x), to_byte(y), to_byte(z)) for x, y, z in zip(r, g, b, strict=True)])
    img.save(path, format="PNG", optimize=True)


def save_normal(path: Path, height: Field, strength: float) -> None:
    """Tangent-space normal map (OpenGL, +Y up) from a tileable height field."""
    r: Field = [0.0] * N
    g: Field = [0.0] * N
    b: Field = [0.0] * N
    for y in range(SIZE):
        up = ((y - 1) % SIZE) * SIZE
        down = ((y + 1) % SIZE) * SIZE
        row = y * SIZE
        for x in range(SIZE):
            dhdx = (height[row + (x + 1) % SIZE] - height[row + (x - 1) % SIZE]) * 0.5
            # Image rows grow downwards, v grows upwards: dh/dv = -dh/drow.
            dhdv = -(height[down + x] - height[up + x]) * 0.5
            nx = -dhdx * strength
            ny = -dhdv * strength
            inv = 1.0 / math.sqrt(nx * nx + ny * ny + 1.0)
            i = row + x
            r[i] = nx * inv * 0.5 + 0.5
            g[i] = ny * inv * 0.5 + 0.5
            b[i] = inv * 0.5 + 0.5
    save_rgb(path, r, g, b)


def tint(
    shade: Field, color: str, dark: tuple[float, float, float], light: float
) -> tuple[Field, Field, Field]:
    """Colour a 0..1 shade field (1 = darkest grain) around a finish colour.

    The result is rescaled so that its mean is exactly the finish colour.
    """
    base = hex_rgb(color)
    chans: list[Field] = []
    for c, d in zip(base, dark, strict=True):
        chans.append([c * (light - (light - d) * s) for s in shade])
    out = []
    for c, ch in zip(base, chans, strict=True):
        mean = sum(ch) / N
        k = c / mean if mean else 1.0
        out.append([v * k for v in ch])
    return out[0], out[1], out[2]


# --------------------------------------------------------------------------- wood


def wood_fields(seed: int, rings: int, warp_amp: float, sharp: float) -> tuple[Field, Field, Field]:
    """(latewood, pores, fibres) fields for straight-grained wood, grain along image y.

    latewood is 1 on the dark late-wood line of every growth ring, pores are
    short dark dashes along the grain, fibres fine streaks along it. All tile.
    """
    warp = fbm(seed, 2, 1, 3)  # slow sideways meander of the rings
    wobble = fbm(seed + 1, 6, 2, 2)  # smaller irregularities
    figure = fbm(seed + 2, 2, 6, 2)  # ring width varies along the board
    pores = fbm(seed + 3, 64, 6, 2)
    fibres = stretch(fbm(seed + 4, 96, 3, 2))
    late: Field = [0.0] * N
    for i in range(N):
        x = (i % SIZE) / SIZE
        phase = x * rings + warp_amp * warp[i] + 0.4 * wobble[i] + 0.3 * figure[i]
        ring = phase - math.floor(phase)
        # Early wood is light and wide, late wood darkens quickly near the ring's end.
        late[i] = ring**sharp * (1.0 - smoothstep(0.93, 1.0, ring))
    pore = [smoothstep(0.60, 0.82, p) for p in pores]
    return late, pore, fibres


def make_wood(out: Path) -> None:
    # Oak: open pores, fairly straight rings, warm colour.
    late, pore, fib = wood_fields(seed=1127, rings=22, warp_amp=1.2, sharp=4.0)
    tone = fbm(1999, 2, 4, 2)
    shade = [
        0.55 * lw + 0.25 * p + 0.20 * (f - 0.5) + 0.22 * (t - 0.5)
        for lw, p, f, t in zip(late, pore, fib, tone, strict=True)
    ]
    save_rgb(out / "1127.png", *tint(shade, "#c8a27a", dark=(0.70, 0.62, 0.52), light=1.08))
    # White oil: same wood, paler and with the grain partly filled with white.
    shade_w = [0.72 * s for s in shade]
    save_rgb(out / "1128.png", *tint(shade_w, "#ddc9ad", dark=(0.80, 0.74, 0.66), light=1.05))
    save_normal(
        out / "oak-normal.png",
        [-0.25 * lw - 0.9 * p - 0.2 * f for lw, p, f in zip(late, pore, fib, strict=True)],
        strength=1.0,
    )
    # Roughness: oil makes late wood a bit glossier, the pores stay rough.
    save_grey(
        out / "oak-rough.png",
        [
            0.58 - 0.10 * lw + 0.22 * p + 0.06 * (t - 0.5)
            for lw, p, t in zip(late, pore, tone, strict=True)
        ],
    )

    # Walnut: darker, streaky, strong colour variation from board to board.
    late_w, pore_w, fib_w = wood_fields(seed=1140, rings=16, warp_amp=1.0, sharp=3.0)
    tone_w = stretch(fbm(2140, 3, 2, 3))
    shade_wn = [
        0.50 * lw + 0.20 * p + 0.30 * (f - 0.5) + 0.40 * (t - 0.5)
        for lw, p, f, t in zip(late_w, pore_w, fib_w, tone_w, strict=True)
    ]
    save_rgb(out / "1140.png", *tint(shade_wn, "#6b4a33", dark=(0.52, 0.46, 0.46), light=1.22))
    save_normal(
        out / "walnut-normal.png",
        [-0.2 * lw - 0.8 * p - 0.2 * f for lw, p, f in zip(late_w, pore_w, fib_w, strict=True)],
        strength=0.9,
    )


# --------------------------------------------------------------------------- linoleum


def make_linoleum(out: Path) -> None:
    # Furniture linoleum: satin, with a faint mottle and a fine speckle of rough grains.
    mottle = stretch(fbm(235, 4, 4, 4, gain=0.55))
    speck = value_noise(236, 128, 128)
    rough = [
        0.50 + 0.12 * (m - 0.5) + 0.10 * smoothstep(0.70, 0.95, s)
        for m, s in zip(mottle, speck, strict=True)
    ]
    save_grey(out / "linoleum-rough.png", rough)


# --------------------------------------------------------------------------- fabric


def weave_height(thread: int, over: Callable[[int, int], bool], seed: int, fuzz: float) -> Field:
    """Height field of a woven cloth.

    Threads are `thread` pixels wide; warp runs vertically, weft horizontally.
    over(i, j) says whether the warp thread i lies over the weft thread j at
    their crossing. Each crossing is a bump along the visible thread, with a
    dip between threads; a little fibre noise runs along each thread.
    """
    fibre_v = fbm(seed, 32, 4, 2)  # streaks along warp threads
    fibre_h = fbm(seed + 1, 4, 32, 2)  # streaks along weft threads
    h: Field = [0.0] * N
    for y in range(SIZE):
        j, ty = divmod(y, thread)
        v = (ty + 0.5) / thread  # 0..1 across the weft thread
        across_weft = math.sin(math.pi * v)
        for x in range(SIZE):
            i, tx = divmod(x, thread)
            u = (tx + 0.5) / thread
            across_warp = math.sin(math.pi * u)
            k = y * SIZE + x
            if over(i, j):
                # Warp on top: round across its width, arching over the crossing.
                top = across_warp**0.6 * (0.55 + 0.45 * across_weft)
                h[k] = top + fuzz * (fibre_v[k] - 0.5)
            else:
                top = across_weft**0.6 * (0.55 + 0.45 * across_warp)
                h[k] = top + fuzz * (fibre_h[k] - 0.5)
    return h


def make_fabric(out: Path) -> None:
    # Mode: a chunky plain weave (each thread over one, under one: a checker).
    mode = weave_height(8, lambda i, j: (i + j) % 2 == 0, seed=4012, fuzz=0.35)
    save_normal(out / "mode-weave.png", mode, strength=1.3)
    # Meld: a fine 2/2 twill, the diagonal rib typical of upholstery wool.
    meld = weave_height(4, lambda i, j: (i + j) % 4 < 2, seed=4107, fuzz=0.25)
    save_normal(out / "meld-weave.png", meld, strength=1.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    make_wood(out)
    make_linoleum(out)
    make_fabric(out)
    for p in sorted(out.glob("*.png")):
        print(f"{p.stat().st_size:>8}  {p}")


if __name__ == "__main__":
    main()
