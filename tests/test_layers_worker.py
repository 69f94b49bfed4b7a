"""Layers from blender/worker.py: a backdrop layer (the present parts as holdouts: black
where a part covers a pixel) and one transparent layer per part, cropped to its screen
bounds. The page adds them in linear light (`stack_linear`): backdrop + every part layer's
premultiplied colour. The first experiment of docs/layers.md stacked them with plain
"over" in display space (`stack`, kept for comparison).

Tests use the tiny scene of tests/blender_scenes.py. Run as a script, this file is the
first experiment's measurement on the demo models (docs/layers.md, "the first
experiment"); `sitegen verify-layers` is the verification command::

    python tests/test_layers_worker.py [--size 320x240] [--samples 32] [--out DIR]

It renders each demo colouring in full and as layers, stacks the layers ("over", and the
linear add of the page), and prints PSNR (RGB) and SSIM (luminance, 8x8 windows) of the
stack against the full picture, plus the noise floor (two full pictures with different
seeds are not available through the protocol; the floor printed is full@N samples vs
full@2N samples).

(Part layers cropped against uncropped are timed by `make bench`, `production.crop`.)
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from blender_scenes import BALL, BOX, CROP, FLOOR, SCENE, greyish, pixel, reddish
from PIL import Image
from test_worker import Worker, check_progress, materials, render_with_progress

pytestmark = pytest.mark.blender

SIZE = (64, 48)
# Measured on the tiny scene at 64x48, 16 samples, CPU (Blender 5.0.1): the holdout backdrop
# with the part layers added in linear light, 42.6 dB over the whole picture and 30.9 dB
# over its 206 silhouette pixels (some layer's alpha strictly between 0 and 255); the
# first experiment (parts invisible to the camera in the backdrop, layers "over" it in
# display space) 31.6 dB and 19.9 dB. Away from silhouettes the stack equals the full
# render (checked separately). The scene's view transform is AgX, not the sRGB curve the
# page undoes, so even an exact coverage split leaves some error at silhouettes.
MIN_PSNR_TINY = 38.0
MIN_PSNR_SILHOUETTE = 27.0
# A cropped part layer against the same layer uncropped: measured identical (Cycles seeds
# each pixel on its own, so the border changes no pixel inside it).
MIN_PSNR_CROP = 50.0


# --- stacking and comparing (pillow + plain Python: no numpy needed) ------------------
def stack(backdrop: Path, layers: list[Path]) -> Image.Image:
    """Straight-alpha "over" of each layer onto the opaque backdrop, in 8-bit display
    space, rounding after each layer (as a browser stacking <img> elements does)."""
    with Image.open(backdrop) as im:
        base = im.convert("RGB")
    for path in layers:
        with Image.open(path) as im:
            layer = im.convert("RGBA")
        # Image.alpha_composite works on straight-alpha RGBA: exactly CSS "over"
        base = Image.alpha_composite(base.convert("RGBA"), layer).convert("RGB")
    return base


def stack_plus(backdrop: Path, layers: list[Path]) -> Image.Image:
    """The backdrop and the part layers added up in 8-bit display space (CSS
    ``mix-blend-mode: plus-lighter`` over the backdrop, in an isolated group): backdrop +
    sum of alpha * colour, clamped. Right where the backdrop is black (fully covered) and
    the parts' mattes partition a pixel; wrong in brightness at silhouettes, since the
    display curve is not linear."""
    return _add(backdrop, layers, lambda v: v / 255, lambda v: v * 255)


def srgb_decode(v: float) -> float:
    v /= 255
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


def srgb_encode(v: float) -> float:
    v = min(1.0, max(0.0, v))
    return 255 * (12.92 * v if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055)


def stack_linear(backdrop: Path, layers: list[Path]) -> Image.Image:
    """What the page does with the holdout backdrop: in linear light (the standard sRGB
    curve), out = min(1, B + sum_i a_i * L_i) with a_i = alpha / 255 and L_i a layer's
    straight-alpha colour, back to 8-bit sRGB."""
    return _add(backdrop, layers, srgb_decode, srgb_encode)


def _add(backdrop: Path, layers: list[Path], decode: Any, encode: Any) -> Image.Image:
    table = [decode(float(v)) for v in range(256)]
    with Image.open(backdrop) as im:
        size = im.size
        acc = [table[v] for v in im.convert("RGB").tobytes()]
    for path in layers:
        with Image.open(path) as im:
            data = im.convert("RGBA").tobytes()
        for i in range(len(acc) // 3):
            a = data[4 * i + 3] / 255
            if a:
                for k in range(3):
                    acc[3 * i + k] += a * table[data[4 * i + k]]
    out = bytes(min(255, max(0, round(encode(min(1.0, v))))) for v in acc)
    return Image.frombytes("RGB", size, out)


def silhouette(layers: list[Path]) -> list[bool]:
    """Per pixel: some layer is partly transparent there."""
    alphas = []
    for path in layers:
        with Image.open(path) as im:
            alphas.append(im.getchannel("A").tobytes())
    return [any(0 < a[i] < 255 for a in alphas) for i in range(len(alphas[0]))]


def psnr_where(a: Image.Image, b: Image.Image, mask: list[bool]) -> float:
    pa, pb = a.convert("RGB").tobytes(), b.convert("RGB").tobytes()
    d = [(pa[i] - pb[i]) ** 2 for i in range(len(pa)) if mask[i // 3]]
    mse = sum(d) / len(d)
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def premultiplied(path: Path) -> bytes:
    """RGBA with the colour multiplied by alpha (8-bit, rounded)."""
    with Image.open(path) as im:
        data = im.convert("RGBA").tobytes()
    out = bytearray(data)
    for i in range(0, len(data), 4):
        a = data[i + 3]
        for k in range(3):
            out[i + k] = round(data[i + k] * a / 255)
    return bytes(out)


def psnr(a: Image.Image, b: Image.Image) -> float:
    pa, pb = a.convert("RGB").tobytes(), b.convert("RGB").tobytes()
    assert len(pa) == len(pb)
    mse = sum((x - y) ** 2 for x, y in zip(pa, pb, strict=True)) / len(pa)
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def ssim(a: Image.Image, b: Image.Image, win: int = 8) -> float:
    """Mean SSIM of the luminance (ITU-R 601 "L") over non-overlapping win x win blocks."""
    la, lb = a.convert("L"), b.convert("L")
    w, h = la.size
    da, db = la.tobytes(), lb.tobytes()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    scores = []
    for y0 in range(0, h - win + 1, win):
        for x0 in range(0, w - win + 1, win):
            xs = [da[(y0 + j) * w + x0 + i] for j in range(win) for i in range(win)]
            ys = [db[(y0 + j) * w + x0 + i] for j in range(win) for i in range(win)]
            n = len(xs)
            mx, my = sum(xs) / n, sum(ys) / n
            vx = sum((v - mx) ** 2 for v in xs) / (n - 1)
            vy = sum((v - my) ** 2 for v in ys) / (n - 1)
            cov = sum((p - mx) * (q - my) for p, q in zip(xs, ys, strict=True)) / (n - 1)
            scores.append(((2 * mx * my + c1) * (2 * cov + c2))
                          / ((mx * mx + my * my + c1) * (vx + vy + c2)))
    return sum(scores) / len(scores)


def render_layers(w: Worker, out: Path, view: str, values: dict[str, Any],
                  parts: list[list[str]], ext: str = ".png") -> tuple[Path, list[Path]]:
    """Backdrop + one layer per part; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    back = out / f"backdrop{ext}"
    answer = w.call({"op": "render", "id": "backdrop", "view": view, "values": values,
                     "out": str(back), "layer": {"kind": "backdrop"}}, timeout=900)
    assert answer["event"] == "rendered", answer
    paths = []
    for part in parts:
        path = out / f"{'+'.join(part)}{ext}"
        answer = w.call({"op": "render", "id": "+".join(part), "view": view,
                         "values": values, "out": str(path),
                         "layer": {"kind": "part", "meshes": part}}, timeout=900)
        assert answer["event"] == "rendered", answer
        paths.append(path)
    return back, paths


# --- tests on the tiny scene -----------------------------------------------------------
def open_msg(scenes: Path, **quality: Any) -> dict[str, Any]:
    q = {"engine": "cycles", "samples": 16, "resolution": list(SIZE), "format": "png",
         "transparent": False, "denoise": "off"}
    q.update(quality)
    return {"op": "open", "blend": str(scenes / SCENE),
            "meshes": {"box": ["Box"], "ball": ["Ball"]},
            "materials": {**materials(scenes), "black": BLACK, "white": WHITE},
            "quality": q, "threads": 2, "device": "cpu"}


BLACK = {"color": "#000000", "diffuse": None, "normal": None, "roughness": None}
WHITE = {"color": "#ffffff", "diffuse": None, "normal": None, "roughness": None}


def rgba(path: Path, point: tuple[float, float, float]) -> tuple[int, ...]:
    with Image.open(path) as im:
        return im.convert("RGBA").getpixel(pixel(point, "main", im.size))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def lworker(blender_scenes: Path, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Worker]:
    w = Worker(tmp_path_factory.mktemp("layers") / "worker.log")
    opened = w.call(open_msg(blender_scenes))
    assert opened["event"] == "opened", opened
    yield w
    w.kill()


VALUES = {"box": 1, "ball": 3}  # red box, green ball
BALL_SHADOW = (BALL[0] + 0.25, BALL[1] + 1.05, 0.0)  # on the floor, in the ball's shadow


def test_part_layer_is_the_part_alone(lworker: Worker, tmp_path: Path) -> None:
    back, (box,) = render_layers(lworker, tmp_path, "main", VALUES, [["box"]])
    with Image.open(box) as im:
        assert (im.format, im.mode, im.size) == ("PNG", "RGBA", SIZE)
        assert im.getpixel((0, 0))[3] == 0  # sky
    assert rgba(box, BOX)[3] == 255 and reddish(rgba(box, BOX))
    assert rgba(box, BALL)[3] == 0  # the other part is a holdout
    assert rgba(box, FLOOR)[3] == 0  # so is the floor


def test_backdrop_holds_the_parts_out(lworker: Worker, tmp_path: Path) -> None:
    back, layers = render_layers(lworker, tmp_path, "main", VALUES, [["box"], ["ball"]])
    full = tmp_path / "full.png"
    assert lworker.call({"op": "render", "id": "f", "view": "main", "values": VALUES,
                         "out": str(full)})["event"] == "rendered"
    empty = tmp_path / "empty.png"
    assert lworker.call({"op": "render", "id": "e", "view": "main",
                         "values": {"box": 0, "ball": 0}, "out": str(empty)}
                        )["event"] == "rendered"
    with Image.open(back) as im:
        assert (im.mode, im.size) == ("RGB", SIZE)  # opaque
        rgb = im.tobytes()
    # the parts are holdouts: black wherever they cover a pixel fully (Blender writes
    # (0, 0, 0) for a holdout with the film opaque, not the world colour)
    assert max(rgba(back, BOX)[:3]) <= 2 and max(rgba(back, BALL)[:3]) <= 2
    covered = [0] * (SIZE[0] * SIZE[1])
    for path in layers:
        with Image.open(path) as im:
            for i, a in enumerate(im.getchannel("A").tobytes()):
                covered[i] += a
    full_px = [i for i, c in enumerate(covered) if c >= 255]
    assert len(full_px) > 300
    assert max(max(rgb[3 * i : 3 * i + 3]) for i in full_px) <= 2
    assert greyish(rgba(back, FLOOR)) and reddish(rgba(full, BOX))
    # the shadows are there: the backdrop is darker than the empty floor somewhere
    # outside the parts, and matches the full render on the floor in front
    with Image.open(back) as b, Image.open(empty) as e:
        lb, le = b.convert("L").tobytes(), e.convert("L").tobytes()
    assert sum(1 for i, (x, y) in enumerate(zip(lb, le, strict=True))
               if covered[i] == 0 and y - x > 30) >= 10
    assert abs(rgba(back, FLOOR)[0] - rgba(full, FLOOR)[0]) <= 3


def test_stack_matches_full_render(lworker: Worker, tmp_path: Path) -> None:
    full = tmp_path / "full.png"
    assert lworker.call({"op": "render", "id": "f", "view": "main", "values": VALUES,
                         "out": str(full)})["event"] == "rendered"
    back, layers = render_layers(lworker, tmp_path, "main", VALUES, [["box"], ["ball"]])
    edge = silhouette(layers)
    with Image.open(full) as f:
        lin, over = stack_linear(back, layers), stack(back, layers)
        p, s = psnr(lin, f), ssim(lin, f)
        pe, oe = psnr_where(lin, f, edge), psnr_where(over, f, edge)
    print(f"tiny scene: linear add {p:.2f} dB / SSIM {s:.4f}, silhouettes {pe:.2f} dB "
          f"({sum(edge)} pixels); over {psnr(over, f):.2f} dB, silhouettes {oe:.2f} dB")
    assert p >= MIN_PSNR_TINY, (p, s)
    assert pe >= MIN_PSNR_SILHOUETTE, pe
    assert pe >= oe + 5, (pe, oe)  # the holdout backdrop is what makes adding right
    assert s >= 0.98, s
    # away from silhouettes (no layer partly transparent), the stack is the full render
    with Image.open(full) as f:
        fb = f.convert("RGB").tobytes()
    lb = lin.tobytes()
    worst = max(abs(lb[i] - fb[i]) for i in range(len(fb)) if not edge[i // 3])
    assert worst <= 2, worst


def test_part_layer_is_cropped_to_its_screen_bounds(lworker: Worker, tmp_path: Path
                                                   ) -> None:
    for part in ("box", "ball"):
        paths = {}
        borders = {}
        for crop in (True, False):
            path = tmp_path / f"{part}-{crop}.png"
            layer: dict[str, Any] = {"kind": "part", "meshes": [part]}
            if not crop:
                layer["crop"] = False
            answer = lworker.call({"op": "render", "id": part, "view": "main",
                                   "values": VALUES, "out": str(path), "layer": layer})
            assert answer["event"] == "rendered", answer
            paths[crop], borders[crop] = path, answer.get("border")
        assert borders[False] is None
        border = borders[True]
        assert border is not None
        x0, y0, x1, y1 = border
        assert 0 <= x0 < x1 <= SIZE[0] and 0 <= y0 < y1 <= SIZE[1]
        assert (x1 - x0) * (y1 - y0) < SIZE[0] * SIZE[1] / 2  # a real crop
        with Image.open(paths[True]) as im:
            assert (im.mode, im.size) == ("RGBA", SIZE)  # the full frame
            alpha = im.getchannel("A").tobytes()
        outside = [alpha[y * SIZE[0] + x] for y in range(SIZE[1]) for x in range(SIZE[0])
                   if not (x0 <= x < x1 and y0 <= y < y1)]
        assert outside and max(outside) == 0
        # the part's pixels in the uncropped layer lie inside the border, with the margin
        with Image.open(paths[False]) as im:
            box = im.getchannel("A").getbbox()
        assert box is not None
        assert x0 + 2 <= box[0] and y0 + 2 <= box[1], (border, box)
        assert box[2] + 2 <= x1 and box[3] + 2 <= y1, (border, box)
        # and the crop changes no pixel: premultiplied RGB and alpha compared
        a, b = premultiplied(paths[True]), premultiplied(paths[False])
        mse = sum((x - y) ** 2 for x, y in zip(a, b, strict=True)) / len(a)
        db = math.inf if mse == 0 else 10 * math.log10(255**2 / mse)
        print(f"{part}: border {border}, cropped vs uncropped {db:.2f} dB")
        assert db >= MIN_PSNR_CROP, (part, db)


def test_crop_of_a_part_off_screen_or_behind_the_camera(lworker: Worker,
                                                        blender_scenes: Path,
                                                        tmp_path: Path) -> None:
    msg = open_msg(blender_scenes)
    msg["blend"] = str(blender_scenes / CROP)
    msg["meshes"]["far"] = ["Far"]
    values = {**VALUES, "far": 1}
    try:
        assert lworker.call(msg)["event"] == "opened"
        # "main": Far is in front of the camera, right of the frame: a 1-pixel border
        # "side": Far is behind the camera: no border (the whole frame)
        for view, want in (("main", [0, 0, 1, 1]), ("side", None)):
            out = tmp_path / f"far-{view}.png"
            answer = lworker.call({"op": "render", "id": view, "view": view,
                                   "values": values, "out": str(out),
                                   "layer": {"kind": "part", "meshes": ["far"]}})
            assert answer["event"] == "rendered", answer
            assert answer.get("border") == want
            with Image.open(out) as im:
                assert (im.mode, im.size) == ("RGBA", SIZE)
                assert im.getchannel("A").getextrema() == (0, 0)
        # one object of a part behind the camera: the whole part renders uncropped
        answer = lworker.call({"op": "render", "id": "box", "view": "side",
                               "values": values, "out": str(tmp_path / "box-side.png"),
                               "layer": {"kind": "part", "meshes": ["box", "far"]}})
        assert answer["event"] == "rendered", answer
        assert "border" not in answer  # Far is behind "side"
    finally:
        assert lworker.call(open_msg(blender_scenes))["event"] == "opened"


def test_properties_reset_after_layers(lworker: Worker, tmp_path: Path) -> None:
    before = tmp_path / "before.png"
    after = tmp_path / "after.png"
    msg = {"op": "render", "id": "n", "view": "main", "values": VALUES}
    uncropped = {**msg, "layer": {"kind": "part", "meshes": ["box"], "crop": False}}
    a = lworker.call({**msg, "out": str(before)})
    ua = lworker.call({**uncropped, "out": str(tmp_path / "u-before.png")})
    # layers: a backdrop (holdouts) and cropped part layers
    render_layers(lworker, tmp_path / "l", "main", VALUES, [["box"], ["ball"]])
    b = lworker.call({**msg, "out": str(after)})
    ub = lworker.call({**uncropped, "out": str(tmp_path / "u-after.png")})
    assert a["event"] == b["event"] == ua["event"] == ub["event"] == "rendered"
    assert a["sha256"] == b["sha256"]  # same pixels, same bytes
    assert ua["sha256"] == ub["sha256"]  # no border left over
    assert "border" not in b
    with Image.open(after) as im:
        assert im.mode == "RGB"


def test_avif_is_refused_for_part_layers(lworker: Worker, blender_scenes: Path,
                                         tmp_path: Path) -> None:
    """AVIF is for opaque pictures (browsers decode its alpha differently from Pillow): at
    an AVIF quality the backdrop renders, a part layer is refused and nothing written."""
    msg = {"op": "render", "id": "a", "view": "main", "values": VALUES}
    try:
        assert lworker.call(open_msg(blender_scenes, format="avif", jpeg_quality=60)
                            )["event"] == "opened"
        answer = lworker.call({**msg, "out": str(tmp_path / "base.avif"),
                               "layer": {"kind": "backdrop"}})
        assert answer["event"] == "rendered", answer
        answer = lworker.call({**msg, "out": str(tmp_path / "box.avif"),
                               "layer": {"kind": "part", "meshes": ["box"]}})
        assert answer["event"] == "error" and "AVIF is for opaque pictures" in answer["error"]
    finally:
        assert lworker.call(open_msg(blender_scenes))["event"] == "opened"
    with Image.open(tmp_path / "base.avif") as im:
        assert (im.format, im.mode, im.size) == ("AVIF", "RGB", SIZE)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.avif"]


def test_bounce_images_hold_each_neighbours_light(lworker: Worker, tmp_path: Path) -> None:
    """A layer's bounce image: one strip per neighbour (1/8 of the frame each, top to
    bottom), that neighbour's light on the layer where it covers, nothing where the layer
    is not; the next picture is back at full size, byte for byte as before."""
    full = tmp_path / "full.png"
    msg = {"op": "render", "view": "main", "values": {"box": 1, "ball": 3}}
    assert lworker.call({**msg, "id": "f", "out": str(full)})["event"] == "rendered"
    dark = {"box": "black", "ball": "black"}
    box = tmp_path / "box.png"
    answer = lworker.call({**msg, "id": "b", "out": str(box), "values": {**dark, "box": 1},
                           "layer": {"kind": "part", "meshes": ["box"],
                                     "bounce": {"neighbours": [["ball"]], "scale": 8}}})
    assert answer["event"] == "rendered", answer
    backdrop = tmp_path / "base.png"
    answer = lworker.call({**msg, "id": "d", "out": str(backdrop), "values": dark,
                           "layer": {"kind": "backdrop", "bounce": {
                               "neighbours": [["box"], ["ball"]], "scale": 8}}})
    assert answer["event"] == "rendered", answer
    with Image.open(box) as im:
        assert (im.mode, im.size) == ("RGB", (8, 6))
        strip = im.tobytes()
    with Image.open(backdrop) as im:
        assert (im.mode, im.size) == ("RGB", (8, 12))
        from_box, from_ball = im.crop((0, 0, 8, 6)).tobytes(), im.crop((0, 6, 8, 12)).tobytes()
    # The white ball lights the box; the floor gets light from both (more from the box,
    # the larger); the sky corner (top left) none.
    assert max(strip) > 10 and strip[:3] == b"\0\0\0"
    assert sum(from_box) > sum(from_ball) > 0
    again = tmp_path / "again.png"
    assert lworker.call({**msg, "id": "g", "out": str(again)})["event"] == "rendered"
    assert again.read_bytes() == full.read_bytes()
    bad = {**msg, "id": "x", "out": str(tmp_path / "x.png"), "values": dark}
    for bounce, text in (({"neighbours": [["box"]], "scale": 8}, "cannot be one of"),
                         ({"neighbours": [], "scale": 8}, "neighbours"),
                         ({"neighbours": [["box"], ["box"]], "scale": 8}, "two neighbours"),
                         ({"neighbours": [["ball"]], "scale": 0}, "scale"),
                         ({"neighbours": [["legs"]], "scale": 8}, "legs")):
        answer = lworker.call({**bad, "layer": {"kind": "part", "meshes": ["box"],
                                                "bounce": bounce}})
        assert answer["event"] == "error" and text in answer["error"], (bounce, answer)
    answer = lworker.call({**bad, "values": {"box": 1, "ball": 0}, "layer": {
        "kind": "part", "meshes": ["box"], "bounce": {"neighbours": [["ball"]], "scale": 8}}})
    assert answer["event"] == "error" and "not present" in answer["error"], answer


def test_lossy_bounce_images_are_libwebp_method_6_of_their_8_bit_pixels(
        blender_scenes: Path, tmp_path: Path) -> None:
    """At a WebP quality, a bounce image is written as layers are (Pillow, method 6), at
    quality 75 whatever the quality's own: the bytes Pillow writes of the same strips as
    a PNG quality holds them."""
    w = Worker(tmp_path / "worker.log")
    try:
        for fmt in ("png", "webp"):
            assert w.call(open_msg(blender_scenes, format=fmt, jpeg_quality=90)
                          )["event"] == "opened"
            answer = w.call({"op": "render", "id": fmt, "view": "main",
                             "values": {"box": 1, "ball": "black"},
                             "out": str(tmp_path / f"bounce.{fmt}"),
                             "layer": {"kind": "part", "meshes": ["box"], "bounce": {
                                 "neighbours": [["ball"]], "scale": 2}}})
            assert answer["event"] == "rendered", answer
    finally:
        w.kill()
    with Image.open(tmp_path / "bounce.png") as png:
        assert png.mode == "RGB" and max(png.tobytes()) > 10
        png.save(tmp_path / "expected.webp", "WEBP", quality=75, method=6)
    assert (tmp_path / "bounce.webp").read_bytes() == (tmp_path / "expected.webp").read_bytes()


def test_progress_covers_every_render_of_a_bounce_image(lworker: Worker, tmp_path: Path
                                                       ) -> None:
    """A bounce image is three renders here (the base, then each of two neighbours white):
    the progress fraction runs over all three (pass k of 3 from k/3 to (k + 1)/3), so it
    goes past 2/3 only in the last."""
    msg = {"op": "render", "id": "d", "view": "main", "values": {"box": "black", "ball": "black"},
           "out": str(tmp_path / "bounce.png"),
           # the whole frame and more samples: each render takes longer than 0.1 s
           "layer": {"kind": "backdrop", "bounce": {"neighbours": [["box"], ["ball"]],
                                                    "scale": 1, "samples": 128}}}
    plain = lworker.call(msg)
    assert plain["event"] == "rendered", plain
    events, answer = render_with_progress(lworker, msg)
    assert answer["event"] == "rendered" and answer["id"] == "d", answer
    fractions = check_progress(events, "d")
    assert fractions[-1] > 2 / 3, fractions
    assert answer["sha256"] == plain["sha256"]
    # a tiny bounce image too (each render a few milliseconds: the throttle keeps the first)
    events, answer = render_with_progress(lworker, {
        **msg, "id": "b", "layer": {"kind": "part", "meshes": ["box"],
                                    "bounce": {"neighbours": [["ball"]], "scale": 8}}})
    assert answer["event"] == "rendered", answer
    check_progress(events, "b")


def test_layer_errors(lworker: Worker, tmp_path: Path) -> None:
    msg = {"op": "render", "id": "x", "view": "main", "values": {"box": 1, "ball": 0},
           "out": str(tmp_path / "x.png")}
    for layer, text in ((["box"], "object"), ({"kind": "sky"}, "kind"),
                        ({"kind": "part"}, "meshes"),
                        ({"kind": "part", "meshes": ["legs"]}, "legs"),
                        ({"kind": "part", "meshes": ["ball"]}, "ball"),
                        ({"kind": "part", "meshes": ["box"], "crop": "no"}, "crop"),
                        ({"kind": "part", "meshes": ["box"], "crop": 0}, "crop")):
        answer = lworker.call({**msg, "layer": layer})
        assert answer["event"] == "error" and answer["id"] == "x", answer
        assert text in answer["error"], answer
    assert not (tmp_path / "x.png").exists()


# --- demo verification (python tests/test_layers_worker.py) -----------------------------
DEMO_CASES = [  # model, view, values, parts (mesh groups that share a finish)
    ("kino", "front", {"frame": 1127, "top": 1127, "insert": 0, "rim": 0},
     [["frame"], ["top"]]),
    ("maru", "main", {"frame": 1127, "pads": 4031, "padend": 4031, "table": 0,
                       "bolsters": 4120}, [["frame"], ["pads", "padend"], ["bolsters"]]),
]


def demo(size: tuple[int, int], samples: int, out: Path, denoise: str, cases: list[str]
         ) -> list[dict[str, Any]]:  # pragma: no cover - a command, not a test
    import time

    from conftest import DEMO

    from sitegen.catalog.load import load_catalog
    from sitegen.plan import finish_material

    catalog, _ = load_catalog(DEMO)
    rows = []
    out.mkdir(parents=True, exist_ok=True)
    w = Worker(out / "worker.log")
    try:
        for model_id, view, values, parts in DEMO_CASES:
            if cases and model_id not in cases:
                continue
            model = catalog.models[model_id]
            fins = {str(v) for v in values.values() if v}
            mats = {f: finish_material(catalog, catalog.finishes[int(f)]) for f in fins}

            def open_at(n: int, model: Any = model, mats: Any = mats) -> None:
                q = {"engine": "cycles", "samples": n, "resolution": list(size),
                     "format": "png", "transparent": False, "denoise": denoise}
                opened = w.call({"op": "open", "blend": str(catalog.blend_path(model)),
                                 "meshes": {m.id: m.object_names for m in model.meshes},
                                 "materials": mats, "quality": q, "device": "auto"})
                assert opened["event"] == "opened", opened

            t0 = time.perf_counter()
            open_at(samples)
            d = out / model_id
            full = d / "full.png"
            answer = w.call({"op": "render", "id": "full", "view": view, "values": values,
                             "out": str(full)}, timeout=900)
            assert answer["event"] == "rendered", answer
            back, layers = render_layers(w, d, view, values, parts)
            composite = stack(back, layers)
            composite.save(d / "stack.png")
            plus = stack_linear(back, layers)  # what the page does
            plus.save(d / "stack-linear.png")
            with Image.open(full) as f:
                row = {"model": model_id, "psnr": psnr(composite, f),
                       "ssim": ssim(composite, f), "psnr_plus": psnr(plus, f),
                       "ssim_plus": ssim(plus, f)}
                diff = Image.eval(Image.frombytes("L", f.size, bytes(
                    min(255, 8 * abs(x - y)) for x, y in zip(
                        composite.convert("L").tobytes(), f.convert("L").tobytes(),
                        strict=True))), lambda v: v)
                diff.save(d / "diff-x8.png")
            # noise floor: the same picture at twice the samples
            open_at(2 * samples)
            ref = d / "full-2x.png"
            answer = w.call({"op": "render", "id": "ref", "view": view, "values": values,
                             "out": str(ref)}, timeout=900)
            assert answer["event"] == "rendered", answer
            with Image.open(full) as f, Image.open(ref) as r:
                row["psnr_noise_floor"] = psnr(f, r)
                row["ssim_noise_floor"] = ssim(f, r)
            row["seconds"] = round(time.perf_counter() - t0, 1)
            rows.append(row)
            print(f"{model_id:6} {view:6} over: PSNR {row['psnr']:6.2f} dB  SSIM "
                  f"{row['ssim']:.4f}   linear add: PSNR {row['psnr_plus']:6.2f} dB  SSIM "
                  f"{row['ssim_plus']:.4f}   (full@{samples} vs full@{2 * samples}: PSNR "
                  f"{row['psnr_noise_floor']:.2f} dB, SSIM {row['ssim_noise_floor']:.4f})"
                  f"  {row['seconds']} s", flush=True)
    finally:
        w.close()
    if rows:
        worst = min(rows, key=lambda r: r["psnr"])
        best = min(rows, key=lambda r: r["psnr_plus"])
        print(f"worst over: {worst['model']} PSNR {worst['psnr']:.2f} dB, "
              f"SSIM {min(r['ssim'] for r in rows):.4f}; worst linear add: "
              f"{best['model']} PSNR {best['psnr_plus']:.2f} dB, "
              f"SSIM {min(r['ssim_plus'] for r in rows):.4f}")
    return rows


if __name__ == "__main__":  # pragma: no cover
    import argparse

    p = argparse.ArgumentParser(description="stack demo layers vs full renders")
    p.add_argument("--size", default="320x240")
    p.add_argument("--samples", type=int, default=32)
    p.add_argument("--denoise", default="off")
    p.add_argument("--out", type=Path, default=Path("/tmp/sitegen-layers"))
    p.add_argument("models", nargs="*", help="kino, maru (default: all)")
    args = p.parse_args()
    wh = tuple(int(v) for v in args.size.lower().split("x"))
    sys.exit(0 if demo((wh[0], wh[1]), args.samples, args.out.resolve(), args.denoise,
                      args.models) else 1)
