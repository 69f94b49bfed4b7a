"""A finish's colour as light: what a neighbour of that finish bounces (docs/layers.md).

The page weighs each bounce image by the linear colour of the neighbour's finish: its
`color` with the sRGB curve undone, or, for a finish with a diffuse texture (which replaces
the colour in the material, blender/worker.py), the mean of the texture's pixels in linear
light. Computed on the host (once per finish and texture content), rounded to 5 decimals:
the page and `sitegen verify-layers` use the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

from sitegen.catalog.models import Catalog
from sitegen.errors import SitegenError

DECIMALS = 5


def _linear(x: float) -> float:
    return x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4


def colour_light(hexcode: str) -> tuple[float, float, float]:
    """A `#rrggbb` colour in linear RGB."""
    h = hexcode.lstrip("#")
    r, g, b = (_linear(int(h[i:i + 2], 16) / 255) for i in (0, 2, 4))
    return r, g, b


def finish_albedo(catalog: Catalog, finish: int) -> tuple[float, float, float]:
    """The linear RGB colour (0..1) a finish bounces, by the rule above."""
    from sitegen.plan import finish_material

    key = ("albedo", finish)
    cached = catalog.memo.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    material = finish_material(catalog, catalog.finishes[finish])
    texture = material["diffuse"]
    r, g, b = texture_mean(texture) if texture else colour_light(material["color"])
    value = (round(r, DECIMALS), round(g, DECIMALS), round(b, DECIMALS))
    catalog.memo[key] = value
    return value


def neutral_light() -> tuple[float, float, float]:
    """The layers' neutral grey as light (what the neighbours are in the base layers)."""
    from sitegen.layers import NEUTRAL_MATERIAL

    r, g, b = colour_light(str(NEUTRAL_MATERIAL["color"]))
    return (round(r, DECIMALS), round(g, DECIMALS), round(b, DECIMALS))


def bounce_weight(light: Sequence[float], neutral: Sequence[float]) -> list[float]:
    """A bounce strip's weight on the page (layers.js `bounceWeight`): (c - g) / (1 - g)
    per channel, c the neighbour's finish as light, g the neutral's. A strip holds what
    the neighbour adds white instead of grey; first order, light is linear in its colour."""
    return [(c - g) / (1 - g) for c, g in zip(light, neutral, strict=True)]


def texture_mean(path: str) -> tuple[float, float, float]:
    """The mean linear RGB of an image file's pixels (alpha ignored)."""
    import numpy as np
    from PIL import Image

    try:
        with Image.open(path) as image:
            rgb = np.asarray(image.convert("RGB"), dtype=np.float64) / 255
    except OSError as e:
        raise SitegenError(f"{path}: cannot read the diffuse texture: {e}") from None
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    mean = lin.reshape(-1, 3).mean(axis=0)
    return float(mean[0]), float(mean[1]), float(mean[2])
