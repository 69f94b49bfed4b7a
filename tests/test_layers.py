"""Layers without Blender: names, presence patterns, layer pictures, ready counts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conftest import base_catalog

from sitegen.catalog import Catalog
from sitegen.expand import count_union, expand_product, iter_colourings
from sitegen.layers import (
    NEUTRAL,
    LayerName,
    PresencePattern,
    backdrop_name,
    colouring_bounces,
    colouring_layer_pictures,
    colouring_layers,
    count_ready_from_layers,
    count_ready_from_layers_by,
    is_bounce_name,
    is_layer_name,
    kind_patterns,
    parse_layer_name,
    part_layer_name,
    pattern_layer_pictures,
    presence_of,
)

Load = Callable[..., Catalog]


def optional_top() -> dict[str, Any]:
    """The base catalog with the wood-top kind's Top optional (removable)."""
    data = base_catalog()
    data["products"][0]["kinds"][0]["parts"][1]["optional"] = True
    return data


def test_names_and_their_parse() -> None:
    assert presence_of([1127, 0, 235, 1127]) == "1011"
    assert backdrop_name("1011") == "layer-1011-base"
    assert part_layer_name("1011", ["frame", "rim"], 1127) == "layer-1011-frame.rim-1127"
    assert parse_layer_name("layer-1011-base") == LayerName("1011", (), 0)
    assert parse_layer_name("layer-1011-frame.rim-1127") == LayerName(
        "1011", ("frame", "rim"), 1127)
    for not_a_layer in ("frame-1127_top-0_insert-235_rim-1127", "layer-1011", "layer-10a1-x-1",
                        "layer-1011-frame-x", "layer--base"):
        assert parse_layer_name(not_a_layer) is None, not_a_layer
    assert not is_layer_name("frame-1127_top-0_insert-235_rim-1127")


def test_each_kind_has_one_pattern_when_no_part_is_optional(load: Load) -> None:
    catalog = load()
    product = catalog.products["kino-stool"]
    wood, lino = expand_product(catalog, product)
    assert kind_patterns(catalog, product, wood) == (
        PresencePattern((True, True), "1100", ((1127, 1128, 1140), (1127, 1128, 1140))),)
    [pattern] = kind_patterns(catalog, product, lino)
    assert pattern.presence == "1011" and pattern.values == ((1127, 1128, 1140), (235, 236))
    assert [name for _, _, name in pattern.layers(lino)] == [
        "layer-1011-frame.rim-1127", "layer-1011-frame.rim-1128", "layer-1011-frame.rim-1140",
        "layer-1011-insert-235", "layer-1011-insert-236"]


def test_an_optional_part_adds_a_pattern_without_it(load: Load) -> None:
    catalog = load({"catalog.yaml": optional_top()})
    product = catalog.products["kino-stool"]
    wood = expand_product(catalog, product)[0]
    present, absent = kind_patterns(catalog, product, wood)
    assert (present.present, present.presence) == ((True, True), "1100")
    assert (absent.present, absent.presence) == ((True, False), "1000")
    assert absent.values == ((1127, 1128, 1140), (0,))
    assert [name for _, _, name in absent.layers(wood)] == [
        "layer-1000-frame-1127", "layer-1000-frame-1128", "layer-1000-frame-1140"]


def test_a_colourings_layer_pictures(load: Load) -> None:
    catalog = load()
    lino = expand_product(catalog, catalog.products["kino-stool"])[1]
    backdrop, frame, insert = colouring_layer_pictures(lino, (1128, 236))
    assert (backdrop.name, backdrop.meshes) == ("layer-1011-base", ())
    assert backdrop.mesh_values == (NEUTRAL, 0, NEUTRAL, NEUTRAL)
    assert (frame.name, frame.meshes) == ("layer-1011-frame.rim-1128", ("frame", "rim"))
    assert frame.mesh_values == (1128, 0, NEUTRAL, 1128)
    assert (insert.name, insert.meshes) == ("layer-1011-insert-236", ("insert",))
    assert insert.mesh_values == (NEUTRAL, 0, 236, NEUTRAL)
    assert colouring_layers(lino, (1128, 236)) == [backdrop.name, frame.name, insert.name]


def test_a_colourings_bounce_images(load: Load) -> None:
    """With `bounce`: the base layers as without; after them, one bounce image per stacked
    layer with neighbours, its neighbours numbered by first mesh."""
    catalog = load()
    lino = expand_product(catalog, catalog.products["kino-stool"])[1]  # frame+rim, insert
    pictures = colouring_layer_pictures(lino, (1128, 236), bounce=True)
    backdrop, frame, insert, *bounce = pictures
    assert pictures[:3] == colouring_layer_pictures(lino, (1128, 236))
    assert [(b.name, b.meshes, b.bounce, b.mesh_values) for b in bounce] == [
        ("layer-1011-base.from-1021", (), (("frame", "rim"), ("insert",)),
         backdrop.mesh_values),
        ("layer-1011-frame.rim-1128.from-0010", ("frame", "rim"), (("insert",),),
         frame.mesh_values),
        ("layer-1011-insert-236.from-1001", ("insert",), (("frame", "rim"),),
         insert.mesh_values)]
    assert colouring_bounces(lino, (1128, 236)) == [
        (0, bounce[0].name, [1128, 236]), (1, bounce[1].name, [236]),
        (2, bounce[2].name, [1128])]
    for b in bounce:
        assert is_bounce_name(b.name) and parse_layer_name(b.name) is None
    assert not any(is_bounce_name(p.name) for p in pictures[:3])
    # A part alone has no neighbours: its layer has no bounce image; the backdrop has one.
    catalog = load({"catalog.yaml": optional_top()})
    wood = expand_product(catalog, catalog.products["kino-stool"])[0]
    names = [p.name for p in colouring_layer_pictures(wood, (1127, 0), bounce=True)]
    assert names == ["layer-1000-base", "layer-1000-frame-1127", "layer-1000-base.from-1000"]


def test_a_patterns_pictures_are_every_colourings_layers(load: Load) -> None:
    catalog = load({"catalog.yaml": optional_top()})
    product = catalog.products["kino-stool"]
    for plan in expand_product(catalog, product):
        from_patterns = {picture for pattern in kind_patterns(catalog, product, plan)
                         for picture in pattern_layer_pictures(plan, pattern)}
        from_colourings = {picture for values in iter_colourings(plan)
                           for picture in colouring_layer_pictures(plan, values)}
        assert from_patterns == from_colourings
        assert ({p for pattern in kind_patterns(catalog, product, plan)
                 for p in pattern_layer_pictures(plan, pattern, True)}
                == {p for values in iter_colourings(plan)
                    for p in colouring_layer_pictures(plan, values, True)})


def test_ready_counts_follow_the_ready_layers(load: Load) -> None:
    catalog = load({"catalog.yaml": optional_top()})
    product = catalog.products["kino-stool"]
    plans = expand_product(catalog, product)
    every = {name for plan in plans for values in iter_colourings(plan)
             for name in colouring_layers(plan, values)}
    # wood-top: 3 frames x (3 tops + none); lino-top 3 x 2.
    assert count_ready_from_layers(catalog, product, every) == count_union(plans) == 18
    assert count_ready_from_layers(catalog, product, set()) == 0
    assert count_ready_from_layers(catalog, product, every, kinds=["lino-top"]) == 6
    assert count_ready_from_layers(catalog, product, every, {"Frame": [1140]}) == 6
    # Without the walnut frame on the lino top's presence, 2 fewer; without its backdrop, 6.
    assert count_ready_from_layers(
        catalog, product, every - {"layer-1011-frame.rim-1140"}) == 16
    assert count_ready_from_layers(catalog, product, every - {"layer-1011-base"}) == 12
    # The top-less wood colourings need their own backdrop and frame layers only.
    assert count_ready_from_layers(
        catalog, product, {"layer-1000-base", "layer-1000-frame-1127"}) == 1
    by_frame = count_ready_from_layers_by(
        catalog, product, every - {"layer-1011-frame.rim-1140"}, "Frame")
    assert by_frame == {1127: 6, 1128: 6, 1140: 4}
    # Both kinds have a Top: wood (or none) on the wood top, linoleum on the insert.
    assert count_ready_from_layers_by(catalog, product, every, "Top") == {
        0: 3, 1127: 3, 1128: 3, 1140: 3, 235: 3, 236: 3}
