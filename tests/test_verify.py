"""`sitegen verify-layers`: the compositing maths, the draw of colourings, and the command
end to end with real Blender renders of the tiny test scene (tests/blender_scenes.py)."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import DEMO

from sitegen.catalog.load import load_catalog
from sitegen.expand import (
    count_colourings,
    count_union,
    expand_product,
    iter_colourings,
    part_weights,
    product_keys,
)
from sitegen.plan import wanted_renders
from sitegen.verify import (
    bounce_light,
    colouring_wanted,
    compare,
    composite,
    composite_css,
    draw_colouring,
    plan_verification,
    psnr,
    sample_colourings,
    ssim,
)


def pixel(*values: int) -> np.ndarray:
    """A 1x1 picture."""
    return np.array([[values]], dtype=np.uint8)


# --- compositing ---------------------------------------------------------------------------

def srgb(linear: float) -> int:
    """The 8-bit sRGB value of a linear value (the standard curve, rounded)."""
    x = linear * 12.92 if linear <= 0.0031308 else 1.055 * linear ** (1 / 2.4) - 0.055
    return math.floor(x * 255 + 0.5)


def test_complementary_half_alpha_layers_add_up_exactly() -> None:
    # Where two parts meet, their holdout mattes are complementary (128 + 127 = 255) and
    # the backdrop, which holds the parts out, is black there: the sum is exact.
    backdrop = pixel(0, 0, 0)
    red, blue = pixel(255, 0, 0, 128), pixel(0, 0, 255, 127)
    # The page's canvas, in linear light: 128/255 of red's light, 127/255 of blue's.
    expected = [[[srgb(128 / 255), 0, srgb(127 / 255)]]]
    assert expected == [[[188, 0, 187]]]
    assert composite(backdrop, [red, blue]).tolist() == expected
    assert composite(backdrop, [blue, red]).tolist() == expected  # order-free
    # The CSS stack, in display space.
    assert composite_css(backdrop, [red, blue]).tolist() == [[[128, 0, 127]]]
    assert composite_css(backdrop, [blue, red]).tolist() == [[[128, 0, 127]]]


def test_the_backdrop_and_a_part_partition_an_edge_pixel() -> None:
    # A part covering 40 % of a pixel: the holdout backdrop keeps 60 % of the floor's light
    # beside it, the layer brings the part's 40 %: their sum is the full render's pixel.
    floor, part = 0.8, 0.05  # linear light
    backdrop = pixel(*[srgb(0.6 * floor)] * 3)
    layer = pixel(*[srgb(part)] * 3, 102)  # 102 / 255 = 0.4
    lin = [((v / 255 + 0.055) / 1.055) ** 2.4 for v in (srgb(0.6 * floor), srgb(part))]
    assert composite(backdrop, [layer]).tolist() == [[[srgb(lin[0] + 0.4 * lin[1])] * 3]]
    assert abs(composite(backdrop, [layer])[0, 0, 0] - srgb(0.6 * floor + 0.4 * part)) <= 1
    # The CSS stack adds display values: 0.4 x the part's level plus the backdrop's.
    assert composite_css(backdrop, [layer]).tolist() == [
        [[math.floor(srgb(0.6 * floor) + 0.4 * srgb(part) + 0.5)] * 3]]


def test_an_opaque_layer_over_its_black_holdout() -> None:
    backdrop = pixel(0, 0, 0)
    for stack in (composite, composite_css):
        assert stack(backdrop, [pixel(10, 20, 30, 255)]).tolist() == [[[10, 20, 30]]]
        # Opaque layers that overlap (they never should) are clamped, not wrapped.
        assert stack(backdrop, [pixel(255, 10, 0, 255), pixel(100, 10, 0, 255)]
                     )[0, 0, 0] == 255
        # Light added to a backdrop that is not black is clamped too.
        assert stack(pixel(200, 200, 200), [pixel(200, 200, 200, 255)]).tolist() == [
            [[255, 255, 255]]]
    # Every 8-bit value survives the trip to linear light and back.
    values = np.arange(256, dtype=np.uint8)
    layer = np.stack([values, values[::-1], values, np.full(256, 255, np.uint8)], axis=1)
    out = composite(np.zeros((1, 256, 3), np.uint8), [layer[None]])
    assert (out[0] == layer[:, :3]).all()


def test_partial_and_missing_layers() -> None:
    backdrop = pixel(200, 200, 200)
    for stack in (composite, composite_css):
        assert stack(backdrop, []).tolist() == [[[200, 200, 200]]]
        # A transparent pixel's colour does not count.
        assert stack(backdrop, [pixel(0, 0, 0, 0)]).tolist() == [[[200, 200, 200]]]
        with pytest.raises(ValueError):
            stack(np.zeros((2, 2, 3), np.uint8), [np.zeros((2, 3, 4), np.uint8)])
    # 20 % of a grey 100 added to a held-out 160: 0.2 * 100 + 160 = 180 in display space ...
    assert composite_css(pixel(160, 160, 160), [pixel(100, 100, 100, 51)]).tolist() == [
        [[180] * 3]]
    # ... and in linear light the sum of the two lights.
    lin = [((v / 255 + 0.055) / 1.055) ** 2.4 for v in (100, 160)]
    assert composite(pixel(160, 160, 160), [pixel(100, 100, 100, 51)]).tolist() == [
        [[srgb(0.2 * lin[0] + lin[1])] * 3]]
    # Half a white part beside a black hole: the CSS stack says 128, light says 188.
    black, half = pixel(0, 0, 0), pixel(255, 255, 255, 128)
    assert composite_css(black, [half]).tolist() == [[[128] * 3]]
    assert composite(black, [half]).tolist() == [[[srgb(128 / 255)] * 3]] == [[[188] * 3]]


def test_composite_is_the_pages_linear_stack(tmp_path: Path) -> None:
    """Pixel for pixel what templates/static/layers.js `stackLinear` draws (run in node)."""
    import shutil

    from conftest import ROOT
    from programs import need_node

    node = str(need_node())

    module = tmp_path / "layers.mjs"
    shutil.copyfile(ROOT / "templates" / "static" / "layers.js", module)
    rng = np.random.default_rng(7)
    backdrop = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    layers = [rng.integers(0, 256, (24, 32, 4), dtype=np.uint8) for _ in range(3)]
    for layer in layers:  # plenty of fully transparent and fully opaque pixels
        layer[..., 3][rng.random((24, 32)) < 0.3] = 0
        layer[..., 3][rng.random((24, 32)) < 0.2] = 255
    rgba = np.concatenate([backdrop, np.full((24, 32, 1), 255, np.uint8)], axis=2)
    script = (
        "import { readFileSync } from 'node:fs';\n"
        f"import {{ stackLinear }} from {json.dumps(module.as_uri())};\n"
        "const d = JSON.parse(readFileSync(0, 'utf8'));\n"
        "const out = new Uint8ClampedArray(d.backdrop.length);\n"
        "stackLinear(Uint8ClampedArray.from(d.backdrop),\n"
        "            d.layers.map((l) => Uint8ClampedArray.from(l)), out);\n"
        "process.stdout.write(JSON.stringify(Array.from(out)));\n")
    data = json.dumps({"backdrop": rgba.ravel().tolist(),
                       "layers": [layer.ravel().tolist() for layer in layers]})
    result = subprocess.run([node, "--input-type=module", "-e", script], input=data,
                            capture_output=True, text=True, check=True, timeout=60)
    page = np.array(json.loads(result.stdout), np.uint8).reshape(24, 32, 4)
    assert (page[..., 3] == 255).all()
    assert (composite(backdrop, layers) == page[..., :3]).all()


def test_composite_with_bounce_images_is_the_pages_stack(tmp_path: Path) -> None:
    """With neighbours' light (bounce images at a reduced size, per stacked layer, each
    with its neighbour's colour): pixel for pixel what layers.js `bounceLight` and
    `stackLinear` draw in node; and the light lands only where its layer covers."""
    import shutil

    from conftest import ROOT
    from programs import need_node

    node = str(need_node())
    module = tmp_path / "layers.mjs"
    shutil.copyfile(ROOT / "templates" / "static" / "layers.js", module)
    rng = np.random.default_rng(11)
    h, w = 30, 40
    backdrop = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    layers = [rng.integers(0, 256, (h, w, 4), dtype=np.uint8) for _ in range(2)]
    for layer in layers:
        layer[..., 3][rng.random((h, w)) < 0.4] = 0
        layer[..., 3][rng.random((h, w)) < 0.3] = 255
    # (item, image, colour): two for the backdrop, one for layer 2, none for layer 1;
    # sizes that do not divide the frame (5 x 4 from 40 x 30; 7 x 6).
    bounce = [(0, rng.integers(0, 120, (4, 5, 3), dtype=np.uint8), (0.3, 0.02, 0.51)),
              (0, rng.integers(0, 120, (4, 5, 3), dtype=np.uint8), (0.9, 0.9, 0.0004)),
              (2, rng.integers(0, 256, (6, 7, 3), dtype=np.uint8), (0.12345, -0.5, 1.0))]
    opaque = np.concatenate([backdrop, np.full((h, w, 1), 255, np.uint8)], axis=2)

    def rgba(image: np.ndarray) -> list[int]:
        full = np.concatenate([image, np.full(image.shape[:2] + (1,), 255, np.uint8)], 2)
        return full.ravel().tolist()

    script = (
        "import { readFileSync } from 'node:fs';\n"
        f"import {{ bounceLight, stackLinear }} from {json.dumps(module.as_uri())};\n"
        "const d = JSON.parse(readFileSync(0, 'utf8'));\n"
        "const lights = [0, 1, 2].map((k) => {\n"
        "  const mine = d.bounce.filter((b) => b.item === k);\n"
        "  return mine.length ? bounceLight(mine.map((b) => ({ width: b.w, height: b.h,\n"
        "    data: Uint8ClampedArray.from(b.data) })), mine.map((b) => b.colour)) : null;\n"
        "});\n"
        "const out = new Uint8ClampedArray(d.backdrop.length);\n"
        "stackLinear(Uint8ClampedArray.from(d.backdrop),\n"
        "            d.layers.map((l) => Uint8ClampedArray.from(l)), out, lights, d.width);\n"
        "process.stdout.write(JSON.stringify(Array.from(out)));\n")
    data = json.dumps({
        "backdrop": opaque.ravel().tolist(), "width": w,
        "layers": [layer.ravel().tolist() for layer in layers],
        "bounce": [{"item": k, "w": img.shape[1], "h": img.shape[0], "data": rgba(img),
                    "colour": list(c)} for k, img, c in bounce]})
    result = subprocess.run([node, "--input-type=module", "-e", script], input=data,
                            capture_output=True, text=True, check=True, timeout=60)
    page = np.array(json.loads(result.stdout), np.uint8).reshape(h, w, 4)
    ours = composite(backdrop, layers, bounce)
    assert (ours == page[..., :3]).all()
    assert (ours != composite(backdrop, layers)).any()
    # Light of layer 2 only: nothing changes where layer 2 is transparent.
    only = composite(backdrop, layers, bounce[2:])
    clear = layers[1][..., 3] == 0
    assert (only[clear] == composite(backdrop, layers)[clear]).all()
    assert (only[~clear] != composite(backdrop, layers)[~clear]).any()


def test_bounce_light_upsamples_bilinearly_with_aligned_centres() -> None:
    """A 2 x 1 bounce image over a 4 x 1 frame: pixel centres at -0.25, 0.25, 0.75, 1.25 of
    the small pixels: clamped, then interpolated."""
    small = np.array([[[0, 0, 0], [255, 255, 255]]], np.uint8)
    light = bounce_light([(small, (1.0, 0.5, 0.0))], 4, 1)
    assert light[0, :, 0].tolist() == pytest.approx([0.0, 0.25, 0.75, 1.0])
    assert light[0, :, 1].tolist() == pytest.approx([0.0, 0.125, 0.375, 0.5])
    assert (light[..., 2] == 0).all()
    with pytest.raises(ValueError, match="differ in size"):
        bounce_light([(small, (1, 1, 1)), (small[:, :1], (1, 1, 1))], 4, 1)


def test_psnr_and_ssim() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    assert psnr(a, a) == math.inf and ssim(a, a) == pytest.approx(1.0)
    b = a + 1  # one level off on every channel (a < 255)
    assert psnr(a, b) == pytest.approx(10 * math.log10(255**2))
    assert 0.99 < ssim(a, b) < 1.0
    assert ssim(a, 255 - a) < 0.1
    with pytest.raises(ValueError):
        ssim(a[:4, :4], a[:4, :4])


def test_compare_splits_the_error_between_silhouettes_parts_and_backdrop() -> None:
    backdrop = np.full((8, 16, 3), 100, np.uint8)
    layer = np.zeros((8, 16, 4), np.uint8)
    layer[:, :8] = (50, 50, 50, 255)  # a part on the left half
    layer[:, 8] = (50, 50, 50, 128)  # its silhouette
    full = composite(backdrop, [layer]).copy()
    full[0, 0] += 4  # off on the part
    full[0, 8] += 3  # and on the silhouette; right on the backdrop
    stacked, scores = compare(full, backdrop, [layer])
    assert stacked.shape == (8, 16, 3)
    share = scores["error_share"]
    assert share["parts"] == pytest.approx(16 / 25) and share["silhouette"] == pytest.approx(
        9 / 25) and share["backdrop"] == 0
    assert scores["silhouette_share"] == pytest.approx(8 / 128)
    assert scores["max_diff"] == 4


# --- drawing colourings ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo() -> Any:
    catalog, _ = load_catalog(DEMO)
    return catalog


def test_a_draw_is_uniform_over_a_kind(demo: Any) -> None:
    # oto-pouf: its piping is charted from the body fabric (2 choices each) and its base is
    # optional: the structural weights must still give every colouring the same chance.
    (plan,) = expand_product(demo, demo.products["oto-pouf"])
    n = count_colourings(plan)
    weights = part_weights(plan)
    rng = random.Random(1)
    draws = Counter(draw_colouring(plan, weights, rng) for _ in range(200 * n))
    assert set(draws) == set(iter_colourings(plan))
    assert min(draws.values()) > 130 and max(draws.values()) < 270  # 200 expected


def test_sample_colourings_distinct_allowed_and_all_when_few(demo: Any) -> None:
    plans = expand_product(demo, demo.products["maru-bench"])
    keys = set(product_keys(plans))
    picked = sample_colourings(plans, 7, random.Random(3))
    assert len({p.key(v) for p, v in picked}) == 7
    assert {p.key(v) for p, v in picked} <= keys
    assert sample_colourings(plans, 7, random.Random(3)) == picked  # seeded
    every = sample_colourings(plans, 500, random.Random(3))
    assert len(every) == count_union(plans) == len(keys)


def test_kinds_sharing_colourings_count_once(load: Any) -> None:
    from conftest import base_catalog

    data = base_catalog()
    kinds = data["products"][0]["kinds"]
    kinds.append({**kinds[0], "id": "twin", "name": "Twin"})  # the same keys as wood-top
    catalog = load({"catalog.yaml": data})
    plans = expand_product(catalog, catalog.products["kino-stool"])
    twin = plans[2]
    assert all(plans[0].colouring_of(twin.mesh_values(v)) is not None
               for v in iter_colourings(twin))
    assert plans[1].colouring_of(twin.mesh_values(next(iter_colourings(twin)))) is None
    total = count_union(plans)
    kinds_of: Counter[str] = Counter()
    for seed in range(40):
        for plan, _ in sample_colourings(plans, total - 1, random.Random(seed)):
            kinds_of[plan.kind] += 1
    assert kinds_of["twin"] == 0  # every key is drawn through its first kind


def test_colouring_layers_are_the_ones_wanted_renders_wants(demo: Any) -> None:
    quality = demo.qualities["studio"]
    assert quality.layers
    product = demo.products["maru-bench"]
    wanted = {(w.address, w.values, w.layer)
              for w in wanted_renders(demo, quality="studio", products=[product.id])}
    for plan in expand_product(demo, product):
        for values in iter_colourings(plan):
            for w in colouring_wanted(demo, quality, product, plan, values, "main"):
                assert (w.address, w.values, w.layer) in wanted, w.address


def test_plan_verification_errors_and_overrides(demo: Any) -> None:
    from sitegen.errors import SitegenError

    with pytest.raises(SitegenError, match="'preview' is not layered"):
        plan_verification(demo, "preview", [], 1, 0)
    with pytest.raises(SitegenError, match="unknown product 'nope'"):
        plan_verification(demo, "studio", ["nope"], 1, 0)
    with pytest.raises(SitegenError, match="cannot override layers"):
        plan_verification(demo, "studio", [], 1, 0, overrides={"layers": False})
    v = plan_verification(demo, "studio", ["kino-stool"], 2, 5, overrides={"samples": 3})
    assert (v.quality.samples, v.full.samples, v.full.layers, v.full.transparent) == (
        3, 3, False, False)
    assert len(v.pictures) == 4  # 2 colourings x 2 views
    assert "studio-full" not in demo.qualities  # the catalog itself is unchanged
    assert demo.qualities["studio"].samples != 3


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sitegen", *args], capture_output=True,
                          text=True, check=False, cwd=cwd, timeout=300)


def test_cli_errors_without_traceback() -> None:
    result = run("--catalog", str(DEMO), "verify-layers", "--quality", "preview")
    assert result.returncode == 1
    assert result.stderr.startswith("error: quality 'preview' is not layered")
    assert "Traceback" not in result.stderr
    result = run("--catalog", str(DEMO), "verify-layers", "--product", "nope")
    assert result.returncode == 2 and "unknown 'nope'" in result.stderr
    assert "Traceback" not in result.stderr
    result = run("--catalog", str(DEMO), "verify-layers", "--renders", "/nonexistent/store")
    assert result.returncode == 1 and "no render store at" in result.stderr


# --- with Blender ------------------------------------------------------------------------------

@pytest.mark.blender
def test_verify_layers_renders_stacks_and_reports(blender_scenes: Path, tmp_path: Path
                                                  ) -> None:
    from test_render import layered_data, make_project

    project = make_project(tmp_path, blender_scenes, layered_data())
    args = ["--catalog", str(project.cat), "verify-layers", "--product", "pair", "--count", "2",
            "--seed", "4", "--workers", "1", "--json"]
    result = run(*args, "--out", str(tmp_path / "out"), "--min-psnr", "0", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    pictures = report["pictures"]
    assert len(pictures) == 4  # 2 colourings x 2 views
    assert {p["view"] for p in pictures} == {"main", "side"}
    for p in pictures:
        assert 20 < p["psnr"] < 80 and 0.9 < p["ssim"] <= 1, p
        assert p["layers"][0].endswith("-base")
        folder = tmp_path / "out" / "pair" / p["view"] / p["key"]
        assert {f.name for f in folder.iterdir()} == {"full.png", "composite.png",
                                                      "diff-x8.png", "layers"}
        assert len(list((folder / "layers").iterdir())) == len(p["layers"])
    assert report["worst_psnr"] == min(p["psnr"] for p in pictures)
    assert report["products"]["pair"]["pictures"] == 4
    assert report["renders"]["full"] == 4 and report["renders"]["layers_from_store"] == 0
    assert report["settings"]["samples"] == 4 and report["ok"]
    assert not (tmp_path / "renders").exists()  # nothing went into a store

    # With a store that holds the layers: they are taken from it, it is left as it was.
    assert project.render().returncode == 0
    before = sorted((p.as_posix(), p.stat().st_mtime_ns) for p in project.store.rglob("*.png"))
    again = run(*args, "--renders", str(project.store), "--min-psnr", "99", cwd=tmp_path)
    assert again.returncode == 1, again.stderr  # below --min-psnr
    report = json.loads(again.stdout)
    assert report["renders"]["layers"] == 0 and report["renders"]["layers_from_store"] > 0
    assert report["renders"]["full"] == 4 and not report["ok"]
    assert [(p["key"], p["view"]) for p in report["pictures"]] == [
        (p["key"], p["view"]) for p in pictures]  # the same seed, the same colourings
    after = sorted((p.as_posix(), p.stat().st_mtime_ns) for p in project.store.rglob("*.png"))
    assert after == before

    # With the neighbours' light: bounce images rendered too, the stack scored with and
    # without them, their bytes counted in the stack's weight.
    lit = run(*args[:-1], "--bounce", "--json", "--out", str(tmp_path / "lit"),
              "--min-psnr", "0", cwd=tmp_path)
    assert lit.returncode == 0, lit.stderr
    report = json.loads(lit.stdout)
    assert report["settings"]["bounce"] is True
    for p in report["pictures"]:
        assert p["bounce"] and all(".from-" in name for name in p["bounce"])
        assert 20 < p["psnr_base"] < 80 and 0 < p["bounce_bytes"] < p["stack_bytes"]
        folder = tmp_path / "lit" / "pair" / p["view"] / p["key"] / "layers"
        assert len(list(folder.iterdir())) == len(p["layers"]) + len(p["bounce"])
    assert report["products"]["pair"]["worst_psnr_base"] == min(
        p["psnr_base"] for p in report["pictures"])


@pytest.mark.blender
def test_verify_layers_names_a_model_that_fails_its_check(blender_scenes: Path,
                                                          tmp_path: Path) -> None:
    from test_render import BROKEN, layered_data, make_project

    project = make_project(tmp_path, blender_scenes, layered_data(), extra=BROKEN)
    result = run("--catalog", str(project.cat), "verify-layers", "--product", "lamp",
                 "--count", "1", "--workers", "1", cwd=tmp_path)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: model 'broken' failed its check, nothing of it was "
                           "rendered:") and "object 'Lamp' not found" in last, result.stderr
    assert "Traceback" not in result.stderr
