"""Loading and validation: every rule of CATALOG_FORMAT.md, each broken catalog's exact message."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import base_catalog, write_png

from sitegen.catalog.load import load_catalog
from sitegen.errors import CatalogError


def kind_part(cat: dict[str, Any], kind: int, part: int) -> dict[str, Any]:
    return cat["products"][0]["kinds"][kind]["parts"][part]  # type: ignore[no-any-return]


def mutate_set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(cat: dict[str, Any]) -> None:
        node = cat
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value
    return apply


def chart_first(cat: dict[str, Any]) -> None:
    cat["colorcharts"] = [{"id": "band", "map": {1127: [2001]}}]
    part = kind_part(cat, 0, 0)
    part["colorchart"] = "band"
    part["covered"] = ["mdf"]
    del part["default"]


def chart_cycle(cat: dict[str, Any]) -> None:
    cat["colorcharts"] = [{"id": "same", "map": {1127: [1128]}}]
    kind = cat["products"][0]["kinds"][0]
    kind["parts"][0].update(colorchart="same", source="Top")
    del kind["parts"][0]["default"]
    kind["parts"][1].update(colorchart="same", source="Frame")


def forward_source(cat: dict[str, Any]) -> None:
    cat["colorcharts"] = [{"id": "same", "map": {1127: [1128]}}]
    kind = cat["products"][0]["kinds"][0]
    kind["parts"].append({"part": "Rim", "covered": ["wood"], "meshes": ["rim"]})
    kind["parts"][1].update(colorchart="same", source="Rim")


def duplicate_finish(cat: dict[str, Any]) -> None:
    cat["finishes"].append({"id": 1128, "pattern": "walnut", "name": "Again",
                            "color": "#000000"})


def two_primaries(cat: dict[str, Any]) -> None:
    cat["qualities"].append({"id": "hero", "engine": "cycles", "resolution": [8, 8],
                             "format": "png", "primary": True})


def map_mode_pattern(cat: dict[str, Any]) -> None:
    cat["patterns"][0]["maps"] = {"normal": "pattern"}


def finish_texture_missing(cat: dict[str, Any]) -> None:
    cat["finishes"][0]["textures"] = {"diffuse": "tex/1127.png"}


def order_not_offered(cat: dict[str, Any]) -> None:
    cat["orders"] = [{"id": "spring", "product": "kino-stool",
                      "select": {"Frame": {"finishes": [235]}}}]


def order_unknown_part(cat: dict[str, Any]) -> None:
    cat["orders"] = [{"id": "spring", "product": "kino-stool", "select": {"Legs": {}}}]


# (name, mutation, needle: a text on the line the error must point at, expected message tail)
BROKEN: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    ("unknown nature", mutate_set(("products", 0, "kinds", 0, "parts", 1, "covered"), ["lino"]),
     "- lino", "products[0].kinds[0].parts[1].covered[0]: unknown nature 'lino' "
     "(known: fabric, linoleum, mdf, wood)"),
    ("unknown pattern", mutate_set(("finishes", 2, "pattern"), "wallnut"), "pattern: wallnut",
     "finishes[2].pattern: unknown pattern 'wallnut' (known: lino, mdf, oak, walnut)"),
    ("unknown model", mutate_set(("products", 0, "model"), "kinoo"), "model: kinoo",
     "products[0].model: unknown model 'kinoo' (known: kino)"),
    ("unknown mesh", mutate_set(("products", 0, "kinds", 0, "parts", 1, "meshes"), ["seat"]),
     "- seat", "products[0].kinds[0].parts[1].meshes[0]: unknown mesh 'seat' of model 'kino' "
     "(known: frame, top, insert, rim)"),
    ("unknown limitation", mutate_set(("products", 0, "kinds", 0, "parts", 1, "limited"), "dark"),
     "limited: dark", "products[0].kinds[0].parts[1].limited: unknown limitation 'dark' "
     "(no limitations defined)"),
    ("unknown field", mutate_set(("finishes", 0, "colour"), "#ffffff"), "colour:",
     "finishes[0].colour: unknown field 'colour' (allowed: id, pattern, name, color, textures, "
     "archived)"),
    ("unknown part field", mutate_set(("products", 0, "kinds", 0, "parts", 0, "colour"), 1),
     "colour: 1", "products[0].kinds[0].parts[0].colour: unknown field 'colour' (allowed: part, "
     "covered, meshes, default, optional, limited, colorchart, source)"),
    ("missing colour", lambda c: c["finishes"][1].pop("color"), "id: 1128\n",
     "finishes[1].color: missing required field 'color'"),
    ("finish id not an integer", mutate_set(("finishes", 1, "id"), "1128"), "id: '1128'",
     "finishes[1].id: Input should be a valid integer (got '1128')"),
    ("finish id zero", mutate_set(("finishes", 1, "id"), 0), "id: 0",
     "finishes[1].id: Input should be greater than or equal to 1 (got 0)"),
    ("slug of the wrong form", mutate_set(("products", 0, "id"), "Kino_Stool"), "id: Kino_Stool",
     "products[0].id: 'Kino_Stool' is not a valid id: lowercase letters and digits in words "
     "joined by single dashes, at most 64 characters"),
    ("mesh id of the wrong form", mutate_set(("models", 0, "meshes", 1), "Top"), "- Top",
     "models[0].meshes[1].id: 'Top' is not a valid mesh or view id: a lowercase letter, then "
     "lowercase letters and digits, at most 32 characters"),
    ("part name of the wrong form", mutate_set(("products", 0, "kinds", 0, "parts", 1, "part"),
                                               "Top/Seat"), "part: Top/Seat",
     "products[0].kinds[0].parts[1].part: 'Top/Seat' is not a valid part name: 1 to 40 "
     "letters, digits and spaces"),
    ("bad colour", mutate_set(("finishes", 0, "color"), "brown"), "color: brown",
     "finishes[0].color: 'brown' is not a colour: use #rrggbb, e.g. \"#c8a27a\""),
    ("bad engine", mutate_set(("qualities", 0, "engine"), "octane"), "engine: octane",
     "qualities[0].engine: Input should be 'cycles', 'eevee' or 'workbench'"),
    ("default not offered", mutate_set(("products", 0, "kinds", 0, "parts", 0, "default"), 235),
     "default: 235", "products[0].kinds[0].parts[0].default: default 235 is not offered by this "
     "part (offered: 1127, 1128, 1140)"),
    ("mesh twice in a kind", mutate_set(("products", 0, "kinds", 1, "parts", 1, "meshes"),
                                        ["insert", "rim"]), "      - insert\n…- rim\n",
     "products[0].kinds[1].parts[1].meshes[1]: mesh 'rim' is coloured twice in this kind "
     "(also by part 'Frame')"),
    ("part name twice", mutate_set(("products", 0, "kinds", 0, "parts", 1, "part"), "Frame"),
     "part: Frame\n      covered:\n      - wood\n      meshes:\n      - top",
     "products[0].kinds[0].parts[1].part: part name 'Frame' is used twice in this kind"),
    ("chart without a source", chart_first, "colorchart: band",
     "products[0].kinds[0].parts[0].colorchart: a colorcharted part needs a source: name one "
     "with source, or put the part after its source (the default source is the part just "
     "before)"),
    ("chart cycle", chart_cycle, "source: Top",
     "products[0].kinds[0].parts[0].source: colorchart cycle: Frame -> Top -> Frame (each part "
     "reads the one after the arrow)"),
    ("source after its part", forward_source, "source: Rim",
     "products[0].kinds[0].parts[1].source: source 'Rim' comes after 'Top'; a source must come "
     "before the parts that read it"),
    ("source without chart", mutate_set(("products", 0, "kinds", 0, "parts", 1, "source"),
                                        "Frame"), "source: Frame",
     "products[0].kinds[0].parts[1].source: source is only allowed with colorchart"),
    ("duplicate id", duplicate_finish, "- id: 1128\n  pattern: walnut",
     "finishes[7].id: duplicate id 1128 (also defined at cat/catalog.yaml:"),
    ("two primary qualities", two_primaries, "id: hero…primary: true",
     "qualities[1].primary: exactly one quality must be primary: true (primary now: preview, "
     "hero)"),
    ("blend missing", mutate_set(("models", 0, "blend"), "models/nope.blend"), "blend: models",
     "models[0].blend: file not found: 'models/nope.blend' (looked for cat/models/nope.blend)"),
    ("blend outside the catalog", mutate_set(("models", 0, "blend"), "../kino.blend"),
     "blend: ../kino.blend", "models[0].blend: '../kino.blend' lies outside the catalog folder "
     "cat; paths are relative to the YAML file and must stay inside the catalog"),
    ("pattern map without texture", map_mode_pattern, "normal: pattern",
     "patterns[0].maps.normal: map mode 'pattern' needs the pattern's own texture: add "
     "textures.normal"),
    ("finish texture missing for a sibling", finish_texture_missing, "id: 1128\n",
     "finishes[1].textures: finish 1128: pattern 'oak' takes its diffuse map from each finish "
     "(map mode 'finish'), and finish 1128 has no textures.diffuse"),
    ("order selects a finish the part never offers", order_not_offered, "- 235\n",
     "orders[0].select.Frame.finishes[0]: part 'Frame' never offers finish 235 (it offers: "
     "1127, 1128, 1140)"),
    ("order selects an unknown part", order_unknown_part, "Legs:",
     "orders[0].select.Legs: unknown part 'Legs' of product 'kino-stool' (parts: Frame, Top)"),
    ("layered jpeg", lambda c: c["qualities"][0].update(format="jpeg", layers=True),
     "format: jpeg", "qualities[0].format: a layered quality needs an alpha channel for its "
     "part layers: use png or webp (jpeg_quality: 100 makes webp lossless)"),
    ("layered avif", lambda c: c["qualities"][0].update(format="avif", layers=True),
     "format: avif", "qualities[0].format: avif is for opaque pictures: browsers decode its "
     "alpha differently from Pillow (Chromium by up to 20 levels), so transparent pictures "
     "and layers need png or webp (docs/catalog-readings.md)"),
    ("layered eevee", lambda c: c["qualities"][0].update(engine="eevee", layers=True),
     "engine: eevee", "qualities[0].engine: layers are rendered with Cycles holdouts; eevee is "
     "not supported for layers: use engine: cycles"),
    ("layered transparent", lambda c: c["qualities"][0].update(transparent=True, layers=True),
     "transparent: true", "qualities[0].transparent: a layered quality's backdrop is the "
     "picture's background: use transparent: false"),
    ("bounce without layers", lambda c: c["qualities"][0].update(bounce=True),
     "bounce: true", "qualities[0].bounce: bounce images belong to part layers: use "
     "layers: true, or bounce: false"),
    ("unknown section", mutate_set(("materials",), []), "materials:",
     "materials: unknown section 'materials' (allowed: site, natures, patterns, finishes, "
     "limitations, colorcharts, qualities, models, products, orders)"),
]


@pytest.mark.parametrize(("name", "mutation", "needle", "expected"), BROKEN,
                         ids=[case[0] for case in BROKEN])
def test_broken_catalog_is_refused_with_its_place(
    make_catalog: Callable[..., Path], name: str, mutation: Callable[[dict[str, Any]], None],
    needle: str, expected: str,
) -> None:
    cat = base_catalog()
    mutation(cat)
    if name == "finish texture missing for a sibling":
        write_png(Path("cat/tex/1127.png"))
    text = yaml.safe_dump(cat, sort_keys=False)
    root = make_catalog({"catalog.yaml": text})
    with pytest.raises(CatalogError) as info:
        load_catalog(root)
    # The needle's line; `anchor…needle` looks for the needle after the anchor.
    anchor, _, after = needle.rpartition("…")
    line = text[: text.index(after, text.index(anchor))].count("\n") + 1
    messages = [str(p) for p in info.value.problems if not p.warning]
    assert any(m.startswith(f"cat/catalog.yaml:{line}: {expected}") for m in messages), messages


def test_every_error_is_reported_in_one_run(make_catalog: Callable[..., Path]) -> None:
    cat = base_catalog()
    cat["finishes"][0]["color"] = "red"
    cat["products"][0]["model"] = "nope"
    cat["qualities"][0]["engine"] = "octane"
    root = make_catalog({"catalog.yaml": cat})
    with pytest.raises(CatalogError) as info:
        load_catalog(root)
    fields = [p.field for p in info.value.problems]
    assert fields == ["finishes[0].color", "qualities[0].engine", "products[0].model"]
    assert str(info.value).endswith("catalog invalid: 3 error(s)")


def test_expansion_checks_report_with_the_others_and_orders_wait_for_a_clean_catalog(
        make_catalog: Callable[..., Path]) -> None:
    """A default not offered is found beside other errors; an order's selection is checked
    (and the kinds warned about) only once nothing else is wrong."""
    cat = base_catalog()
    kind_part(cat, 0, 0)["default"] = 235
    cat["orders"] = [{"id": "o", "product": "kino-stool", "select": {"Frame": {"finishes": [235]}}}]
    cat["patterns"][0]["nature"] = "stone"
    with pytest.raises(CatalogError) as info:
        load_catalog(make_catalog({"catalog.yaml": cat}))
    assert [p.field for p in info.value.problems] == [
        "patterns[0].nature", "products[0].kinds[0].parts[0].default"]
    cat["patterns"][0]["nature"] = "wood"
    with pytest.raises(CatalogError) as info:
        load_catalog(make_catalog({"catalog.yaml": cat}))
    assert [p.field for p in info.value.problems] == ["products[0].kinds[0].parts[0].default"]
    kind_part(cat, 0, 0)["default"] = 1127
    with pytest.raises(CatalogError) as info:
        load_catalog(make_catalog({"catalog.yaml": cat}))
    assert [p.field for p in info.value.problems] == ["orders[0].select.Frame.finishes[0]"]


def test_sections_merge_across_files_and_duplicates_name_both_files(
    make_catalog: Callable[..., Path],
) -> None:
    cat = base_catalog()
    finishes = cat.pop("finishes")
    root = make_catalog({"a.yaml": cat, "sub/finishes.yml": {"finishes": finishes},
                         "z.yaml": {"finishes": [finishes[0]]}})
    with pytest.raises(CatalogError) as info:
        load_catalog(root)
    (problem,) = info.value.problems
    assert str(problem) == ("cat/z.yaml:2: finishes[0].id: duplicate id 1127 (also defined at "
                            "cat/sub/finishes.yml:2)")


def test_files_are_read_in_sorted_path_order(load: Callable[..., Any]) -> None:
    cat = base_catalog()
    finishes = cat.pop("finishes")
    catalog = load({"m.yaml": cat, "b/x.yaml": {"finishes": finishes[3:]},
                    "a.yaml": {"finishes": finishes[:3]}})
    assert list(catalog.finishes) == [1127, 1128, 1140, 235, 236, 2001, 2002]


def test_yaml_syntax_error_names_its_line(make_catalog: Callable[..., Path]) -> None:
    root = make_catalog({"catalog.yaml": "natures:\n  - {id: wood\n  - {id: metal}\n"})
    with pytest.raises(CatalogError) as info:
        load_catalog(root)
    (problem,) = info.value.problems
    assert problem.file == "cat/catalog.yaml" and problem.line == 3
    assert problem.field == "yaml" and problem.message.startswith("invalid YAML:")


def test_python_tags_are_refused(make_catalog: Callable[..., Path], tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f"natures: !!python/object/apply:os.system ['touch {marker}']\n"
    root = make_catalog({"catalog.yaml": text})
    with pytest.raises(CatalogError) as info:
        load_catalog(root)
    assert "invalid YAML" in str(info.value)
    assert not marker.exists()


def test_alias_bomb_is_refused(make_catalog: Callable[..., Path]) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    text = "natures:\n  - id: wood\n    name:\n" + "\n".join(
        "      " + line for line in lines) + "\n"
    root = make_catalog({"catalog.yaml": text})
    with pytest.raises(CatalogError) as info:
        load_catalog(root)
    assert "expands to more than" in str(info.value)


def test_site_twice_is_an_error(make_catalog: Callable[..., Path]) -> None:
    cat = base_catalog()
    root = make_catalog({"a.yaml": cat, "b.yaml": {"site": {"title": "Again"}}})
    with pytest.raises(CatalogError) as info:
        load_catalog(root)
    assert [str(p) for p in info.value.problems] == [
        "cat/b.yaml:1: site: site is defined twice (also at cat/a.yaml:1); it may appear once"]


def test_a_file_must_be_a_mapping(make_catalog: Callable[..., Path]) -> None:
    root = make_catalog({"catalog.yaml": base_catalog(), "list.yaml": "- 1\n- 2\n"})
    with pytest.raises(CatalogError) as info:
        load_catalog(root)
    assert str(info.value.problems[0]).startswith("cat/list.yaml:1: a catalog file must be a "
                                                  "mapping of sections")


def test_no_primary_quality(make_catalog: Callable[..., Path]) -> None:
    cat = base_catalog()
    cat["qualities"][0]["primary"] = False
    with pytest.raises(CatalogError, match=r"qualities\[0\].primary: exactly one quality must "
                       r"be primary: true \(primary now: none\)"):
        load_catalog(make_catalog({"catalog.yaml": cat}))


def test_a_broken_entity_is_not_also_reported_as_unknown(make_catalog: Callable[..., Path]
                                                         ) -> None:
    cat = base_catalog()
    cat["models"][0]["views"] = ["Front"]
    with pytest.raises(CatalogError) as info:
        load_catalog(make_catalog({"catalog.yaml": cat}))
    assert [p.field for p in info.value.problems] == ["models[0].views[0]"]


def test_texture_paths_resolve_relative_to_their_file(load: Callable[..., Any]) -> None:
    cat = base_catalog()
    finishes = cat.pop("finishes")
    finishes[0]["textures"] = {"diffuse": "../tex/oak.png"}
    write_png(Path("cat/tex/oak.png"))
    cat["patterns"][0]["maps"] = {"diffuse": "pattern"}
    cat["patterns"][0]["textures"] = {"diffuse": "tex/oak.png"}
    catalog = load({"catalog.yaml": cat, "materials/finishes.yaml": {"finishes": finishes}})
    finish = catalog.finishes[1127]
    assert catalog.texture_path(finish, "diffuse") == Path("cat/tex/oak.png").resolve()
    assert catalog.texture_path(catalog.patterns["oak"], "diffuse") == Path("cat/tex/oak.png"
                                                                             ).resolve()
    assert catalog.texture_path(finish, "normal") is None


def test_warnings_are_placed_and_do_not_fail(make_catalog: Callable[..., Path]) -> None:
    cat = base_catalog()
    cat["colorcharts"] = [{"id": "band", "map": {1127: [2001, 235], 1128: [2002]}}]
    cat["products"][0]["kinds"][0]["parts"].append(
        {"part": "Band", "covered": ["mdf"], "meshes": ["rim"], "colorchart": "band"})
    cat["products"][0]["kinds"][1]["parts"][1]["covered"] = ["fabric"]
    text = yaml.safe_dump(cat, sort_keys=False)
    root = make_catalog({"catalog.yaml": text})
    _, warnings = load_catalog(root)
    shown = [str(w) for w in warnings]
    band_line = text[: text.index("part: Band")].count("\n") + 1
    kind_line = text[: text.index("- id: lino-top")].count("\n") + 1
    assert shown == [
        f"cat/catalog.yaml:{band_line + 5}: warning: products[0].kinds[0].parts[2].colorchart: "
        "chart 'band' does not mention source finish(es) 1140 of part 'Top': part 'Band' then "
        "has no choice",
        f"cat/catalog.yaml:{band_line + 5}: warning: products[0].kinds[0].parts[2].colorchart: "
        "chart 'band' maps to finishes that part 'Band' never offers: 235",
        f"cat/catalog.yaml:{kind_line}: warning: products[0].kinds[1]: kind 'lino-top' has no "
        "allowed colouring (some part has no finish to choose)",
    ]
    with pytest.raises(CatalogError):
        load_catalog(root, strict=True)


def test_demo_catalog_validates_cleanly(monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import DEMO, ROOT

    monkeypatch.chdir(ROOT)
    catalog, warnings = load_catalog(DEMO.relative_to(ROOT))
    assert warnings == []
    assert {"kino-stool", "maru-bench"} <= set(catalog.products)
    assert {n for n in catalog.natures} == {"wood", "linoleum", "fabric", "mdf", "metal"}
    assert any(f.archived for f in catalog.finishes.values())
