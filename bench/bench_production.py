"""Layers at production size (issue 11): the crop, the weight, the exact edges, the build.

Run on the demo and on `bench/unseen.py`'s model (boxes, a post, a sphere and a bar on a
floor: contact shadows everywhere, its own lights and view transform), made for this
benchmark and never used to choose a setting. Eight benchmarks (bench/README.md):

- `crop`: a sample of part layers rendered twice in one pool run, interleaved, cropped to
  their screen bounds and over the whole frame (the worker's `"crop": false`), and a few
  backdrops; the worker's own render time of each. Figures: the median part layer over the
  median backdrop, cropped and uncropped (aim <= 0.2), and how equal the two renders of a
  layer are (PSNR over premultiplied RGBA).
- `encodings`: the layers rendered lossless, then WebP (lossless, 95 to 80) and AVIF (90 to
  70) tried on them: worst PSNR of the page's stack and its weight, per encoding; what
  chose the demo's `jpeg_quality`.
- `verify`: `sitegen verify-layers` at the shipped quality (encoded layers against lossless
  full renders): worst PSNR (aim >= 40 dB at 64 samples) and what a stack weighs against
  the full picture as a JPEG at quality 85 (aim <= 1.5x).
- `bounce` (issue 15): `sitegen verify-layers` on the same colourings without and with the
  neighbours' light (`bounce: false` / `true`, the rest of the quality as shipped): worst
  PSNR of each (aim with it >= 43 dB on the unseen model), the render time of the layers
  with their bounce images against the layers without (aim <= 1.3x), and the bytes per
  picture (aim <= 1.1x). The unseen model's products include one whose post is polished.
- `bounce_encodings`: the layers and their bounce images rendered lossless once, the layers
  then encoded as shipped and the bounce images in each of a few WebP settings (Blender's
  old quality 50 at method 4, Pillow's method 6 at 50 to 90, lossless): worst PSNR of the
  page's stack and the bounce images' bytes against the stack's; what chose BOUNCE_QUALITY.
  Then the bounce images as shipped and the layers in WebP (85 to 95, lossless) and AVIF
  (75 to 85): worst PSNR with and without the bounce images, and the stack's weight against
  the JPEG; what limits the stack.
- `alpha_effort`: a sample of part layers rendered lossless, then encoded as the worker
  writes them (WebP, method 6) with lossless alpha at libwebp's greatest effort (Pillow's
  `alpha_quality=100`, shipped) and at 99: encode seconds and bytes of each.
- `build`: what `make build` renders for the demo, before (the demo's old layered quality:
  480x360, lossless WebP, every layer over the whole frame) and after (its quality now,
  cropped), in one run: seconds of render (aim: after <= half of before).
"""

from __future__ import annotations

import copy
import dataclasses
import io
import random
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

import sitegen.render as render_mod
from sitegen.catalog import Catalog, file_hashes
from sitegen.catalog.load import load_catalog
from sitegen.catalog.models import Quality
from sitegen.plan import Job, Wanted, fingerprint, render_inputs, wanted_renders
from sitegen.render import PoolSettings, default_workers, render_jobs
from sitegen.store import FolderStore
from sitegen.verify import (
    BounceImage,
    Image8,
    composite,
    decode,
    picture_folder,
    plan_verification,
    psnr,
    run_verification,
    weight_scores,
    weighted_strips,
)

SECTION = "production"

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "catalog"
UNSEEN_SEED = 1
UNSEEN_RESOLUTION = (800, 600)
CROP_PARTS = 8  # part layers per model, each rendered cropped and not
CROP_BACKDROPS = 3
CROP_SEED = 5
VERIFY_COUNT = 2  # colourings per product (every view): 10 demo pictures
UNSEEN_COUNT = 3  # 6 pictures of the unseen model
VERIFY_SEED = 1
AIM_RATIO = 0.2
AIM_WEIGHT = 1.5
AIM_PSNR = 40.0
# The demo's layered quality before issue 11 (catalog/qualities.yaml until 2026-12-01).
BEFORE = {"engine": "cycles", "samples": 64, "resolution": [480, 360], "format": "webp",
          "jpeg_quality": 100, "denoise": "fast", "layers": True}
UNCROPPED = "-uncropped"


@contextmanager
def uncropped_twins() -> Iterator[None]:
    """Part layers of a quality whose id ends with UNCROPPED render over the whole frame."""
    original = render_mod.render_fields

    def fields(wanted: Wanted) -> Any:
        out = original(wanted)
        if wanted.quality.endswith(UNCROPPED) and "layer" in out and wanted.layer:
            out["layer"] = {**out["layer"], "crop": False}
        return out

    render_mod.render_fields = fields
    try:
        yield
    finally:
        render_mod.render_fields = original


def with_quality(catalog: Catalog, quality: Quality) -> Catalog:
    """A shallow copy of the catalog with one more quality."""
    out = copy.copy(catalog)
    out.qualities = {**catalog.qualities, quality.id: quality}
    return out


def render_all(catalog: Catalog, wanted: Sequence[Wanted], root: Path) -> dict[str, Any]:
    """Render in one pool run; per address the `rendered` event (its timings, border)."""
    hashes = file_hashes(catalog)
    jobs = []
    for w in wanted:
        inputs = render_inputs(catalog, w, hashes)
        jobs.append(Job(w, fingerprint(inputs), inputs, "bench"))
    events: dict[str, Any] = {}

    def on_event(event: dict[str, Any]) -> None:
        if event["event"] == "rendered":
            events[event["address"]] = event

    store = FolderStore(root)
    t0 = time.perf_counter()
    with uncropped_twins():
        summary = render_jobs(catalog, store, jobs, PoolSettings(workers=default_workers()),
                              on_event)
    store.close()
    if summary.failed:
        raise RuntimeError(f"{len(summary.failed)} render(s) failed: {summary.failed[:2]}")
    return {"events": events, "wall_s": time.perf_counter() - t0}


def render_seconds(event: dict[str, Any]) -> float:
    return float(event.get("timings", {}).get("render", event["seconds"]))


def premultiplied(data: bytes) -> Image8:
    rgba = decode(data, "RGBA").astype(np.float64)
    rgba[..., :3] *= rgba[..., 3:4] / 255
    out: Image8 = np.clip(np.floor(rgba + 0.5), 0, 255).astype(np.uint8)
    return out


def crop(catalog: Catalog, quality_id: str, products: Sequence[str] = ()) -> dict[str, Any]:
    quality = catalog.qualities[quality_id]
    layers = [w for w in wanted_renders(catalog, quality=quality_id, products=products)
              if w.layer is not None]
    rng = random.Random(CROP_SEED)
    part_layers = [w for w in layers if w.layer]
    parts = rng.sample(part_layers, min(CROP_PARTS, len(part_layers)))
    backdrops = rng.sample([w for w in layers if not w.layer],
                           min(CROP_BACKDROPS, sum(1 for w in layers if not w.layer)))
    twin = quality.model_copy(update={"id": quality_id + UNCROPPED, "primary": False})
    cat = with_quality(catalog, twin)
    twins = [dataclasses.replace(w, quality=twin.id) for w in parts]
    order = backdrops + [w for pair in zip(parts, twins, strict=True) for w in pair]
    with tempfile.TemporaryDirectory(prefix="sitegen-bench-crop-") as tmp:
        run = render_all(cat, order, Path(tmp))
        ev = run["events"]
        same = [psnr(premultiplied((Path(tmp) / a.address).read_bytes()),
                     premultiplied((Path(tmp) / b.address).read_bytes()))
                for a, b in zip(parts, twins, strict=True)]
    w, h = quality.resolution
    areas = []
    for p in parts:
        border = ev[p.address].get("border")
        areas.append(1.0 if border is None
                     else (border[2] - border[0]) * (border[3] - border[1]) / (w * h))
    def split(items: Sequence[Wanted]) -> dict[str, float]:
        names = {k for w in items for k in ev[w.address].get("timings", {})}
        return {k: statistics.median(ev[w.address]["timings"].get(k, 0.0) for w in items)
                for k in sorted(names)}

    back = statistics.median(render_seconds(ev[b.address]) for b in backdrops)
    cropped = statistics.median(render_seconds(ev[p.address]) for p in parts)
    full = statistics.median(render_seconds(ev[t.address]) for t in twins)
    return {
        "quality": {k: getattr(quality, k) for k in ("id", "samples", "resolution", "format",
                                                     "jpeg_quality", "denoise")},
        "parts": [p.address for p in parts], "backdrops": [b.address for b in backdrops],
        "median_backdrop_s": back, "median_part_cropped_s": cropped,
        "median_part_uncropped_s": full,
        "ratio_cropped": cropped / back, "ratio_uncropped": full / back,
        "speedup": full / cropped, "aim_ratio": AIM_RATIO,
        "aim_met": cropped / back <= AIM_RATIO,
        "mean_border_share": statistics.fmean(areas),
        "median_timings": {"backdrop": split(backdrops), "part_cropped": split(parts),
                           "part_uncropped": split(twins)},
        "cropped_vs_uncropped_min_psnr": min(same),
        "wall_s": run["wall_s"],
    }


def verify(catalog: Catalog, quality_id: str, products: Sequence[str] = (),
           count: int = VERIFY_COUNT) -> dict[str, Any]:
    v = plan_verification(catalog, quality_id, list(products), count, VERIFY_SEED)
    report = run_verification(v, PoolSettings(workers=default_workers()))
    data = report.as_json(AIM_PSNR)
    weights = [p.scores["weight"] for p in report.pictures]
    return {
        "settings": data["settings"], "pictures": len(report.pictures),
        "worst_psnr": data["worst_psnr"], "worst": data["worst"] and {
            k: data["worst"][k] for k in ("product", "view", "key")},
        "worst_psnr_css": data["worst_psnr_css"], "worst_ssim": data["worst_ssim"],
        "products": data["products"],
        "weight_median": statistics.median(weights), "weight_max": max(weights),
        "stack_kib_median": statistics.median(p.scores["stack_bytes"] / 1024
                                              for p in report.pictures),
        "jpeg_kib_median": statistics.median(p.scores["jpeg_bytes"] / 1024
                                             for p in report.pictures),
        "aim_psnr": AIM_PSNR, "aim_weight": AIM_WEIGHT,
        "aim_met": data["ok"] and max(weights) <= AIM_WEIGHT,
        "seconds": report.seconds,
    }


AIM_BOUNCE_PSNR = 43.0
AIM_BOUNCE_TIME = 1.3
AIM_BOUNCE_BYTES = 1.1
BOUNCE_VIEW = "main"  # the unseen model: one view (the pictures take minutes each)
BOUNCE_UNSEEN_COUNT = 2  # per product: 4 pictures


def bounce(catalog: Catalog, quality_id: str, products: Sequence[str] = (),
           count: int = VERIFY_COUNT, view: str | None = None) -> dict[str, Any]:
    """The same colourings verified without, then with, the neighbours' light."""
    runs = {}
    for on in (False, True):
        v = plan_verification(catalog, quality_id, list(products), count, VERIFY_SEED, view,
                              {"bounce": on})
        runs[on] = run_verification(v, PoolSettings(workers=default_workers()))
    off, with_it = runs[False], runs[True]

    def layer_seconds(report: Any, kinds: Sequence[str]) -> float:
        return sum(sum(report.render_seconds.get(k, [])) for k in kinds)

    base_s = layer_seconds(off, ("backdrop", "part"))
    bounce_s = layer_seconds(with_it, ("backdrop", "part", "bounce"))
    extra_bytes = [b.scores["stack_bytes"] / a.scores["stack_bytes"]
                   for a, b in zip(off.pictures, with_it.pictures, strict=True)]
    worst_base = min(p.scores["psnr_base"] for p in with_it.pictures)
    data = {
        "pictures": len(off.pictures),
        "worst_psnr_without": off.worst_psnr(), "worst_psnr_with": with_it.worst_psnr(),
        "worst_psnr_base": worst_base,
        "per_picture": [{"product": a.product, "view": a.view, "key": a.key,
                         "psnr_without": a.scores["psnr"], "psnr_with": b.scores["psnr"],
                         "psnr_base": b.scores["psnr_base"],
                         "bytes_without": a.scores["stack_bytes"],
                         "bytes_with": b.scores["stack_bytes"],
                         "bounce_bytes": b.scores["bounce_bytes"]}
                        for a, b in zip(off.pictures, with_it.pictures, strict=True)],
        "layer_render_s_without": base_s, "layer_render_s_with": bounce_s,
        "bounce_render_s": layer_seconds(with_it, ("bounce",)),
        "time_ratio": bounce_s / base_s,
        "bytes_ratio_median": statistics.median(extra_bytes),
        "bytes_ratio_max": max(extra_bytes),
        "aims": {"psnr": AIM_BOUNCE_PSNR, "time": AIM_BOUNCE_TIME, "bytes": AIM_BOUNCE_BYTES},
    }
    data["aim_met"] = (data["worst_psnr_with"] >= AIM_BOUNCE_PSNR
                       and data["time_ratio"] <= AIM_BOUNCE_TIME
                       and data["bytes_ratio_max"] <= AIM_BOUNCE_BYTES)
    return data


ENCODINGS: list[tuple[str, str, int]] = [  # (name, Pillow format, quality)
    ("webp lossless", "WEBP", 100), ("webp 95", "WEBP", 95), ("webp 90", "WEBP", 90),
    ("webp 85", "WEBP", 85), ("webp 80", "WEBP", 80), ("avif 90", "AVIF", 90),
    ("avif 80", "AVIF", 80), ("avif 70", "AVIF", 70)]


def _encode(pixels: Image8, fmt: str, quality: int, method: int = 6) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    image = Image.fromarray(pixels, "RGBA" if pixels.shape[2] == 4 else "RGB")
    if fmt == "WEBP" and quality >= 100:
        image.save(out, fmt, lossless=True, quality=100, method=method)
    elif fmt == "WEBP":
        image.save(out, fmt, quality=quality, method=method, alpha_quality=100)
    else:
        image.save(out, fmt, quality=quality)
    return out.getvalue()


def encodings(catalog: Catalog, quality_id: str, count: int = VERIFY_COUNT,
              products: Sequence[str] = (), overrides: dict[str, Any] | None = None
              ) -> dict[str, Any]:
    """The quality's layers rendered lossless (PNG), then each encoding tried on them in
    memory: the page's stack of the decoded files against the lossless full render, and
    the stack's bytes against the full picture as a JPEG at quality 85."""
    v = plan_verification(catalog, quality_id, list(products), count, VERIFY_SEED,
                          overrides={**(overrides or {}), "format": "png"})
    with tempfile.TemporaryDirectory(prefix="sitegen-bench-enc-") as tmp:
        report = run_verification(v, PoolSettings(workers=default_workers()), out=Path(tmp))
        lossless = {"psnr": [p.scores["psnr"] for p in report.pictures]}
        results: dict[str, dict[str, list[float]]] = {n: {"psnr": [], "weight": []}
                                                      for n, _, _ in ENCODINGS}
        for picture in report.pictures:
            folder = picture_folder(Path(tmp), picture)
            full = decode((folder / "full.png").read_bytes(), "RGB")
            layers = [decode((folder / "layers" / f"{w.key}.png").read_bytes(),
                             "RGB" if not w.layer else "RGBA") for w in picture.layers]
            jpeg = weight_scores(full, [])["jpeg_bytes"]
            for name, fmt, quality in ENCODINGS:
                files = [_encode(x, fmt, quality) for x in layers]
                back = [decode(f, "RGB" if i == 0 else "RGBA") for i, f in enumerate(files)]
                results[name]["psnr"].append(psnr(composite(back[0], back[1:]), full))
                results[name]["weight"].append(sum(map(len, files)) / jpeg)
    return {"settings": report.as_json(AIM_PSNR)["settings"], "pictures": len(report.pictures),
            "worst_psnr_png": min(lossless["psnr"]),
            "encodings": {n: {"worst_psnr": min(r["psnr"]), "median_weight":
                              statistics.median(r["weight"]), "max_weight": max(r["weight"])}
                          for n, r in results.items()},
            "note": "Pillow's encoders on the lossless layers (the worker writes lossy WebP "
                    "with Pillow at method 6 too, as the host writes sizes and thumbnails)"}


BOUNCE_ENCODINGS: list[tuple[str, int, int]] = [  # (name, WebP quality, method)
    ("webp 50 method 4 (before: Blender's writer)", 50, 4), ("webp 50", 50, 6),
    ("webp 60", 60, 6), ("webp 75 (shipped)", 75, 6), ("webp 85", 85, 6), ("webp 90", 90, 6),
    ("webp lossless", 100, 6)]
# What the worker writes bounce images at (its constant, read from its source: it imports bpy).
_FOUND = re.search(r"^BOUNCE_QUALITY = (\d+)", (ROOT / "blender" / "worker.py").read_text(),
                   re.M)
assert _FOUND, "blender/worker.py has no BOUNCE_QUALITY"
BOUNCE_QUALITY = int(_FOUND[1])
# The layers' encodings tried under shipped bounce images: (name, Pillow format, quality;
# AVIF at Pillow's defaults: 4:2:0, its alpha lossy at the same quality).
LAYER_ENCODINGS: list[tuple[str, str, int]] = [
    ("webp 85", "WEBP", 85), ("webp 88 (the demo's)", "WEBP", 88), ("webp 90", "WEBP", 90),
    ("webp 92", "WEBP", 92), ("webp 95", "WEBP", 95), ("webp lossless", "WEBP", 100),
    ("avif 75", "AVIF", 75), ("avif 80", "AVIF", 80), ("avif 85", "AVIF", 85)]


def bounce_encodings(catalog: Catalog, quality_id: str, products: Sequence[str] = (),
                     count: int = VERIFY_COUNT, view: str | None = None) -> dict[str, Any]:
    """The quality's layers and bounce images rendered lossless (PNG) once, then two sweeps
    of the page's stack against the lossless full render: the layers encoded as the
    quality ships them (WebP at its `jpeg_quality`, method 6) and each bounce image in each
    of BOUNCE_ENCODINGS (the bounce images' bytes against the stack's); the bounce images
    as shipped (WebP at BOUNCE_QUALITY) and the layers in each of LAYER_ENCODINGS (worst
    PSNR with and without the bounce images, the stack's bytes against the full picture as
    a JPEG at quality 85): what the error left comes from."""
    v = plan_verification(catalog, quality_id, list(products), count, VERIFY_SEED, view,
                          {"format": "png", "bounce": True})
    shipped = v.quality.jpeg_quality
    results: dict[str, dict[str, list[float]]] = {n: {"psnr": [], "share": []}
                                                  for n, _, _ in BOUNCE_ENCODINGS}
    layer_results: dict[str, dict[str, list[float]]] = {
        n: {"psnr": [], "psnr_without": [], "weight": []} for n, _, _ in LAYER_ENCODINGS}

    def decoded(files: Sequence[bytes]) -> list[Image8]:
        return [decode(f, "RGB" if i == 0 else "RGBA") for i, f in enumerate(files)]

    def lit(images: Sequence[tuple[int, Image8, Any]], quality: int, method: int = 6
            ) -> tuple[list[BounceImage], int]:
        encoded = [(k, _encode(image, "WEBP", quality, method), weights)
                   for k, image, weights in images]
        return (weighted_strips((k, decode(data, "RGB"), weights) for k, data, weights in encoded),
                sum(len(d) for _, d, _ in encoded))

    with tempfile.TemporaryDirectory(prefix="sitegen-bench-bounce-") as tmp:
        report = run_verification(v, PoolSettings(workers=default_workers()), out=Path(tmp))
        for picture in report.pictures:
            kept = picture_folder(Path(tmp), picture)
            folder = kept / "layers"
            full = decode((kept / "full.png").read_bytes(), "RGB")
            jpeg = weight_scores(full, [])["jpeg_bytes"]
            layers = [decode((folder / f"{w.key}.png").read_bytes(), "RGBA" if w.layer else "RGB")
                      for w in picture.layers]
            files = [_encode(x, "WEBP", shipped) for x in layers]
            back = decoded(files)
            images = [(k, decode((folder / f"{w.key}.png").read_bytes(), "RGB"), weights)
                      for k, w, weights in picture.bounce]
            for name, quality, method in BOUNCE_ENCODINGS:
                strips, size = lit(images, quality, method)
                results[name]["psnr"].append(psnr(composite(back[0], back[1:], strips), full))
                results[name]["share"].append(size / sum(map(len, files)))
            strips, size = lit(images, BOUNCE_QUALITY)
            for name, fmt, quality in LAYER_ENCODINGS:
                files = [_encode(x, fmt, quality) for x in layers]
                back = decoded(files)
                r = layer_results[name]
                r["psnr"].append(psnr(composite(back[0], back[1:], strips), full))
                r["psnr_without"].append(psnr(composite(back[0], back[1:]), full))
                r["weight"].append((sum(map(len, files)) + size) / jpeg)
    return {"settings": report.as_json(AIM_PSNR)["settings"], "pictures": len(report.pictures),
            "layers_webp_quality": shipped,
            "encodings": {n: {"worst_psnr": min(r["psnr"]),
                              "median_bytes": 1 + statistics.median(r["share"]),
                              "max_bytes": 1 + max(r["share"])}
                          for n, r in results.items()},
            "layer_encodings": {n: {"worst_psnr": min(r["psnr"]),
                                    "worst_psnr_without": min(r["psnr_without"]),
                                    "median_weight": statistics.median(r["weight"]),
                                    "max_weight": max(r["weight"])}
                                for n, r in layer_results.items()},
            "aims": {"psnr": AIM_BOUNCE_PSNR, "bytes": AIM_BOUNCE_BYTES}}


ALPHA_EFFORT_PARTS = 12  # part layers per model
ALPHA_QUALITIES = (100, 99)  # Pillow's alpha_quality: 100 shipped (greatest effort), 99


def alpha_effort(catalog: Catalog, quality_id: str) -> dict[str, Any]:
    """A sample of part layers rendered lossless (PNG), then encoded as the worker writes
    them (WebP at the quality's `jpeg_quality`, method 6) with each of ALPHA_QUALITIES:
    encode seconds and bytes of each, and whether the alpha decodes exactly. What the
    worker's `write` time of a part layer is, and what it buys."""
    from PIL import Image

    quality = catalog.qualities[quality_id]
    parts = [w for w in wanted_renders(catalog, quality=quality_id)
             if w.layer and w.bounce is None]
    parts = random.Random(CROP_SEED).sample(parts, min(ALPHA_EFFORT_PARTS, len(parts)))
    png = quality.model_copy(update={"id": quality_id + "-png", "primary": False,
                                     "format": "png", "bounce": False, "sizes": []})
    cat = with_quality(catalog, png)
    lossless = [dataclasses.replace(w, quality=png.id, ext="png") for w in parts]
    out: dict[int, dict[str, Any]] = {q: {"seconds": 0.0, "bytes": 0, "alpha_exact": True}
                                      for q in ALPHA_QUALITIES}
    with tempfile.TemporaryDirectory(prefix="sitegen-bench-alpha-") as tmp:
        run = render_all(cat, lossless, Path(tmp))
        sampling = sum(run["events"][w.address]["timings"]["sampling"] for w in lossless)
        for w in lossless:
            with Image.open(Path(tmp) / w.address) as im:
                im.load()
                alpha = np.asarray(im.getchannel("A"))
                for aq in ALPHA_QUALITIES:
                    buf = io.BytesIO()
                    t0 = time.perf_counter()
                    im.save(buf, "WEBP", quality=quality.jpeg_quality, method=6,
                            alpha_quality=aq)
                    out[aq]["seconds"] += time.perf_counter() - t0
                    out[aq]["bytes"] += buf.tell()
                    with Image.open(buf) as back:
                        out[aq]["alpha_exact"] &= bool(
                            (np.asarray(back.getchannel("A")) == alpha).all())
    return {"parts": len(parts), "webp_quality": quality.jpeg_quality,
            "sampling_s": sampling,
            "alpha_quality": {str(q): r for q, r in out.items()},
            "note": "encode seconds summed over the sample, one at a time, one thread"}


def unseen_catalog(tmp: Path) -> tuple[Catalog, str]:
    from unseen import make_unseen

    root = make_unseen(tmp / "unseen", UNSEEN_SEED, UNSEEN_RESOLUTION)
    catalog, _ = load_catalog(root)
    return catalog, catalog.primary_quality.id


def on_both(measure: Callable[..., dict[str, Any]], unseen_count: int | None = None
            ) -> dict[str, Any]:
    """`measure(catalog, quality_id[, count=...])` on the demo and on the unseen model."""
    demo, _ = load_catalog(CATALOG)
    extra = {} if unseen_count is None else {"count": unseen_count}
    with tempfile.TemporaryDirectory(prefix="sitegen-bench-unseen-") as tmp:
        unseen, q = unseen_catalog(Path(tmp))
        return {"demo": measure(demo, demo.primary_quality.id),
                "unseen": measure(unseen, q, **extra)}


def bench_crop() -> dict[str, Any]:
    return on_both(crop)


def bench_verify() -> dict[str, Any]:
    return on_both(verify, UNSEEN_COUNT)


def bench_encodings() -> dict[str, Any]:
    return on_both(encodings, UNSEEN_COUNT)


def bench_bounce() -> dict[str, Any]:
    demo, _ = load_catalog(CATALOG)
    with tempfile.TemporaryDirectory(prefix="sitegen-bench-unseen-") as tmp:
        unseen, q = unseen_catalog(Path(tmp))
        return {"demo": bounce(demo, demo.primary_quality.id),
                "unseen": bounce(unseen, q, count=BOUNCE_UNSEEN_COUNT, view=BOUNCE_VIEW)}


def bench_bounce_encodings() -> dict[str, Any]:
    demo, _ = load_catalog(CATALOG)
    with tempfile.TemporaryDirectory(prefix="sitegen-bench-unseen-") as tmp:
        unseen, q = unseen_catalog(Path(tmp))
        return {"demo": bounce_encodings(demo, demo.primary_quality.id),
                "unseen": bounce_encodings(unseen, q, count=BOUNCE_UNSEEN_COUNT,
                                           view=BOUNCE_VIEW)}


def bench_alpha_effort() -> dict[str, Any]:
    return on_both(alpha_effort)


def bench_build() -> dict[str, Any]:
    """The demo's layers as `make build` renders them, before and after, in one run: each
    layer at the old settings (no bounce images then) paired with the same layer now; the
    bounce images now after them."""
    demo, _ = load_catalog(CATALOG)
    after = demo.primary_quality
    before = after.model_copy(update={"id": "before" + UNCROPPED, "primary": False, "sizes": [],
                                      "bounce": False, **BEFORE})
    cat = with_quality(demo, before)
    now = [w for w in wanted_renders(demo) if w.quality == after.id and w.bounce is None]
    bounce = [w for w in wanted_renders(demo) if w.quality == after.id and w.bounce is not None]
    old = [dataclasses.replace(w, quality=before.id, ext=before.ext) for w in now]
    with tempfile.TemporaryDirectory(prefix="sitegen-bench-build-") as tmp:
        run = render_all(cat, [w for pair in zip(old, now, strict=True) for w in pair] + bounce,
                         Path(tmp))
    ev = run["events"]

    def total(items: Sequence[Wanted], seconds: Callable[[dict[str, Any]], float]) -> float:
        return sum(seconds(ev[w.address]) for w in items)

    def whole(event: dict[str, Any]) -> float:
        return float(event["seconds"])

    before_s, after_s = total(old, render_seconds), total(now, render_seconds)
    before_all, after_all = total(old, whole), total(now, whole) + total(bounce, whole)
    return {"layers": len(now), "bounce_images": len(bounce), "before": BEFORE,
            "after": {k: getattr(after, k) for k in ("id", "samples", "resolution", "format",
                                                     "jpeg_quality", "denoise", "sizes",
                                                     "bounce")},
            "before_render_s": before_s, "after_render_s": after_s,
            "after_bounce_render_s": total(bounce, render_seconds),
            "before_s": before_all, "after_s": after_all,
            "ratio": after_s / before_s, "ratio_with_bounce_and_writes": after_all / before_all,
            "aim_met": after_all <= before_all / 2,
            "wall_s": run["wall_s"],
            "note": "the worker's seconds summed (one worker x all threads, as `sitegen "
                    "render` runs here), interleaved pairs; render_s: sampling and sync only; "
                    "before_s/after_s: the whole job, writing included, and after it the "
                    "bounce images; the order pictures (full previews) are the same before "
                    "and after and left out; the 'before' backdrops are today's (holdout) "
                    "backdrops, as costly as the old ones"}


BENCHMARKS = {"crop": bench_crop, "encodings": bench_encodings, "verify": bench_verify,
              "bounce": bench_bounce, "bounce_encodings": bench_bounce_encodings,
              "alpha_effort": bench_alpha_effort, "build": bench_build}


def _db(x: float | None) -> str:
    return "identical" if x is None else f"{x:.2f} dB"


def _models(r: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(m, r[m]) for m in ("demo", "unseen") if m in r]


def summary(name: str, r: dict[str, Any]) -> list[str]:
    if name == "crop":
        return [f"{m}: part layer / backdrop {c['ratio_cropped']:.3f} cropped, "
                f"{c['ratio_uncropped']:.3f} uncropped ({c['speedup']:.1f}x; aim <= "
                f"{AIM_RATIO}: {'met' if c['aim_met'] else 'MISSED'}); border "
                f"{100 * c['mean_border_share']:.0f}% of the frame; cropped = uncropped to "
                f"{_db(c['cropped_vs_uncropped_min_psnr'])}" for m, c in _models(r)]
    if name == "verify":
        return [f"{m}: worst PSNR {_db(v['worst_psnr'])} (CSS {_db(v['worst_psnr_css'])}), "
                f"stack {v['weight_median']:.2f}x the JPEG (max {v['weight_max']:.2f}x; "
                f"{v['stack_kib_median']:.1f} vs {v['jpeg_kib_median']:.1f} KiB); "
                f"{'met' if v['aim_met'] else 'MISSED'}" for m, v in _models(r)]
    if name == "bounce_encodings":
        return [f"{m} bounce images {enc}: worst PSNR {_db(e['worst_psnr'])}, bytes "
                f"{e['median_bytes']:.3f}x (max {e['max_bytes']:.3f}x)" for m, r2 in _models(r)
                for enc, e in r2["encodings"].items()] + [
            f"{m} layers {enc} (bounce images as shipped): worst PSNR {_db(e['worst_psnr'])} "
            f"(without them {_db(e['worst_psnr_without'])}), stack {e['median_weight']:.2f}x "
            f"the JPEG (max {e['max_weight']:.2f}x)" for m, r2 in _models(r)
            for enc, e in r2["layer_encodings"].items()]
    if name == "alpha_effort":
        lines = []
        for m, e in _models(r):
            a, b = (e["alpha_quality"][str(q)] for q in ALPHA_QUALITIES)
            lines.append(f"{m}: {e['parts']} part layers, sampling {e['sampling_s']:.1f} s; "
                         f"WebP {e['webp_quality']} alpha_quality {ALPHA_QUALITIES[0]}: "
                         f"{a['seconds']:.1f} s, {a['bytes']} B; {ALPHA_QUALITIES[1]}: "
                         f"{b['seconds']:.1f} s, {b['bytes']} B (alpha exact: "
                         f"{b['alpha_exact']})")
        return lines
    if name == "encodings":
        return [f"{m} {enc}: worst PSNR {_db(e['worst_psnr'])}, weight {e['median_weight']:.2f}x "
                f"(max {e['max_weight']:.2f}x)" for m, r2 in _models(r)
                for enc, e in r2["encodings"].items()]
    if name == "bounce":
        return [f"{m}: worst PSNR {_db(b['worst_psnr_without'])} without bounce images, "
                f"{_db(b['worst_psnr_with'])} with them (base alone {_db(b['worst_psnr_base'])});"
                f" layers' render time {b['time_ratio']:.2f}x, bytes {b['bytes_ratio_median']:.2f}x"
                f" (max {b['bytes_ratio_max']:.2f}x); {'met' if b['aim_met'] else 'MISSED'}"
                for m, b in _models(r)]
    return [f"demo, {r['layers']} layers: render before {r['before_render_s']:.0f} s, after "
            f"{r['after_render_s']:.0f} s ({r['ratio']:.2f}x); with writing, and the "
            f"{r['bounce_images']} bounce images after: {r['before_s']:.0f} s -> "
            f"{r['after_s']:.0f} s ({r['ratio_with_bounce_and_writes']:.2f}x; aim <= 0.5: "
            f"{'met' if r['aim_met'] else 'MISSED'})"]
