"""Verifying a layered quality: stacked layers against full renders of the same colourings.

`sitegen verify-layers` picks random allowed colourings of each product, renders each in
full at the layered quality's own settings (a copy of the quality with layers off, film
opaque, Cycles' seed fixed at 0 by the worker as for every picture), gets the layers the
colouring is stacked from (rendered, or taken from a store when their fingerprints match),
composites them as the browser does, and compares.

Sampling (`sample_colourings`): uniform over a product's allowed colourings (its distinct
render keys), from the structural counts, never listing them: a kind is drawn with
probability proportional to its number of colourings, then its parts in kind order, each
value with probability proportional to the number of ways to colour the parts that read
it (the weights `count_colourings` sums). A draw whose key an earlier kind also produces is
rejected (so every key has one way in: the union stays uniform), and so is a repeat. When
N is at least the number of colourings, every colouring is taken. Each product has its own
random stream, seeded by the seed and the product id: a seed picks the same colourings of a
product whichever other products are verified with it.

Compositing, as the sketchbook does (templates/static/layers.js):

The backdrop holds the present parts as holdouts (black where a part covers a pixel, the
rest of an edge pixel's light beside it), so the backdrop and the part layers partition
every pixel's coverage and the stack is a plain sum:

- `composite`: what the page shows once a stack's layers are decoded (`stackLinear`,
  drawn into a canvas): in linear light: the sRGB curve undone on every 8-bit value, the
  backdrop plus each part layer's alpha times colour, clamped to 1, the curve redone,
  rounded to 8 bits; a pixel no layer touches is the backdrop's. The same tables as the
  page (32-bit floats for sRGB -> linear, 65,536 linear steps back), so the pixels are the
  page's.
- `composite_css`: the CSS stack the page shows before that, and instead of it where the
  pixels cannot be read (renders from another origin without CORS): display space, the
  backdrop and the part layers in one isolated group, each layer added with
  `mix-blend-mode: plus-lighter` (premultiplied colours added, clamped to 1); float maths,
  one rounding to 8 bits at the end (a browser may also round its group surface to 8 bits:
  at most half a level more).

The full pictures are rendered lossless (PNG) whatever the quality's format: the layers
are scored as the page receives them (encoded as the quality says, lossy or not) against
the render itself.

The verdict (and `psnr`, `ssim`) is on `composite`; `psnr_css`, `ssim_css` score the CSS
stack.

Comparing: PSNR over the R, G and B channels, 8-bit peak (255); SSIM on the luminance
(ITU-R BT.601 weights: 0.299 R + 0.587 G + 0.114 B, in 8-bit units) over 8x8
non-overlapping windows (the rightmost and bottom pixels that do not fill a window are
left out), C1 = (0.01 * 255)^2, C2 = (0.03 * 255)^2, sample variances, the mean over the
windows: the figures of docs/layers.md's first measurements are made the same way.
"""

from __future__ import annotations

import copy
import io
import math
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from sitegen.albedo import bounce_weight, finish_albedo, neutral_light
from sitegen.catalog.models import Catalog, Product, Quality
from sitegen.errors import SitegenError
from sitegen.expand import (
    Colouring,
    KindPlan,
    count_colourings,
    count_union,
    expand_product,
    iter_colourings,
    part_weights,
)
from sitegen.layers import colouring_bounces, colouring_layer_pictures
from sitegen.plan import (
    PICTURE_SETTINGS,
    Job,
    Stored,
    Wanted,
    fingerprint,
    is_current,
    render_inputs,
)
from sitegen.render import Event, PoolSettings
from sitegen.store import RenderStore

SSIM_WINDOW = 8
SSIM_NOTE = ("luminance (BT.601), 8x8 non-overlapping windows, C1=(0.01*255)^2, "
             "C2=(0.03*255)^2, mean over windows")
PSNR_NOTE = "R, G and B channels, peak 255"
DIFF_GAIN = 8  # the diff image: per pixel, the largest channel difference times this
JPEG_REFERENCE = 85  # a stack's weight is compared with the full picture as a JPEG at this

Image8 = NDArray[np.uint8]


# --- picking colourings ------------------------------------------------------------------

def _pick(choices: Sequence[int], weights: Sequence[int], rng: random.Random) -> int:
    """One of `choices`, with probability proportional to its (integer) weight: exact."""
    r = rng.randrange(sum(weights))
    for choice, weight in zip(choices, weights, strict=True):
        if r < weight:
            return choice
        r -= weight
    raise AssertionError("unreachable")


def draw_colouring(plan: KindPlan, weights: list[dict[int, int]], rng: random.Random
                   ) -> Colouring:
    """One colouring of the kind, uniformly among its allowed colourings."""
    values: list[int] = []
    for i, p in enumerate(plan.parts):
        choices = p.plain if p.source is None else p.choices(values[p.source])
        values.append(_pick(choices, [weights[i].get(v, 0) for v in choices], rng))
    return tuple(values)


def sample_colourings(plans: Sequence[KindPlan], count: int, rng: random.Random
                      ) -> list[tuple[KindPlan, Colouring]]:
    """`count` distinct allowed colourings of a product's kinds, uniformly at random (all
    of them when there are no more), each with the first kind that produces it; sorted by
    kind, then key."""
    sizes = [count_colourings(p) for p in plans]
    keyed: dict[str, tuple[int, Colouring]] = {}
    if count >= sum(sizes):  # at most `count` colourings: take every one
        for k, plan in enumerate(plans):
            for values in iter_colourings(plan):
                keyed.setdefault(plan.key(values), (k, values))
    else:
        weights = [part_weights(p) for p in plans]
        total = sum(sizes)
        distinct = total  # an upper bound, lowered when the draws run out (shared keys)
        misses = 0
        while len(keyed) < min(count, distinct):
            k = _pick(range(len(plans)), sizes, rng)
            values = draw_colouring(plans[k], weights[k], rng)
            mesh_values = plans[k].mesh_values(values)
            key = plans[k].key(values)
            if key in keyed or any(plans[j].colouring_of(mesh_values) is not None
                                   for j in range(k)):
                misses += 1
                if misses > 1000 * count:  # kinds overlapping far more than drawn: list them
                    distinct = len({p.key(v) for p in plans for v in iter_colourings(p)})
                    misses = 0
                continue
            keyed[key] = (k, values)
    return [(plans[k], values) for key, (k, values) in
            sorted(keyed.items(), key=lambda item: (item[1][0], item[0]))]


# --- what a colouring needs --------------------------------------------------------------

def colouring_wanted(catalog: Catalog, quality: Quality, product: Product, plan: KindPlan,
                     values: Sequence[int], view: str) -> list[Wanted]:
    """The layers a colouring is stacked from at a layered quality, as `wanted_renders`
    wants them (same addresses and values: the same fingerprints): backdrop first."""
    model = catalog.models[plan.model]
    return [Wanted(quality.id, model.id, view, picture.name, quality.ext,
                   tuple(zip(model.mesh_ids, picture.mesh_values, strict=True)), product.id,
                   False, picture.meshes, picture.bounce, model.spin_frame(view))
            for picture in colouring_layer_pictures(plan, values, quality.bounce)]


def full_quality(catalog: Catalog, quality: Quality) -> Quality:
    """The layered quality's settings for whole pictures: layers off, film opaque, lossless
    (PNG), no sizes: the reference the encoded layers are scored against."""
    name = f"{quality.id}-full"
    while name in catalog.qualities:
        name += "-verify"
    return quality.model_copy(update={"id": name, "layers": False, "bounce": False,
                                      "transparent": False, "primary": False,
                                      "format": "png", "sizes": []})


@dataclass
class Picture:
    """One colouring in one view: its full render and the layers it is stacked from."""

    product: str
    kind: str
    view: str
    key: str
    values: dict[str, int]  # part name -> finish (0: removed)
    full: Wanted
    layers: list[Wanted]  # backdrop first
    # bounce images (a quality with `bounce`): (stacked layer's index, the image, its
    # strips' weights, `bounce_weight` of the neighbours' finishes)
    bounce: list[tuple[int, Wanted, list[list[float]]]] = field(default_factory=list)
    scores: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {"product": self.product, "kind": self.kind, "view": self.view,
                "key": self.key, "values": self.values,
                "layers": [w.key for w in self.layers],
                **({"bounce": [w.key for _, w, _ in self.bounce]} if self.bounce else {}),
                **self.scores}


@dataclass
class Verification:
    """What to render and compare."""

    catalog: Catalog  # a copy of the catalog with the two verification qualities
    quality: Quality  # the layered quality (with the overrides)
    full: Quality  # its whole-picture twin
    seed: int
    count: int
    pictures: list[Picture]
    allowed: dict[str, int]  # product -> its number of allowed colourings (sampled from)


def plan_verification(catalog: Catalog, quality_id: str, products: Sequence[str], count: int,
                      seed: int, view: str | None = None,
                      overrides: Mapping[str, Any] | None = None) -> Verification:
    """Pick the colourings and list what each picture needs. Errors name what is wrong.

    `overrides`: quality settings to change for both the layers and the full pictures
    (samples, denoise, resolution...): the layers then no longer match a store's.
    """
    if quality_id not in catalog.qualities:
        raise SitegenError(f"unknown quality {quality_id!r} (known: "
                           f"{', '.join(catalog.qualities)})")
    base = catalog.qualities[quality_id]
    if not base.layers:
        layered = [q.id for q in catalog.qualities.values() if q.layers]
        raise SitegenError(
            f"quality {quality_id!r} is not layered (`layers: true`): there is nothing to "
            "verify; " + (f"layered qualities: {', '.join(layered)}" if layered
                          else "the catalog has no layered quality"))
    for product_id in products:
        if product_id not in catalog.products:
            raise SitegenError(f"unknown product {product_id!r} (known: "
                               f"{', '.join(catalog.products)})")
    unknown = sorted(set(overrides or {}) - (set(PICTURE_SETTINGS) - {"layers"} | {"bounce"}))
    if unknown:
        raise SitegenError(f"cannot override {', '.join(unknown)}")
    quality = base.model_copy(update=dict(overrides or {}))
    full = full_quality(catalog, quality)
    vcat = copy.copy(catalog)
    vcat.qualities = {**catalog.qualities, quality.id: quality, full.id: full}
    chosen = list(products) or list(catalog.products)
    if view is not None:
        models = {catalog.products[p].model for p in chosen}
        if not any(catalog.models[m].views_of(view) for m in models):
            views = sorted({v for m in models for v in catalog.models[m].view_choices})
            raise SitegenError(f"no chosen product has a view {view!r} (their views: "
                               f"{', '.join(views)})")
    pictures: list[Picture] = []
    allowed: dict[str, int] = {}
    for product_id in chosen:
        product = catalog.products[product_id]
        plans = expand_product(catalog, product)
        allowed[product_id] = count_union(plans)
        model = catalog.models[product.model]
        # A product's draw depends on the seed and its id only: the same colourings whatever
        # other products are verified with it.
        rng = random.Random(f"{seed}:{product_id}")
        for plan, values in sample_colourings(plans, count, rng):
            for v in model.views if view is None else model.views_of(view):
                key = plan.key(values)
                wanted = colouring_wanted(vcat, quality, product, plan, values, v)
                stack = [w for w in wanted if w.bounce is None]
                bounce = [(k, w, weights) for (k, _, weights), w in zip(
                    bounce_weights(catalog, plan, values) if quality.bounce else [],
                    wanted[len(stack):], strict=True)]
                full_wanted = Wanted(full.id, model.id, v, key, full.ext,
                                     tuple(zip(model.mesh_ids, plan.mesh_values(values),
                                               strict=True)), product.id, False, None,
                                     spin=model.spin_frame(v))
                pictures.append(Picture(
                    product.id, plan.kind, v, key,
                    dict(zip(plan.part_names, values, strict=True)), full_wanted, stack,
                    bounce))
    return Verification(vcat, quality, full, seed, count, pictures, allowed)


# --- compositing and comparing -----------------------------------------------------------

# sRGB -> linear per 8-bit value, as 32-bit floats (layers.js TO_LINEAR); linear -> sRGB
# through SRGB_STEPS + 1 steps (layers.js TO_SRGB).
SRGB_STEPS = 65535


def _srgb_to_linear(x: NDArray[np.float64]) -> NDArray[np.float64]:
    result: NDArray[np.float64] = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
    return result


def _linear_to_srgb(y: NDArray[np.float64]) -> NDArray[np.float64]:
    result: NDArray[np.float64] = np.where(y <= 0.0031308, y * 12.92,
                                           1.055 * y ** (1 / 2.4) - 0.055)
    return result


TO_LINEAR: NDArray[np.float64] = _srgb_to_linear(np.arange(256) / 255).astype(np.float32) \
    .astype(np.float64)
TO_SRGB: Image8 = np.floor(_linear_to_srgb(np.arange(SRGB_STEPS + 1) / SRGB_STEPS) * 255
                           + 0.5).astype(np.uint8)


# One strip of a bounce image (`strips`): (its stacked layer's index, 0 the backdrop, 1..
# the part layers; its pixels, h x w x 3; its weight, sitegen.albedo.bounce_weight).
BounceImage = tuple[int, Image8, Sequence[float]]


def composite(backdrop: Image8, layers: Sequence[Image8],
              bounce: Sequence[BounceImage] = ()) -> Image8:
    """The page's stack in linear light (layers.js `stackLinear`): the opaque backdrop (H x
    W x 3, its parts held out) plus the part layers' premultiplied colours (H x W x 4,
    straight alpha), in linear light, plus the neighbours' light (`bounce_light`), clamped
    to 1, back to 8-bit sRGB; pixels no layer touches (and no bounce image of the
    backdrop) are the backdrop's."""
    base = backdrop[..., :3]
    colour, alpha = _added(backdrop, layers, lambda rgb: TO_LINEAR[rgb])
    out = colour + TO_LINEAR[base]
    touched = alpha > 0
    h, w = base.shape[:2]
    for k in range(len(layers) + 1):
        images = [(image, weight) for i, image, weight in bounce if i == k]
        if not images:
            continue
        coverage = (np.maximum(0.0, 1.0 - alpha) if k == 0
                    else layers[k - 1][..., 3:4].astype(np.float64) / 255)
        out = out + coverage * bounce_light(images, w, h)
        if k == 0:
            touched = np.ones_like(touched)
    out = np.minimum(np.maximum(out, 0.0), 1.0)  # (a darker neighbour takes light away)
    steps = np.floor(out * SRGB_STEPS + 0.5).astype(np.int64)  # Math.round: half up
    result: Image8 = np.where(touched, TO_SRGB[steps], base).astype(np.uint8)
    return result


def strips(image: Image8, count: int) -> list[Image8]:
    """A bounce image's strips, top to bottom (one per neighbour, in strip order)."""
    if image.shape[0] % count:
        raise SitegenError(f"a bounce image {image.shape[0]} pixels high does not hold "
                           f"{count} strips")
    h = image.shape[0] // count
    return [image[i * h:(i + 1) * h] for i in range(count)]


def bounce_weights(catalog: Catalog, plan: KindPlan, values: Sequence[int]
                   ) -> list[tuple[int, str, list[list[float]]]]:
    """A colouring's bounce images (`colouring_bounces`) with the page's weights: (the
    stacked layer's index, the image's name, one weight per strip: its neighbour's finish
    as light against the neutral, sitegen.albedo.bounce_weight)."""
    neutral = neutral_light()
    return [(k, name, [bounce_weight(finish_albedo(catalog, f), neutral) for f in finishes])
            for k, name, finishes in colouring_bounces(plan, values)]


def weighted_strips(images: Iterable[tuple[int, Image8, Sequence[Sequence[float]]]]
                    ) -> list[BounceImage]:
    """`composite`'s bounce images: each decoded bounce image (its stacked layer's index,
    its pixels, its strips' weights) cut into its strips, each with its weight."""
    return [(k, strip, weight) for k, image, weights in images
            for strip, weight in zip(strips(image, len(weights)), weights, strict=True)]


def bounce_light(images: Sequence[tuple[Image8, Sequence[float]]], width: int, height: int
                 ) -> NDArray[np.float64]:
    """The light a layer's neighbours add per unit of its coverage (layers.js
    `bounceLight`): each bounce image (h x w x 3, sRGB-encoded) in linear light times its
    neighbour's colour, summed at the images' size, then upsampled bilinearly to width x
    height (pixel centres aligned, edges clamped)."""
    h, w = images[0][0].shape[:2]
    small = np.zeros((h, w, 3), dtype=np.float64)
    for image, weight in images:
        if image.shape[:2] != (h, w):
            raise ValueError(f"bounce images of one layer differ in size: {image.shape} "
                             f"and {images[0][0].shape}")
        small = small + np.asarray(weight, dtype=np.float64) * TO_LINEAR[image[..., :3]]

    def axis(n: int, size: int) -> tuple[NDArray[np.int64], NDArray[np.int64],
                                         NDArray[np.float64]]:
        u = np.minimum(np.maximum((np.arange(n) + 0.5) * size / n - 0.5, 0.0), size - 1.0)
        lo = np.floor(u).astype(np.int64)
        return lo, np.minimum(lo + 1, size - 1), u - lo

    x0, x1, fx = axis(width, w)
    y0, y1, fy = axis(height, h)
    fx, gx = fx[None, :, None], 1 - fx[None, :, None]
    fy, gy = fy[:, None, None], 1 - fy[:, None, None]
    top, bottom = small[y0], small[y1]
    result: NDArray[np.float64] = ((top[:, x0] * gx + top[:, x1] * fx) * gy
                                   + (bottom[:, x0] * gx + bottom[:, x1] * fx) * fy)
    return result


def _added(backdrop: Image8, layers: Sequence[Image8],
           colour_of: Callable[[Image8], NDArray[np.float64]]
           ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The part layers' premultiplied colours (`colour_of` their 8-bit RGB) and alphas,
    each summed over the layers (not clamped)."""
    colour = np.zeros(backdrop.shape[:2] + (3,), dtype=np.float64)
    alpha = np.zeros(backdrop.shape[:2] + (1,), dtype=np.float64)
    for layer in layers:
        if layer.shape[:2] != backdrop.shape[:2] or layer.shape[2] != 4:
            raise ValueError(f"a layer of shape {layer.shape} over a backdrop of shape "
                             f"{backdrop.shape}")
        a = layer[..., 3:4].astype(np.float64) / 255
        colour += a * colour_of(layer[..., :3])
        alpha += a
    return colour, alpha


def composite_css(backdrop: Image8, layers: Sequence[Image8]) -> Image8:
    """The page's CSS stack: the opaque backdrop (H x W x 3) and the part layers (H x W x 4,
    straight alpha) in one isolated group, each layer added (plus-lighter), in display
    space; 8-bit in, float maths, 8-bit out (rounded half up)."""
    base = backdrop[..., :3].astype(np.float64) / 255
    colour, _ = _added(backdrop, layers, lambda rgb: rgb.astype(np.float64) / 255)
    out = np.minimum(colour + base, 1.0)
    result: Image8 = np.floor(out * 255 + 0.5).astype(np.uint8)
    return result


def psnr(a: Image8, b: Image8) -> float:
    """PSNR in dB over the R, G and B channels, 8-bit peak; inf when identical."""
    diff = a[..., :3].astype(np.float64) - b[..., :3].astype(np.float64)
    mse = float(np.mean(diff * diff))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def luminance(image: Image8) -> NDArray[np.float64]:
    """BT.601 luma in 8-bit units, unrounded."""
    rgb = image[..., :3].astype(np.float64)
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114  # type: ignore[no-any-return]


def ssim(a: Image8, b: Image8, window: int = SSIM_WINDOW) -> float:
    """Mean SSIM of the luminance over window x window non-overlapping blocks."""
    la, lb = luminance(a), luminance(b)
    h, w = la.shape
    h, w = h - h % window, w - w % window
    if not h or not w:
        raise ValueError(f"a picture smaller than one {window}x{window} window")

    def blocks(x: NDArray[np.float64]) -> NDArray[np.float64]:
        return x[:h, :w].reshape(h // window, window, w // window, window).swapaxes(1, 2) \
            .reshape(h // window, w // window, window * window)

    xa, xb = blocks(la), blocks(lb)
    n = window * window
    ma, mb = xa.mean(axis=2), xb.mean(axis=2)
    da, db = xa - ma[..., None], xb - mb[..., None]
    va, vb = (da * da).sum(axis=2) / (n - 1), (db * db).sum(axis=2) / (n - 1)
    cov = (da * db).sum(axis=2) / (n - 1)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    scores = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))
    return float(scores.mean())


def diff_image(a: Image8, b: Image8, gain: int = DIFF_GAIN) -> Image8:
    """Per pixel, the largest channel difference times `gain` (grey, clipped)."""
    diff = np.abs(a[..., :3].astype(np.int16) - b[..., :3].astype(np.int16)).max(axis=2)
    result: Image8 = np.clip(diff * gain, 0, 255).astype(np.uint8)
    return result


def compare(full: Image8, backdrop: Image8, layers: Sequence[Image8],
            bounce: Sequence[BounceImage] = ()) -> tuple[Image8, dict[str, Any]]:
    """The composite and its scores against the full picture.

    Besides PSNR and SSIM, where the error is: `silhouette_share`, the share of pixels some
    layer covers only partly (0 < alpha < 255); `psnr_silhouette` / `psnr_interior` over
    those pixels and over all the others; `error_share`, the share of the squared error on
    silhouette pixels, on pixels parts cover fully, and on the backdrop alone (no layer
    covers them); `max_diff`, the largest channel difference in levels; `psnr_css` and
    `ssim_css`, the scores of the CSS stack (`composite_css`); with bounce images,
    `psnr_base`, the page's stack without them (what shows while they are missing).
    """
    stacked = composite(backdrop, layers, bounce)
    rgb = full[..., :3]
    if stacked.shape != rgb.shape:
        raise SitegenError(f"the layers ({stacked.shape[1]}x{stacked.shape[0]}) and the full "
                           f"picture ({full.shape[1]}x{full.shape[0]}) differ in size")
    edge = np.zeros(full.shape[:2], dtype=bool)
    covered = np.zeros(full.shape[:2], dtype=bool)
    for layer in layers:
        edge |= (layer[..., 3] > 0) & (layer[..., 3] < 255)
        covered |= layer[..., 3] > 0
    scores: dict[str, Any] = {"psnr": psnr(stacked, rgb), "ssim": ssim(stacked, rgb)}
    scores["psnr_silhouette"] = psnr(stacked[edge], rgb[edge]) if edge.any() else None
    scores["psnr_interior"] = psnr(stacked[~edge], rgb[~edge]) if (~edge).any() else None
    scores["silhouette_share"] = float(edge.mean())
    diff = stacked.astype(np.int32) - rgb.astype(np.int32)
    squared = (diff * diff).sum(axis=2)
    total = float(squared.sum()) or 1.0
    scores["error_share"] = {
        "silhouette": float(squared[edge].sum()) / total,
        "parts": float(squared[covered & ~edge].sum()) / total,
        "backdrop": float(squared[~covered].sum()) / total,
    }
    scores["max_diff"] = int(np.abs(diff).max())
    if bounce:
        scores["psnr_base"] = psnr(composite(backdrop, layers), rgb)
    css = composite_css(backdrop, layers)
    scores["psnr_css"] = psnr(css, rgb)
    scores["ssim_css"] = ssim(css, rgb)
    return stacked, scores


def weight_scores(full: Image8, layer_bytes: Sequence[bytes],
                  bounce_bytes: Sequence[bytes] = ()) -> dict[str, Any]:
    """What a stack weighs as the page downloads it (its files as stored, bounce images
    included) against the full picture as a JPEG at quality 85 (Pillow, 4:2:0), the usual
    weight of a shop's picture; `bounce_bytes`: the bounce images' share."""
    jpeg = io.BytesIO()
    Image.fromarray(full[..., :3], "RGB").save(jpeg, "JPEG", quality=JPEG_REFERENCE)
    extra = sum(len(b) for b in bounce_bytes)
    stack = sum(len(b) for b in layer_bytes) + extra
    return {"stack_bytes": stack, "bounce_bytes": extra, "jpeg_bytes": jpeg.tell(),
            "weight": stack / jpeg.tell()}


def decode(data: bytes, mode: str) -> Image8:
    """A picture file's pixels as an H x W x channels uint8 array ("RGB" or "RGBA")."""
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert(mode), dtype=np.uint8).copy()


# --- running it --------------------------------------------------------------------------

@dataclass
class Report:
    """The outcome of a verification."""

    verification: Verification
    pictures: list[Picture]
    rendered_full: int = 0
    rendered_layers: int = 0
    taken_layers: int = 0  # layers read from the given store
    seconds: float = 0.0
    render_seconds: dict[str, list[float]] = field(default_factory=dict)  # full/backdrop/part

    @property
    def worst(self) -> Picture | None:
        return min(self.pictures, key=lambda p: p.scores["psnr"], default=None)

    def worst_psnr(self) -> float:
        worst = self.worst
        return worst.scores["psnr"] if worst is not None else math.inf

    def by_product(self) -> dict[str, dict[str, Any]]:
        """Per product: pictures compared, worst PSNR and worst SSIM."""
        out: dict[str, dict[str, Any]] = {}
        for p in self.pictures:
            row = out.setdefault(p.product, {"pictures": 0, "worst_psnr": math.inf,
                                             "worst_ssim": 1.0, "worst_psnr_css": math.inf,
                                             "worst_ssim_css": 1.0, "max_weight": 0.0})
            row["pictures"] += 1
            row["max_weight"] = max(row["max_weight"], p.scores.get("weight", 0.0))
            row["worst_psnr"] = min(row["worst_psnr"], p.scores["psnr"])
            row["worst_ssim"] = min(row["worst_ssim"], p.scores["ssim"])
            row["worst_psnr_css"] = min(row["worst_psnr_css"], p.scores["psnr_css"])
            row["worst_ssim_css"] = min(row["worst_ssim_css"], p.scores["ssim_css"])
            if "psnr_base" in p.scores:
                row["worst_psnr_base"] = min(row.get("worst_psnr_base", math.inf),
                                             p.scores["psnr_base"])
        return out

    def as_json(self, min_psnr: float) -> dict[str, Any]:
        v = self.verification
        q = v.quality
        worst = self.worst
        data: dict[str, Any] = _finite({
            "quality": q.id,
            "settings": {k: getattr(q, k) for k in ("engine", "samples", "resolution", "format",
                                                    "jpeg_quality", "denoise", "bounce")},
            "seed": v.seed,
            "count": v.count,
            "allowed": v.allowed,
            "psnr": PSNR_NOTE,
            "ssim": SSIM_NOTE,
            "pictures": [p.describe() for p in self.pictures],
            "products": self.by_product(),
            "worst": worst.describe() if worst is not None else None,
            "worst_psnr": self.worst_psnr(),
            "worst_ssim": min((p.scores["ssim"] for p in self.pictures), default=None),
            "worst_psnr_css": min((p.scores["psnr_css"] for p in self.pictures),
                                  default=None),
            "worst_psnr_base": min((p.scores["psnr_base"] for p in self.pictures
                                    if "psnr_base" in p.scores), default=None),
            "worst_ssim_css": min((p.scores["ssim_css"] for p in self.pictures),
                                  default=None),
            "stack": "linear light, as the page's canvas (layers.js stackLinear); *_css: "
                     "the CSS stack (plus-lighter in display space)",
            "min_psnr": min_psnr,
            "ok": self.worst_psnr() >= min_psnr,
            "renders": {"full": self.rendered_full, "layers": self.rendered_layers,
                        "layers_from_store": self.taken_layers,
                        "seconds": round(self.seconds, 2),
                        "render_seconds": {k: round(sum(s), 2)
                                           for k, s in self.render_seconds.items()}},
        })
        return data


def _finite(data: Any) -> Any:
    """JSON has no infinity: an infinite PSNR (identical pictures) is written as null."""
    if isinstance(data, float) and math.isinf(data):
        return None
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_finite(v) for v in data]
    return data


def _render_kind(w: Wanted) -> str:
    return ("full" if w.layer is None else "bounce" if w.bounce is not None
            else "backdrop" if not w.layer else "part")


def run_verification(verification: Verification, settings: PoolSettings, *,
                     store: RenderStore | None = None, out: Path | None = None,
                     on_event: Callable[[Event], None] = lambda e: None) -> Report:
    """Render what is missing into a temporary store, stack, compare.

    `store`: a render store to take layers from (those whose fingerprint matches exactly);
    it is only read. `settings`: the render pool's `PoolSettings`. `on_event` gets
    `{"event": "plan", "render": n, ...}`, the render pool's events, then
    `{"event": "compared", ...}` per picture.
    """
    from sitegen.catalog import file_hashes
    from sitegen.render import render_jobs
    from sitegen.render.blender import find_blender
    from sitegen.store import FolderStore

    v = verification
    start = time.perf_counter()
    hashes = file_hashes(v.catalog)
    version = find_blender(settings.blender).version
    held: Mapping[str, Stored] = store.stored(v.quality.id) if store is not None else {}
    jobs: dict[str, Job] = {}
    taken: set[str] = set()
    for picture in v.pictures:
        for w in [picture.full, *picture.layers, *(b for _, b, _ in picture.bounce)]:
            if w.address in jobs or w.address in taken:
                continue
            inputs = render_inputs(v.catalog, w, hashes, version)
            fp = fingerprint(inputs)
            stored = held.get(w.address)
            if (w.layer is not None and stored is not None and stored.fingerprint is not None
                    and is_current(stored, inputs)):
                taken.add(w.address)
            else:
                jobs[w.address] = Job(w, fp, inputs, "verify")
    report = Report(v, v.pictures, taken_layers=len(taken))
    on_event({"event": "plan", "render": len(jobs), "from_store": len(taken),
              "pictures": len(v.pictures)})
    # Layers before full pictures, model by model: one `open` per (quality, model).
    order = sorted(jobs.values(), key=lambda j: (j.wanted.model, j.wanted.layer is None))
    with tempfile.TemporaryDirectory(prefix="sitegen-verify-") as tmp:
        temp = FolderStore(Path(tmp))
        seconds: dict[str, list[float]] = {}

        def on_render(event: Event) -> None:
            if event.get("event") == "rendered":
                kind = _render_kind(jobs[event["address"]].wanted)
                seconds.setdefault(kind, []).append(float(event["seconds"]))
            on_event(event)

        try:
            summary = render_jobs(v.catalog, temp, order, settings, on_render)
        finally:
            temp.close()
        if summary.refused:
            model, _, problems = summary.refused[0]
            raise SitegenError(f"model {model!r} failed its check, nothing of it was "
                               f"rendered: {'; '.join(problems)}")
        if summary.failed:
            address, reason = summary.failed[0]
            raise SitegenError(f"{len(summary.failed)} render(s) failed, e.g. {address}: "
                               f"{reason}")
        report.render_seconds = seconds
        report.rendered_full = sum(1 for j in jobs.values() if j.wanted.layer is None)
        report.rendered_layers = len(jobs) - report.rendered_full

        def read(w: Wanted) -> bytes:
            data = (temp.read_file(w.address) if w.address in jobs or store is None
                    else store.read_file(w.address))
            if data is None:
                raise SitegenError(f"{w.address}: the picture is missing")
            return data

        for picture in v.pictures:
            full_bytes = read(picture.full)
            layer_bytes = [read(w) for w in picture.layers]
            bounce_bytes = [read(w) for _, w, _ in picture.bounce]
            full = decode(full_bytes, "RGB")
            stacked, scores = compare(
                full, decode(layer_bytes[0], "RGB"),
                [decode(b, "RGBA") for b in layer_bytes[1:]],
                weighted_strips((k, decode(data, "RGB"), weights) for (k, _, weights), data
                                in zip(picture.bounce, bounce_bytes, strict=True)))
            scores.update(weight_scores(full, layer_bytes, bounce_bytes))
            picture.scores = scores
            if out is not None:
                _keep(out, picture, full_bytes, layer_bytes + bounce_bytes, full, stacked)
            on_event({"event": "compared", **_finite(picture.describe())})
    report.seconds = time.perf_counter() - start
    return report


def picture_folder(out: Path, picture: Picture) -> Path:
    """Where --out keeps a picture's files: <out>/<product>/<view>/<key>/."""
    return out / picture.product / picture.view / picture.key


def _keep(out: Path, picture: Picture, full_bytes: bytes, layer_bytes: list[bytes],
          full: Image8, stacked: Image8) -> None:
    folder = picture_folder(out, picture)
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "layers").mkdir(parents=True)
    (folder / f"full.{picture.full.ext}").write_bytes(full_bytes)
    for w, data in zip(picture.layers + [b for _, b, _ in picture.bounce], layer_bytes,
                       strict=True):
        (folder / "layers" / f"{w.key}.{w.ext}").write_bytes(data)
    Image.fromarray(stacked, "RGB").save(folder / "composite.png")
    Image.fromarray(diff_image(stacked, full), "L").save(folder / f"diff-x{DIFF_GAIN}.png")


def iter_report_lines(report: Report, min_psnr: float) -> Iterator[str]:
    """The readable report: one line per picture, per product, the worst, the verdict."""
    v = report.verification
    q = v.quality
    yield (f"quality {q.id}: {q.engine} {q.samples} samples {q.resolution[0]}x"
           f"{q.resolution[1]} {q.format} denoise {q.denoise}; seed {v.seed}, up to {v.count} "
           "colouring(s) per product, uniform over the allowed ones")
    yield (f"rendered {report.rendered_full} full picture(s) and {report.rendered_layers} "
           f"layer(s)" + (" (bounce images included)" if q.bounce else "")
           + (f", took {report.taken_layers} layer(s) from the store"
              if report.taken_layers else "")
           + f" in {report.seconds:.1f} s")
    yield ("stacked in linear light as the page's canvas does; CSS STACK: the PSNR of the "
           "CSS stack (plus-lighter in display space) the page shows before, or instead")
    # Silhouette pixels: some layer covers them only partly; their share of the pixels and
    # of the squared error, and the PSNR over every other pixel.
    # WEIGHT: the stack's files against the full picture as a JPEG at quality 85.
    # WITHOUT BOUNCE (a quality with bounce images): the page's stack without them.
    bounce = q.bounce
    rows = [("PRODUCT", "VIEW", "COLOURING", "PSNR", "SSIM", "SILHOUETTE PX", "ITS ERROR",
             "PSNR ELSEWHERE", "CSS STACK") + (("WITHOUT BOUNCE",) if bounce else ())
            + ("WEIGHT",)]
    for p in report.pictures:
        sc = p.scores
        rows.append((p.product, p.view, p.key, _db(sc["psnr"]), f"{sc['ssim']:.4f}",
                     f"{100 * sc['silhouette_share']:.1f}%",
                     f"{100 * sc['error_share']['silhouette']:.0f}%",
                     _db(sc["psnr_interior"]), _db(sc["psnr_css"]))
                    + ((_db(sc.get("psnr_base")),) if bounce else ())
                    + (f"{sc['stack_bytes'] / 1024:.1f} KiB = {sc['weight']:.2f} x JPEG"
                       + (f" ({sc['bounce_bytes'] / 1024:.1f} KiB bounce)" if bounce else ""),))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        yield "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
    for product, worst_of in report.by_product().items():
        yield (f"{product}: {worst_of['pictures']} picture(s), worst PSNR "
               f"{_db(worst_of['worst_psnr'])}, worst SSIM {worst_of['worst_ssim']:.4f} (CSS "
               f"stack: {_db(worst_of['worst_psnr_css'])}, {worst_of['worst_ssim_css']:.4f}"
               + (f"; without bounce: {_db(worst_of['worst_psnr_base'])}"
                  if "worst_psnr_base" in worst_of else "") + "); "
               f"heaviest stack {worst_of['max_weight']:.2f} x its JPEG")
    worst = report.worst
    if worst is None:
        yield "nothing to compare"
        return
    worst_ssim = min(p.scores["ssim"] for p in report.pictures)
    yield (f"worst: {worst.product} {worst.view} {worst.key}: PSNR {_db(worst.scores['psnr'])}"
           f"; worst SSIM {worst_ssim:.4f} (PSNR over {PSNR_NOTE}; SSIM on {SSIM_NOTE})")
    verdict = "ok" if report.worst_psnr() >= min_psnr else "FAILED"
    yield f"{verdict}: worst PSNR {_db(report.worst_psnr())}, aim >= {min_psnr:g} dB"


def _db(value: float | None) -> str:
    if value is None:
        return "-"
    return "identical" if math.isinf(value) else f"{value:.2f} dB"
