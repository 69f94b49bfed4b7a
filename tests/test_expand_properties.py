"""Property tests: sitegen.expand against the naive reference of tests/oracle.py.

Random valid catalogs (natures, patterns, finishes some archived and spread over several
files, limitations, colorcharts with several-choice lists and missing source finishes, a model
with hidden meshes, a product whose kinds share meshes and part names, parts optional,
limited, defaulted, charted from an implicit or explicit earlier source, charts of charts)
are written to a temporary folder, loaded with `load_catalog`, expanded by sitegen, and
compared with the oracle, which follows CATALOG_FORMAT.md word for word by brute force.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import oracle
from conftest import write_catalog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sitegen.catalog import Catalog
from sitegen.catalog.load import load_catalog
from sitegen.expand import (
    count_colourings,
    count_union,
    count_union_by,
    default_colouring,
    expand_kind,
    expand_product,
    iter_colourings,
    iter_keys,
    parse_key,
    product_keys,
    selections_overlap,
)
from sitegen.layers import (
    backdrop_name,
    colouring_layers,
    count_ready_from_layers,
    count_ready_from_layers_by,
    kind_patterns,
    parse_layer_name,
)

SETTINGS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Files the finishes are spread over, in sorted path order (unambiguous under any sorting).
FILES = ("a.yaml", "b.yaml", "c/d.yaml")
# Mesh ids, drawn in random order so that model order is not alphabetical.
MESH_POOL = ("frame", "top", "insert", "rim", "seat", "back", "a1", "zz")
PART_POOL = ("Frame", "Top", "Pads", "Rim", "Seat 2")
MAX_FINISH_ID = 2**31 - 1


def _offered(spec: dict[str, Any], covered: list[str], limited: str | None) -> list[int]:
    """The finishes a part would offer (rule 1), from the catalog dict: for valid defaults."""
    natures = {p["id"]: p["nature"] for p in spec["patterns"]}
    lim = next((x for x in spec["limitations"] if x["id"] == limited), None)
    return [
        f["id"] for f in spec["finishes"]
        if not f["archived"] and natures[f["pattern"]] in covered
        and (lim is None or f["id"] in lim["finishes"] or f["pattern"] in lim["patterns"])
    ]


@st.composite
def catalogs(draw: st.DrawFn) -> dict[str, Any]:
    """A valid catalog as a dict of sections, plus `_files`: the file of each finish."""
    natures = [f"nat{i}" for i in range(draw(st.integers(1, 3)))]
    patterns = [{"id": f"pat{i}", "nature": draw(st.sampled_from(natures))}
                for i in range(draw(st.integers(1, 4)))]
    pattern_ids = [p["id"] for p in patterns]
    n_finishes = draw(st.integers(1, 7))
    ids = draw(st.lists(st.one_of(st.integers(1, 40), st.just(MAX_FINISH_ID)),
                        min_size=n_finishes, max_size=n_finishes, unique=True))
    finish_files = draw(st.lists(st.integers(0, len(FILES) - 1),
                                 min_size=n_finishes, max_size=n_finishes))
    finishes: list[dict[str, Any]] = [
        {"id": fid, "pattern": draw(st.sampled_from(pattern_ids)), "color": "#a0b0c0",
         "archived": draw(st.sampled_from([False, False, False, True]))}
        for fid in ids
    ]
    limitations: list[dict[str, Any]] = [
        {"id": f"lim{i}",
         "patterns": draw(st.lists(st.sampled_from(pattern_ids), unique=True, max_size=3)),
         "finishes": draw(st.lists(st.sampled_from(ids), unique=True, max_size=3))}
        for i in range(draw(st.integers(0, 2)))
    ]
    charts: list[dict[str, Any]] = []
    for i in range(draw(st.integers(0, 3))):
        sources = draw(st.lists(st.sampled_from(ids), unique=True, max_size=len(ids)))
        charts.append({"id": f"chart{i}", "map": {
            s: draw(st.lists(st.sampled_from(ids), unique=True, max_size=3)) for s in sources}})
    n_meshes = draw(st.integers(2, 6))
    meshes = list(draw(st.permutations(MESH_POOL)))[:n_meshes]
    spec: dict[str, Any] = {
        "natures": [{"id": n} for n in natures],
        "patterns": patterns,
        "finishes": finishes,
        "limitations": limitations,
        "colorcharts": charts,
        "qualities": [{"id": "preview", "engine": "cycles", "resolution": [64, 48],
                       "format": "png", "primary": True}],
        "models": [{"id": "model", "blend": "model.blend", "meshes": meshes}],
    }
    kinds = []
    for k in range(draw(st.integers(1, 3))):
        n_parts = draw(st.integers(1, min(4, n_meshes)))
        names = list(draw(st.permutations(PART_POOL)))[:n_parts]
        order = list(draw(st.permutations(meshes)))
        used = draw(st.integers(n_parts, n_meshes))  # the rest of the meshes are hidden
        part_meshes: list[list[str]] = [[order[i]] for i in range(n_parts)]
        for mesh in order[n_parts:used]:
            part_meshes[draw(st.integers(0, n_parts - 1))].append(mesh)
        parts = []
        for i, name in enumerate(names):
            part: dict[str, Any] = {
                "part": name,
                "covered": draw(st.lists(st.sampled_from(natures), unique=True, min_size=1)),
                "meshes": draw(st.permutations(part_meshes[i])),
            }
            if draw(st.booleans()):
                part["optional"] = True
            if bool(limitations) and draw(st.booleans()):
                part["limited"] = draw(st.sampled_from([x["id"] for x in limitations]))
            if i > 0 and bool(charts) and draw(st.booleans()):
                part["colorchart"] = draw(st.sampled_from([c["id"] for c in charts]))
                if draw(st.booleans()):  # explicit source: any earlier part (a chain or not)
                    part["source"] = draw(st.sampled_from(names[:i]))
            offered = _offered(spec, part["covered"], part.get("limited"))
            if "colorchart" in part:
                # Most telling when the chart can give it, after another finish: it must be
                # ignored (a charted part takes the first choice its chart gives).
                chart = next(c for c in charts if c["id"] == part["colorchart"])
                charted = [f for lst in chart["map"].values() for f in lst[1:] if f in offered]
                offered = charted or offered
            if bool(offered) and draw(st.booleans()):
                part["default"] = draw(st.sampled_from(offered))
            parts.append(part)
        kinds.append({"id": f"kind{k}", "parts": parts})
    spec["products"] = [{"id": "product", "model": "model", "kinds": kinds}]
    spec["_files"] = finish_files
    return spec


def _files(spec: dict[str, Any]) -> dict[str, Any]:
    """The YAML files of a spec: finishes spread over FILES, everything else in the first."""
    files: dict[str, dict[str, Any]] = {
        FILES[0]: {k: v for k, v in spec.items() if not k.startswith("_")}}
    files[FILES[0]]["finishes"] = []
    for finish, index in zip(spec["finishes"], spec["_files"], strict=True):
        files.setdefault(FILES[index], {"finishes": []})["finishes"].append(finish)
    return files


def _catalog_order(spec: dict[str, Any]) -> list[int]:
    """Finish ids in catalog order: files in sorted path order, then order within a file."""
    indexed = sorted(range(len(spec["finishes"])), key=lambda i: (spec["_files"][i], i))
    return [spec["finishes"][i]["id"] for i in indexed]


@contextmanager
def loaded(spec: dict[str, Any]) -> Iterator[Catalog]:
    """Write the spec to a temporary folder and load it (it must load)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = write_catalog(Path(tmp) / "cat", _files(spec), blends=("model.blend",))
        catalog, _warnings = load_catalog(root)
        assert list(catalog.finishes) == _catalog_order(spec)
        yield catalog


def _product(catalog: Catalog) -> Any:
    return catalog.products["product"]


@SETTINGS
@given(catalogs())
def test_colourings_counts_and_keys_match_the_oracle(spec: dict[str, Any]) -> None:
    with loaded(spec) as catalog:
        product = _product(catalog)
        model = catalog.models[product.model]
        for kind in product.kinds:
            plan = expand_kind(catalog, product, kind)
            expected = oracle.colourings(catalog, kind)
            actual = list(iter_colourings(plan))
            assert actual == expected, kind.id
            assert count_colourings(plan) == len(expected), kind.id
            keys = list(iter_keys(plan))
            assert keys == oracle.keys(catalog, model, kind), kind.id
            assert len(set(keys)) == len(keys), kind.id
            assert [plan.key(c) for c in actual] == keys
            for colouring, key in zip(expected, keys, strict=True):
                values = oracle.mesh_values(catalog, model, kind, colouring)
                assert parse_key(key) == list(zip(model.mesh_ids, values, strict=True))


@SETTINGS
@given(catalogs())
def test_default_colouring_matches_the_oracle(spec: dict[str, Any]) -> None:
    with loaded(spec) as catalog:
        product = _product(catalog)
        for kind in product.kinds:
            plan = expand_kind(catalog, product, kind)
            expected = oracle.default(catalog, kind)
            actual = default_colouring(plan)
            assert actual == expected, kind.id
            allowed = oracle.colourings(catalog, kind)
            if allowed:
                assert actual in allowed
            else:
                assert actual is None


@SETTINGS
@given(catalogs())
def test_product_keys_match_the_oracle(spec: dict[str, Any]) -> None:
    with loaded(spec) as catalog:
        product = _product(catalog)
        plans = expand_product(catalog, product)
        expected = oracle.product_keys(catalog, product)
        assert count_union(plans) == len(expected)
        assert product_keys(plans) == sorted(expected)
        every = {k for plan in plans for k in iter_keys(plan)}
        assert every == expected


@SETTINGS
@given(catalogs())
def test_selections_overlap_matches_brute_force(spec: dict[str, Any]) -> None:
    with loaded(spec) as catalog:
        product = _product(catalog)
        plans = expand_product(catalog, product)
        for kind_a, plan_a in zip(product.kinds, plans, strict=True):
            for kind_b, plan_b in zip(product.kinds, plans, strict=True):
                expected = oracle.overlap(catalog, kind_a, kind_b)
                assert selections_overlap(plan_a, plan_b) == expected, (kind_a.id, kind_b.id)


# -- layered qualities: presence patterns and ready counts ---------------------------------

def _brute_layers(catalog: Catalog, plan: Any) -> dict[str, dict[int, set[int]]]:
    """presence -> part index -> values, from listing every colouring of the kind (oracle)."""
    out: dict[str, dict[int, set[int]]] = {}
    for values in iter_colourings(plan):
        names = colouring_layers(plan, values)
        presence = parse_layer_name(names[0]).presence  # type: ignore[union-attr]
        parts = out.setdefault(presence, {})
        for i, value in enumerate(values):
            parts.setdefault(i, set()).add(value)
    return out


@SETTINGS
@given(catalogs(), st.randoms(use_true_random=False))
def test_presence_patterns_and_ready_counts_match_brute_force(spec: dict[str, Any],
                                                              rnd: Any) -> None:
    with loaded(spec) as catalog:
        product = _product(catalog)
        plans = expand_product(catalog, product)
        every: set[str] = set()
        for plan in plans:
            patterns = kind_patterns(catalog, product, plan)
            brute = _brute_layers(catalog, plan)
            assert {p.presence for p in patterns} == set(brute), plan.kind
            for pattern in patterns:
                assert {i: set(v) for i, v in enumerate(pattern.values)} == \
                    brute[pattern.presence], (plan.kind, pattern.presence)
                every.add(backdrop_name(pattern.presence))
                every.update(name for _, _, name in pattern.layers(plan))
        # Random ready subsets and filters: the structural count equals the number of
        # distinct keys that some kind stacks from ready layers only.
        for _ in range(4):
            ready = {name for name in sorted(every) if rnd.random() < 0.7}
            names = sorted({n for plan in plans for n in plan.part_names})
            flt: dict[str, list[int]] = {}
            for name in names:
                if rnd.random() < 0.4:
                    domain = sorted({v for plan in plans for p in plan.parts if p.name == name
                                     for v in p.domain})
                    flt[name] = [v for v in domain if rnd.random() < 0.5]
            keys = set()
            for plan in plans:
                for values in iter_colourings(plan):
                    if not set(colouring_layers(plan, values)) <= ready:
                        continue
                    if any(plan.parts[i].name in flt and values[i] not in flt[plan.parts[i].name]
                           for i in range(len(values))):
                        continue
                    if any(name not in plan.part_names and 0 not in flt[name] for name in flt):
                        continue
                    keys.add(plan.key(values))
            assert count_ready_from_layers(catalog, product, ready, flt) == len(keys), (ready, flt)
            # Per finish of a part in one go (coverage): the same as one count per finish.
            for name in names:
                by_ready = count_ready_from_layers_by(catalog, product, ready, name)
                by_allowed = count_union_by(plans, name)
                for value in {v for plan in plans for p in plan.parts if p.name == name
                              for v in p.domain if v}:
                    assert by_ready[value] == count_ready_from_layers(catalog, product, ready,
                                                          {name: [value]}), (name, value)
                    assert by_allowed[value] == count_union(plans, {name: [value]})
