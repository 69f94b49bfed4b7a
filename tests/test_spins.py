"""Spins (CATALOG_FORMAT.md "Spins", issue 13): `{id: spin, frames: N}` in a model's views.

The catalog's reading (names, digits, errors, orders, --view), the plans and the render
jobs without Blender; then real renders: the worker placing the camera per frame (turned
about Z, or at the scene frame when animated) pixel for pixel against plain cameras of
tests/blender_scenes.py's spin.blend, and `sitegen render` of a spin, full and layered.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np
import pytest
import yaml
from conftest import base_catalog
from PIL import Image

from sitegen.catalog import Catalog
from sitegen.catalog.load import load_catalog
from sitegen.catalog.models import SpinFrame, frame_name
from sitegen.errors import CatalogError
from sitegen.plan import wanted_renders

Load = Callable[..., Catalog]
SPIN = {"id": "spin", "frames": 4}


def spin_catalog(frames: int = 4, **order: Any) -> dict[str, Any]:
    data = base_catalog()
    data["models"][0]["views"] = ["front", {"id": "spin", "frames": frames}]
    if order:
        data["orders"] = [{"id": "web", "product": "kino-stool", **order}]
    return data


def problems(make_catalog: Callable[..., Path], data: dict[str, Any]) -> list[str]:
    with pytest.raises(CatalogError) as info:
        load_catalog(make_catalog({"catalog.yaml": data}))
    return [str(p) for p in info.value.problems]


def line_of(data: dict[str, Any], needle: str) -> int:
    text = yaml.safe_dump(data, sort_keys=False)
    return text[:text.index(needle)].count("\n") + 1


# --- the catalog ---------------------------------------------------------------------

@pytest.mark.parametrize(("frames", "first", "last"), [
    (2, "spin-1", "spin-2"), (9, "spin-1", "spin-9"), (10, "spin-01", "spin-10"),
    (12, "spin-01", "spin-12"), (24, "spin-01", "spin-24"), (100, "spin-001", "spin-100"),
    (360, "spin-001", "spin-360")])
def test_frames_are_named_with_as_many_digits_as_their_count(load: Load, frames: int,
                                                             first: str, last: str) -> None:
    model = load({"catalog.yaml": spin_catalog(frames)}).models["kino"]
    assert model.views[0] == "front"
    assert model.views[1] == first and model.views[-1] == last
    assert len(model.views) == 1 + frames
    assert model.cameras == ["front", "spin"]
    assert model.camera_of("front") == ("front", None, None)
    assert model.camera_of(last) == ("spin", frames, frames)
    assert model.spin_frame(first) == SpinFrame("spin", 1, frames)
    assert model.spin_frame("front") is None
    with pytest.raises(KeyError):
        model.camera_of("spin")  # the spin as a whole is no single view
    assert model.view_choices == ["front", f"{first}..{last}"]
    assert frame_name("spin", 7, frames) == f"spin-{7:0{len(str(frames))}d}"


def test_a_spin_counts_each_frame_as_a_view(load: Load) -> None:
    from sitegen.expand import summarize_product

    catalog = load({"catalog.yaml": spin_catalog(4)})
    summary = summarize_product(catalog, catalog.products["kino-stool"])
    assert summary.views == 5
    views = {w.view for w in wanted_renders(catalog)}
    assert views == {"front", "spin-1", "spin-2", "spin-3", "spin-4"}


@pytest.mark.parametrize(("entry", "needle", "message"), [
    ({"id": "spin", "frames": 1}, "frames: 1", "models[0].views[1].frames: Input should be "
     "greater than or equal to 2 (got 1)"),
    ({"id": "spin", "frames": 361}, "frames: 361", "models[0].views[1].frames: Input should "
     "be less than or equal to 360 (got 361)"),
    ({"id": "spin", "frames": "12"}, "frames: '12'", "models[0].views[1].frames: Input "
     "should be a valid integer (got '12')"),
    ({"id": "spin"}, "id: spin", "models[0].views[1].frames: missing required field "
     "'frames'"),
    ({"id": "spin", "frames": 4, "turn": 90}, "turn: 90", "models[0].views[1].turn: unknown "
     "field 'turn' (allowed: id, frames)"),
    ({"id": "Spin", "frames": 4}, "id: Spin", "models[0].views[1].id: 'Spin' is not a valid "
     "mesh or view id: a lowercase letter, then lowercase letters and digits, at most 32 "
     "characters"),
    ({"id": "front", "frames": 4}, "id: front", "models[0].views[1]: view 'front' appears "
     "twice (also views[0])"),
])
def test_spin_errors_are_placed(make_catalog: Callable[..., Path], entry: dict[str, Any],
                                needle: str, message: str) -> None:
    data = base_catalog()
    data["models"][0]["views"] = ["front", entry]
    shown = problems(make_catalog, data)
    assert shown == [f"cat/catalog.yaml:{line_of(data, needle)}: {message}"]


def test_a_view_short_form_error_keeps_its_field(make_catalog: Callable[..., Path]) -> None:
    data = base_catalog()
    data["models"][0]["views"] = [SPIN, "Front"]
    assert problems(make_catalog, data) == [
        f"cat/catalog.yaml:{line_of(data, '- Front')}: models[0].views[1]: 'Front' is not a "
        "valid mesh or view id: a lowercase letter, then lowercase letters and digits, at "
        "most 32 characters"]
    data["models"][0]["views"] = [SPIN, SPIN]
    assert problems(make_catalog, data)[0].endswith(
        "models[0].views[1]: view 'spin' appears twice (also views[0])")


def test_an_order_names_a_spin_or_single_frames(load: Load) -> None:
    catalog = load({"catalog.yaml": spin_catalog(4, views=["spin"])})
    ordered = {w.view for w in wanted_renders(catalog, order="web")}
    assert ordered == {"spin-1", "spin-2", "spin-3", "spin-4"}
    catalog = load({"catalog.yaml": spin_catalog(12, views=["spin-03", "front", "spin-03"])})
    assert [w.view for w in wanted_renders(catalog, order="web")][:2] == ["spin-03", "front"]
    assert {w.view for w in wanted_renders(catalog, order="web")} == {"spin-03", "front"}


@pytest.mark.parametrize("name", ["spin-3", "spin-13", "spin-00", "back", "front-01"])
def test_an_order_naming_no_view_lists_the_views_compactly(
        make_catalog: Callable[..., Path], name: str) -> None:
    data = spin_catalog(12, views=[name])
    assert problems(make_catalog, data) == [
        f"cat/catalog.yaml:{line_of(data, '- ' + name)}: orders[0].views[0]: unknown view "
        f"{name!r} of model 'kino' (known: front, spin-01..spin-12)"]


def test_an_order_view_of_the_wrong_shape(make_catalog: Callable[..., Path]) -> None:
    data = spin_catalog(4, views=["Spin-1"])
    assert problems(make_catalog, data)[0].endswith(
        "orders[0].views[0]: 'Spin-1' is not a view name: a view or spin id (a lowercase "
        "letter, then lowercase letters and digits), or a spin's frame such as spin-07")


def test_the_view_option_takes_a_view_a_frame_or_a_spin(load: Load) -> None:
    from sitegen.cli.options import check_choices

    catalog = load({"catalog.yaml": spin_catalog(12)})
    for view, wanted in (("spin", {f"spin-{f:02d}" for f in range(1, 13)}),
                         ("spin-07", {"spin-07"}), ("front", {"front"})):
        check_choices(catalog, None, (), None, view)
        assert {w.view for w in wanted_renders(catalog, view=view)} == wanted
    with pytest.raises(click.BadParameter, match=r"unknown 'spin-7' \(known: front, "
                       r"spin-01..spin-12\)"):
        check_choices(catalog, None, (), None, "spin-7")


# --- plans and jobs --------------------------------------------------------------------

def test_a_frames_job_carries_its_camera_and_frame(load: Load) -> None:
    from sitegen.catalog import file_hashes
    from sitegen.farm import RENDER_FIELDS
    from sitegen.plan import render_inputs
    from sitegen.render import render_fields

    catalog = load({"catalog.yaml": spin_catalog(12)})
    wanted = list(wanted_renders(catalog))
    first_key = wanted[0].key
    by_view = {w.view: w for w in wanted if w.key == first_key}
    frame = by_view["spin-07"]
    assert frame.address == f"preview/kino/spin-07/{first_key}.png"
    assert frame.spin == SpinFrame("spin", 7, 12) and frame.camera == "spin"
    fields = render_fields(frame)
    assert (fields["view"], fields["frame"], fields["frames"]) == ("spin", 7, 12)
    plain = render_fields(by_view["front"])
    assert plain["view"] == "front" and "frame" not in plain and "frames" not in plain
    assert {"view", "values", "frame", "frames", "layer"} <= RENDER_FIELDS
    hashes = file_hashes(catalog)
    assert "spin" in render_inputs(catalog, frame, hashes)
    assert "spin" not in render_inputs(catalog, by_view["front"], hashes)
    # frame 2 of 12 and frame 2 of 24 share a name, not an angle: not the same picture
    other = load({"catalog.yaml": spin_catalog(24)})
    again = next(w for w in wanted_renders(other) if w.view == "spin-02" and w.key == first_key)
    assert again.address == by_view["spin-02"].address
    assert (render_inputs(other, again, file_hashes(other))
            != render_inputs(catalog, by_view["spin-02"], hashes))


def test_a_layered_quality_names_its_layers_per_frame(load: Load) -> None:
    from sitegen.render import render_fields

    data = spin_catalog(4)
    data["qualities"] = [{"id": "layered", "engine": "cycles", "samples": 4,
                          "resolution": [64, 48], "format": "png", "layers": True,
                          "primary": True}]
    catalog = load({"catalog.yaml": data})
    wanted = list(wanted_renders(catalog))
    front = [w.key for w in wanted if w.view == "front"]
    assert front and front[0].startswith("layer-")
    for f in range(1, 5):
        assert [w.key for w in wanted if w.view == f"spin-{f}"] == front
    part = next(w for w in wanted if w.view == "spin-3" and w.layer)
    fields = render_fields(part)
    assert fields["view"] == "spin" and (fields["frame"], fields["frames"]) == (3, 4)
    assert fields["layer"]["kind"] == "part"


def test_the_model_check_asks_for_the_spins_camera(load: Load) -> None:
    from sitegen.modelcheck import model_problems

    data = spin_catalog(4)
    catalog = load({"catalog.yaml": data})
    model = catalog.models["kino"]
    assert model.cameras == ["front", "spin"]
    found = model_problems(catalog, model, {"error": None, "missing_objects": {},
                                            "missing_views": {"spin": "MESH"},
                                            "cameras": ["front"], "camera_count": 1},
                           "5.0.1")
    assert [str(p) for p in found] == [
        f"cat/catalog.yaml:{line_of(data, '- id: spin')}: models[0].views[1]: 'spin' in "
        "kino.blend is a mesh object, not a camera (cameras: front)"]


# --- real renders ------------------------------------------------------------------------

def pixels(path: Path) -> Any:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGBA")).astype(int)


@pytest.mark.blender
def test_the_worker_places_a_spins_camera_per_frame(blender_scenes: Path,
                                                    tmp_path: Path) -> None:
    from blender_scenes import SPIN as SPIN_BLEND
    from blender_scenes import SPIN_FRAMES
    from test_worker import Worker, open_msg, render_msg

    n = SPIN_FRAMES
    worker = Worker(tmp_path / "worker.log")
    try:
        assert worker.call(open_msg(blender_scenes, blend=SPIN_BLEND, samples=2))[
            "event"] == "opened"

        def render(name: str, view: str, frame: int | None = None) -> Any:
            msg = render_msg(tmp_path / f"{name}.png", {"box": 1, "ball": 3}, view, name)
            if frame is not None:
                msg.update(frame=frame, frames=n)
            answer = worker.call(msg)
            assert answer["event"] == "rendered", answer
            return pixels(tmp_path / f"{name}.png")

        main = render("main", "main")
        half = render("spin-half", "spin", 1 + n // 2)  # out of order: turned first
        first = render("spin-1", "spin", 1)
        assert np.array_equal(first, main)  # frame 1: the camera as it is
        assert np.array_equal(half, render("turned", "turned"))  # 180° about world Z
        assert not np.array_equal(half, main)
        assert np.array_equal(render("spin-half-again", "spin", 1 + n // 2), half)
        # animated: the scene at frame f; back at the file's frame for the next plain view
        assert np.array_equal(render("orbit-3", "orbit", 3), render("orbit3", "orbit3"))
        lifted = render("orbit-2", "orbit", 2)  # Ball is lifted at frame 2
        assert np.array_equal(render("main-again", "main"), main)
        assert not np.array_equal(lifted, render("orbit-1", "orbit", 1))
        # the frame's camera bounds a part layer's crop
        part = {"kind": "part", "meshes": ["box"]}
        answers = []
        for name, view, frame in (("box-half", "spin", 1 + n // 2), ("box-turned", "turned",
                                                                      None)):
            msg = render_msg(tmp_path / f"{name}.png", {"box": 1, "ball": 3}, view, name)
            msg["layer"] = part
            if frame is not None:
                msg.update(frame=frame, frames=n)
            answers.append(worker.call(msg))
        assert answers[0]["event"] == "rendered", answers[0]
        assert answers[0]["border"] == answers[1]["border"]
        assert np.array_equal(pixels(tmp_path / "box-half.png"),
                              pixels(tmp_path / "box-turned.png"))
        for bad in ({"frame": 5, "frames": 4}, {"frame": 1}, {"frame": True, "frames": 4}):
            answer = worker.call({**render_msg(tmp_path / "bad.png", {"box": 1, "ball": 0},
                                               "spin"), **bad})
            assert answer["event"] == "error" and "'frame'" in answer["error"], answer
        assert not (tmp_path / "bad.png").exists()
    finally:
        worker.close()


@pytest.mark.blender
def test_render_and_status_of_a_spin(blender_scenes: Path, tmp_path: Path) -> None:
    from blender_scenes import SPIN as SPIN_BLEND
    from test_render import catalog_data, make_project

    data = catalog_data()
    data["models"][0]["views"] = ["main", "turned", {"id": "spin", "frames": 4}]
    data["qualities"].append({"id": "layered", "engine": "cycles", "samples": 1,
                              "resolution": [48, 36], "format": "png", "denoise": "off",
                              "layers": True})
    data["orders"] = [{"id": "turn", "product": "solo", "quality": "layered",
                       "views": ["spin-3"]}]
    project = make_project(tmp_path, blender_scenes, data, blend=SPIN_BLEND)
    result = project.render("--quality", "preview", "--product", "solo", "--view", "spin")
    assert result.returncode == 0, result.stderr
    key = "box-4_ball-0"
    frames = {f"preview/scene/spin-{f}/{key}.png" for f in range(1, 5)}
    assert project.pictures() == frames
    result = project.render("--quality", "preview", "--product", "solo")  # main, turned
    assert result.returncode == 0, result.stderr
    records = project.records()
    sha = {a: r["sha256"] for a, r in records.items()}
    assert sha[f"preview/scene/spin-1/{key}.png"] == sha[f"preview/scene/main/{key}.png"]
    assert sha[f"preview/scene/spin-3/{key}.png"] == sha[f"preview/scene/turned/{key}.png"]
    rows = {(r["quality"], r["view"]): r for r in project.status()
            if r.get("product") == "solo"}
    assert {v for q, v in rows if q == "preview"} == {"main", "turned", "spin-1", "spin-2",
                                                      "spin-3", "spin-4"}
    assert all(rows[("preview", v)]["missing"] == 0 for v in ("main", "spin-2"))
    # a layered quality: the order wants spin-3's layers only; they match turned's
    result = project.render("--quality", "layered", "--order", "turn")
    assert result.returncode == 0, result.stderr
    result = project.render("--quality", "layered", "--product", "solo", "--view", "turned")
    assert result.returncode == 0, result.stderr
    records = project.records()
    layered = {a for a in records if a.startswith("layered/")}
    spun = {a for a in layered if "/spin-3/" in a}
    assert spun == {f"layered/scene/spin-3/layer-10-{k}.png" for k in ("base", "box-3", "box-4")}
    assert {a for a in layered if "/turned/" in a} == {
        f"layered/scene/turned/layer-10-{k}.png" for k in ("base", "box-4")}
    for k in ("base", "box-4"):
        assert (records[f"layered/scene/spin-3/layer-10-{k}.png"]["sha256"]
                == records[f"layered/scene/turned/layer-10-{k}.png"]["sha256"]), k
