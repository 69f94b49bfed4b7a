"""Planning without Blender: what is wanted, and each job's reason against a stored index."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import base_catalog

from sitegen.catalog import Catalog, file_hashes
from sitegen.errors import SitegenError
from sitegen.layers import NEUTRAL, is_layer_name
from sitegen.plan import (
    BLENDER_INPUT,
    Stored,
    Wanted,
    changed_inputs,
    check_quality_unchanged,
    fingerprint,
    is_current,
    plan_renders,
    quality_settings,
    render_inputs,
    wanted_renders,
)

Load = Callable[..., Catalog]


def held(catalog: Catalog, wanted: list[Wanted], blender: str | None = None
         ) -> dict[str, Stored]:
    """An index holding every wanted picture, made from today's inputs."""
    hashes = file_hashes(catalog)
    out = {}
    for w in wanted:
        inputs = render_inputs(catalog, w, hashes, blender)
        out[w.address] = Stored(fingerprint(inputs), inputs)
    return out


def test_every_colouring_is_wanted_in_every_view_defaults_first(load: Load) -> None:
    catalog = load()
    wanted = list(wanted_renders(catalog))
    # wood-top 3 x 3, lino-top 3 x 2: 15 distinct keys, two views.
    assert len(wanted) == len({w.address for w in wanted}) == 30
    assert [w.default for w in wanted[:4]] == [True] * 4
    assert not any(w.default for w in wanted[4:])
    assert wanted[0].address == "preview/kino/front/frame-1127_top-1127_insert-0_rim-0.png"
    assert wanted[0].values == (("frame", 1127), ("top", 1127), ("insert", 0), ("rim", 0))
    assert {w.view for w in wanted} == {"front", "side"}
    assert list(wanted_renders(catalog, view="side")) == [w for w in wanted if w.view == "side"]


def test_a_default_only_product_wants_its_defaults(load: Load) -> None:
    data = base_catalog()
    data["products"][0]["render"] = "default"
    wanted = list(wanted_renders(load({"catalog.yaml": data})))
    assert len(wanted) == 4 and all(w.default for w in wanted)


def test_an_order_wants_its_selection_at_its_quality(load: Load) -> None:
    data = base_catalog()
    data["products"][0]["render"] = "default"
    data["qualities"].append({"id": "print", "engine": "cycles", "samples": 8,
                              "resolution": [128, 96], "format": "png"})
    data["orders"] = [{"id": "walnut", "product": "kino-stool", "quality": "print",
                       "views": ["front"], "select": {"Frame": {"finishes": [1140]}}}]
    catalog = load({"catalog.yaml": data})
    ordered = list(wanted_renders(catalog, order="walnut"))
    # Frame walnut: wood-top with 3 tops, lino-top with 2 inserts; front only.
    assert len(ordered) == 5
    assert {w.quality for w in ordered} == {"print"} and {w.view for w in ordered} == {"front"}
    assert all(dict(w.values)["frame"] == 1140 for w in ordered)
    assert not any(w.quality == "print" for w in wanted_renders(catalog, quality="preview"))


def test_a_layered_quality_wants_layers_each_with_its_meshes(load: Load) -> None:
    data = base_catalog()
    data["qualities"] = [{"id": "layered", "engine": "cycles", "samples": 4,
                          "resolution": [64, 48], "format": "png", "layers": True,
                          "primary": True}]
    wanted = list(wanted_renders(load({"catalog.yaml": data}), view="front"))
    assert all(is_layer_name(w.key) for w in wanted)
    by_key = {w.key: w for w in wanted}
    # Two presences (wood top: frame+top; lino top: frame+insert+rim): two backdrops.
    backdrop = by_key["layer-1100-base"]
    assert backdrop.layer == () and dict(backdrop.values) == {
        "frame": NEUTRAL, "top": NEUTRAL, "insert": 0, "rim": 0}
    frame = by_key["layer-1011-frame.rim-1140"]
    assert frame.layer == ("frame", "rim") and dict(frame.values) == {
        "frame": 1140, "top": 0, "insert": NEUTRAL, "rim": 1140}
    # Backdrops + wood-top (3 frames + 3 tops) + lino-top (3 frames + 2 inserts).
    assert len(wanted) == 2 + 6 + 5
    assert wanted[0].key == "layer-1100-base" and wanted[0].default


def test_a_quality_with_bounce_wants_bounce_images_last(load: Load) -> None:
    from sitegen.catalog import file_hashes
    from sitegen.layers import BOUNCE_SCALE
    from sitegen.plan import Job, fingerprint, render_inputs
    from sitegen.render import PoolSettings, open_message, render_fields
    from sitegen.store import companion_addresses

    data = base_catalog()
    data["qualities"] = [{"id": "layered", "engine": "cycles", "samples": 4,
                          "resolution": [64, 48], "format": "png", "layers": True,
                          "bounce": True, "primary": True}]
    catalog = load({"catalog.yaml": data})
    wanted = list(wanted_renders(catalog, view="front"))
    bounce = [w for w in wanted if w.bounce is not None]
    first = wanted.index(bounce[0])
    assert all(w.bounce is None for w in wanted[:first])
    assert all(w.bounce is not None for w in wanted[first:])
    assert first == 2 + 6 + 5  # the base layers as without bounce, then every bounce image
    by_key = {w.key: w for w in wanted}
    assert dict(by_key["layer-1100-base"].values) == {
        "frame": NEUTRAL, "top": NEUTRAL, "insert": 0, "rim": 0}
    image = by_key["layer-1011-frame.rim-1140.from-0010"]
    assert image.layer == ("frame", "rim") and image.bounce == (("insert",),)
    assert image.values == by_key["layer-1011-frame.rim-1140"].values
    assert render_fields(image)["layer"] == {
        "kind": "part", "meshes": ["frame", "rim"],
        "bounce": {"neighbours": [["insert"]], "scale": BOUNCE_SCALE}}
    assert render_fields(by_key["layer-1011-base.from-1021"])["layer"]["bounce"][
        "neighbours"] == [["frame", "rim"], ["insert"]]
    hashes = file_hashes(catalog)
    inputs = render_inputs(catalog, image, hashes)
    assert {"bounce", "neutral", "finish 1140"} <= set(inputs)
    assert "bounce" not in render_inputs(catalog, by_key["layer-1011-frame.rim-1140"], hashes)
    assert companion_addresses(image.address, [32]) == []  # no thumbnail, no sizes
    assert len(companion_addresses(by_key["layer-1011-frame.rim-1140"].address, [32])) == 2
    jobs = [Job(w, fingerprint(render_inputs(catalog, w, hashes)), {}, "missing")
            for w in wanted]
    materials = open_message(catalog, "layered", "kino", jobs, PoolSettings())["materials"]
    assert materials["white"]["color"] == "#ffffff"
    assert materials["neutral"]["color"] == "#b0b0b0"


def test_reasons_missing_ready_stale_forced(load: Load) -> None:
    catalog = load()
    wanted = list(wanted_renders(catalog))
    hashes = file_hashes(catalog)

    empty = plan_renders(catalog, wanted, {}, hashes)
    assert len(empty.jobs) == 30 and {j.reason for j in empty.jobs} == {"missing"}
    assert empty.ready == 0
    assert [j.wanted for j in empty.jobs] == wanted  # plan order kept
    assert empty.counts() == {("kino-stool", "missing"): 30}

    stored = held(catalog, wanted)
    ready = plan_renders(catalog, wanted, stored, hashes)
    assert ready.jobs == [] and ready.ready == 30

    forced = plan_renders(catalog, wanted, stored, hashes, force=True)
    assert {j.reason for j in forced.jobs} == {"forced"} and len(forced.jobs) == 30

    # One finish changes colour: the pictures that show it are stale.
    data = base_catalog()
    data["finishes"][2]["color"] = "#000000"  # 1140, walnut
    changed = load({"catalog.yaml": data})
    kept = plan_renders(changed, wanted, stored, file_hashes(changed))
    shows_walnut = [w for w in wanted if 1140 in dict(w.values).values()]
    # Per view: wood-top with a walnut frame or top (3 + 3 - 1), lino-top's walnut frames (2).
    assert kept.jobs == [] and kept.stale_kept == len(shows_walnut) == 2 * (5 + 2)
    redo = plan_renders(changed, wanted, stored, file_hashes(changed), stale=True)
    assert [j.wanted for j in redo.jobs] == shows_walnut
    assert {j.reason for j in redo.jobs} == {"stale: finish 1140"}
    assert redo.ready == 30 - len(shows_walnut)
    assert redo.counts() == {("kino-stool", "stale"): len(shows_walnut)}


def test_an_unknown_fingerprint_is_trusted(load: Load) -> None:
    catalog = load()
    wanted = list(wanted_renders(catalog))
    rebuilt = {w.address: Stored(None, {}) for w in wanted}
    plan = plan_renders(catalog, wanted, rebuilt, file_hashes(catalog), stale=True)
    assert plan.jobs == [] and plan.ready == 30


def test_a_changed_blend_file_makes_every_picture_stale(load: Load) -> None:
    catalog = load()
    wanted = list(wanted_renders(catalog))
    stored = held(catalog, wanted)
    hashes = {path: "0" * 64 for path in file_hashes(catalog)}
    plan = plan_renders(catalog, wanted, stored, hashes, stale=True)
    assert len(plan.jobs) == 30 and {j.reason for j in plan.jobs} == {"stale: model"}


def test_the_blender_version_is_compared_only_when_both_sides_know_it(load: Load) -> None:
    catalog = load()
    wanted = list(wanted_renders(catalog))[:1]
    hashes = file_hashes(catalog)
    inputs = render_inputs(catalog, wanted[0], hashes, "5.0.1")
    assert inputs[BLENDER_INPUT] == "5.0.1"
    assert BLENDER_INPUT not in render_inputs(catalog, wanted[0], hashes)
    stored = held(catalog, wanted, "5.0.1")
    assert plan_renders(catalog, wanted, stored, hashes, stale=True).ready == 1  # unknown here
    assert plan_renders(catalog, wanted, stored, hashes, blender="5.0.1").ready == 1
    other = plan_renders(catalog, wanted, stored, hashes, stale=True, blender="4.5.3")
    assert [j.reason for j in other.jobs] == ["stale: blender"]
    older = held(catalog, wanted)  # indexed before the version was an input
    assert plan_renders(catalog, wanted, older, hashes, blender="4.5.3").ready == 1


def test_is_current_and_changed_inputs() -> None:
    inputs = {"quality": "a", "model": "b"}
    assert is_current(Stored(fingerprint(inputs), inputs), dict(inputs))
    assert not is_current(Stored(fingerprint(inputs), inputs), {**inputs, "model": "c"})
    assert changed_inputs({"a": "1", "b": "2"}, {"a": "1", "b": "3", "c": "4"}) == "b, c"
    assert changed_inputs({"a": "1"}, {"a": "1"}) == "fingerprint"


def test_a_quality_with_renders_is_immutable(load: Load) -> None:
    quality = load().qualities["preview"]
    settings: dict[str, Any] = quality_settings(quality)
    check_quality_unchanged(quality, None)
    check_quality_unchanged(quality, settings)
    with pytest.raises(SitegenError, match=r"quality 'preview' already has renders made with "
                       r"other settings \(samples 2 -> 4\)"):
        check_quality_unchanged(quality, {**settings, "samples": 2})


# --- one colouring (`render --colouring`) ---------------------------------------------------

def test_a_colouring_wants_its_picture_in_every_view(load: Load) -> None:
    catalog = load()
    wanted = list(wanted_renders(catalog, products=["kino-stool"],
                                 colouring=("lino-top", (1140, 236))))
    assert [w.address for w in wanted] == [
        "preview/kino/front/frame-1140_top-0_insert-236_rim-1140.png",
        "preview/kino/side/frame-1140_top-0_insert-236_rim-1140.png"]
    assert not any(w.default for w in wanted)
    assert [w.address for w in wanted_renders(catalog, products=["kino-stool"], view="side",
                                              colouring=("lino-top", (1140, 236)))] == [
        wanted[1].address]
    default = list(wanted_renders(catalog, products=["kino-stool"],
                                  colouring=("wood-top", (1127, 1127))))
    assert len(default) == 2 and all(w.default for w in default)


def test_a_colouring_at_a_layered_quality_wants_its_layers_then_bounce_images(
        load: Load) -> None:
    from sitegen.expand import expand_product
    from sitegen.layers import colouring_layer_pictures

    data = base_catalog()
    data["qualities"].append({"id": "layered", "engine": "cycles", "samples": 4,
                              "resolution": [64, 48], "format": "png", "layers": True,
                              "bounce": True})
    catalog = load({"catalog.yaml": data})
    wanted = list(wanted_renders(catalog, quality="layered", products=["kino-stool"],
                                 colouring=("lino-top", (1140, 236))))
    plan = expand_product(catalog, catalog.products["kino-stool"])[1]
    pictures = colouring_layer_pictures(plan, (1140, 236), bounce=True)
    assert len(wanted) == 2 * len(pictures)
    assert {w.key for w in wanted} == {p.name for p in pictures}
    first = next(i for i, w in enumerate(wanted) if w.bounce is not None)
    assert all(w.bounce is not None for w in wanted[first:])  # bounce images last
    assert {w.key for w in wanted[:first]} == {
        "layer-1011-base", "layer-1011-frame.rim-1140", "layer-1011-insert-236"}
    # The layers are the ones the whole product wants (same names, same mesh values).
    every = {w.address: w for w in wanted_renders(catalog, quality="layered")}
    assert all(every[w.address].values == w.values for w in wanted)


def test_a_colouring_must_be_allowed_and_of_one_product(load: Load) -> None:
    catalog = load()
    with pytest.raises(SitegenError, match="not an allowed colouring"):
        list(wanted_renders(catalog, products=["kino-stool"],
                            colouring=("lino-top", (1140, 1140))))
    with pytest.raises(SitegenError, match="no kind 'oak'"):
        list(wanted_renders(catalog, products=["kino-stool"], colouring=("oak", (1140,))))
    with pytest.raises(SitegenError, match="exactly one product"):
        list(wanted_renders(catalog, colouring=("lino-top", (1140, 236))))
