"""Expansion: the worked examples of DOMAIN.md and each rule of CATALOG_FORMAT.md."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conftest import base_catalog

from sitegen.expand import (
    count_colourings,
    count_union,
    default_colouring,
    expand_product,
    iter_colourings,
    iter_keys,
    parse_key,
    product_keys,
    sketchbook_entries,
)

Load = Callable[..., Any]


def plans_of(catalog: Any, product: str = "kino-stool") -> Any:
    return expand_product(catalog, catalog.products[product])


def test_kino_keys_are_mesh_based(load: Load) -> None:
    wood, lino = plans_of(load())
    assert list(iter_keys(wood))[:2] == ["frame-1127_top-1127_insert-0_rim-0",
                                         "frame-1127_top-1128_insert-0_rim-0"]
    assert lino.key((1127, 235)) == "frame-1127_top-0_insert-235_rim-1127"
    assert count_colourings(wood) == 9 and count_colourings(lino) == 6
    assert default_colouring(wood) == (1127, 1127)
    assert default_colouring(lino) == (1127, 235)


def test_archived_finishes_are_not_offered(load: Load) -> None:
    cat = base_catalog()
    cat["finishes"][1]["archived"] = True
    wood, _ = plans_of(load({"c.yaml": cat}))
    assert wood.parts[0].offered == (1127, 1140)


def test_limitation_by_patterns_or_finishes(load: Load) -> None:
    cat = base_catalog()
    cat["limitations"] = [{"id": "light", "patterns": ["oak"], "finishes": [1140]},
                          {"id": "one", "finishes": [1128]}]
    parts = cat["products"][0]["kinds"][0]["parts"]
    parts[0]["limited"] = "one"
    del parts[0]["default"]
    parts[1]["limited"] = "light"
    wood, _ = plans_of(load({"c.yaml": cat}))
    assert [list(p.offered) for p in wood.parts] == [[1128], [1127, 1128, 1140]]


def test_optional_part_can_be_removed_and_is_present_by_default(load: Load) -> None:
    cat = base_catalog()
    cat["products"][0]["kinds"][0]["parts"][1]["optional"] = True
    wood, _ = plans_of(load({"c.yaml": cat}))
    assert wood.parts[1].plain == (1127, 1128, 1140, 0)
    assert default_colouring(wood) == (1127, 1127)
    assert "frame-1140_top-0_insert-0_rim-0" in set(iter_keys(wood))


def charted(cat: dict[str, Any], chart: dict[int, list[int]], optional: bool = False,
            **extra: Any) -> dict[str, Any]:
    cat["colorcharts"] = [{"id": "band", "map": chart}]
    cat["products"][0]["kinds"][0]["parts"].append(
        {"part": "Band", "covered": ["mdf"], "meshes": ["rim"], "colorchart": "band",
         "optional": optional, **extra})
    return cat


def test_chart_with_one_choice_determines_the_part(load: Load) -> None:
    cat = charted(base_catalog(), {1127: [2001], 1128: [2001], 1140: [2002]})
    wood, _ = plans_of(load({"c.yaml": cat}))
    assert count_colourings(wood) == 9
    assert default_colouring(wood) == (1127, 1127, 2001)
    assert (1127, 1140, 2002) in set(iter_colourings(wood))


def test_chart_choices_keep_chart_order_and_are_filtered_to_offered(load: Load) -> None:
    cat = charted(base_catalog(), {1127: [2002, 235, 2001], 1128: [2001], 1140: [2001]})
    cat["products"][0]["kinds"][0]["parts"][2]["source"] = "Frame"
    wood, _ = plans_of(load({"c.yaml": cat}))
    band = wood.parts[2]
    assert band.source == 0
    assert band.choices(1127) == (2002, 2001)  # 235 is linoleum: never offered by Band
    assert count_colourings(wood) == 3 * (2 + 1 + 1)


def test_missing_source_finish_leaves_no_choice_unless_optional(load: Load) -> None:
    cat = charted(base_catalog(), {1127: [2001]})
    wood, _ = plans_of(load({"c.yaml": cat}))
    assert count_colourings(wood) == 3  # only Top = 1127 has a Band
    cat = charted(base_catalog(), {1127: [2001]}, optional=True)
    wood, _ = plans_of(load({"c.yaml": cat}))
    assert count_colourings(wood) == 9 + 3
    assert wood.parts[2].choices(1140) == (0,)


def test_removed_source_removes_its_charted_part(load: Load) -> None:
    cat = charted(base_catalog(), {1127: [2001], 1128: [2001], 1140: [2002]})
    cat["products"][0]["kinds"][0]["parts"][1]["optional"] = True
    wood, _ = plans_of(load({"c.yaml": cat}))
    assert (1127, 0, 0) in set(iter_colourings(wood))
    assert count_colourings(wood) == 12


def test_default_falls_back_to_the_first_allowed_colouring(load: Load) -> None:
    cat = charted(base_catalog(), {1140: [2002]})  # only a walnut Top has a Band
    wood, _ = plans_of(load({"c.yaml": cat}))
    assert default_colouring(wood) == (1127, 1140, 2002)
    assert default_colouring(wood) == next(iter_colourings(wood))


def test_kind_with_no_colouring(load: Load) -> None:
    cat = charted(base_catalog(), {2001: [2001]})
    wood, _ = plans_of(load({"c.yaml": cat}))
    assert count_colourings(wood) == 0 and default_colouring(wood) is None
    assert list(iter_colourings(wood)) == []


def test_product_count_merges_keys_shared_by_kinds(load: Load) -> None:
    cat = base_catalog()
    kinds = cat["products"][0]["kinds"]
    # A third kind equal to wood-top but with Top optional: 9 of its 12 keys are wood-top's.
    kinds.append({"id": "bare", "parts": [dict(kinds[0]["parts"][0]),
                                          dict(kinds[0]["parts"][1], optional=True)]})
    plans = plans_of(load({"c.yaml": cat}))
    keys = product_keys(plans)
    assert len(keys) == len(set(keys)) == 9 + 6 + 3
    assert count_union(plans) == len(keys)


def test_keys_parse_back(load: Load) -> None:
    _, lino = plans_of(load())
    key = lino.key((1128, 236))
    assert parse_key(key) == [("frame", 1128), ("top", 0), ("insert", 236), ("rim", 1128)]


def test_sketchbook_entries_kino_follows_maru_switches(load: Load) -> None:
    cat = base_catalog()
    cat["models"].append({"id": "maru", "blend": "kino.blend",
                          "meshes": ["frame", "pads", "padend", "table", "bolsters"]})
    cat["products"].append({"id": "maru", "model": "maru", "kinds": [
        {"id": "without", "parts": [
            {"part": "Frame", "covered": ["wood"], "meshes": ["frame"]},
            {"part": "Pads", "covered": ["linoleum"], "meshes": ["pads", "padend"]}]},
        {"id": "with", "parts": [
            {"part": "Frame", "covered": ["wood"], "meshes": ["frame", "table"]},
            {"part": "Pads", "covered": ["linoleum"], "meshes": ["pads"]}]},
        {"id": "stool", "parts": [{"part": "Seat", "covered": ["wood"], "meshes": ["pads"]}]},
    ]})
    catalog = load({"c.yaml": cat})
    (kino,) = sketchbook_entries(plans_of(catalog))
    assert kino.kinds == ("wood-top", "lino-top") and not kino.style_switch
    maru, stool = sketchbook_entries(plans_of(catalog, "maru"))
    assert maru.kinds == ("without", "with") and maru.style_switch
    assert maru.parts == ("Frame", "Pads")
    assert stool.kinds == ("stool",) and not stool.style_switch


def test_counting_10_to_the_15_is_structural(load: Load) -> None:
    cat = base_catalog()
    cat["natures"].append({"id": "metal"})
    cat["patterns"].append({"id": "steel", "nature": "metal"})
    cat["finishes"] += [{"id": 5000 + i, "pattern": "steel", "color": "#808080"}
                        for i in range(1000)]
    cat["models"][0]["meshes"] += ["a", "b", "c"]
    cat["colorcharts"] = [{"id": "next", "map": {5000 + i: [5000 + (i + j) % 1000
                                                            for j in range(10)]
                                                 for i in range(1000)}}]
    cat["products"][0]["kinds"][0]["parts"] = [
        {"part": name, "covered": ["metal"], "meshes": [mesh]}
        for name, mesh in zip(["A", "B", "C", "D", "E"], ["frame", "top", "insert", "rim", "a"],
                              strict=True)
    ] + [{"part": "F", "covered": ["metal"], "meshes": ["b"], "colorchart": "next"},
         {"part": "G", "covered": ["metal"], "meshes": ["c"], "colorchart": "next"}]
    wood, _ = plans_of(load({"c.yaml": cat}))
    assert count_colourings(wood) == 1000**5 * 10 * 10  # timed in `make bench`


def test_layer_names_list_a_parts_meshes_in_model_order(load: Load) -> None:
    from sitegen.layers import LayerName, colouring_layers, kind_patterns, parse_layer_name

    cat = base_catalog()
    cat["products"][0]["kinds"][1]["parts"][0]["meshes"] = ["rim", "frame"]  # not model order
    catalog = load({"catalog.yaml": cat})
    product = catalog.products["kino-stool"]
    lino = expand_product(catalog, product)[1]
    [pattern] = kind_patterns(catalog, product, lino)
    assert pattern.presence == "1011"
    assert [name for _, _, name in pattern.layers(lino)][:1] == ["layer-1011-frame.rim-1127"]
    assert colouring_layers(lino, (1127, 235)) == [
        "layer-1011-base", "layer-1011-frame.rim-1127", "layer-1011-insert-235"]
    assert parse_layer_name("layer-1011-frame.rim-1127") == LayerName("1011", ("frame", "rim"),
                                                                      1127)
    assert parse_layer_name("layer-1011-base") == LayerName("1011", (), 0)
    assert parse_layer_name("frame-1127_top-0_insert-0_rim-0") is None
    assert parse_layer_name("layer-1127") is None  # the key of a one-mesh model named "layer"
