"""Catalog-stage benchmarks: structural counting, render-key enumeration, catalog loading.

Every catalog is generated from a fixed seed into a temporary folder, so two runs measure the
same work. See bench/README.md for what each figure means.
"""

from __future__ import annotations

import collections
import gc
import itertools
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from sitegen.catalog import Catalog
from sitegen.catalog.load import load_catalog
from sitegen.expand import (
    KindPlan,
    count_colourings,
    count_union,
    expand_kind,
    expand_product,
    iter_colourings,
    iter_keys,
)

SECTION = "catalog"
SEED = 20240601

_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


# ---------------------------------------------------------------------------------------------
# helpers


def write_files(root: Path, files: dict[str, Any], empty: tuple[str, ...] | list[str] = ()
                ) -> Path:
    """Write YAML files (dicts dumped) and empty files (blends, textures) under `root`."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.dump(content, Dumper=_Dumper, sort_keys=False), encoding="utf-8")
    for name in empty:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    return root


class Times(list[float]):
    """Wall times of repeated calls (seconds), with the process CPU time of each in `.cpu`.

    CPU time is the steadier figure on a shared machine: other processes inflate the wall
    time of a single-threaded benchmark but hardly its CPU time.
    """

    def __init__(self) -> None:
        super().__init__()
        self.cpu: list[float] = []


def timed(fn: Callable[[], Any], repeat: int) -> tuple[Times, Any]:
    """Wall and CPU times of `repeat` calls of fn, and the last result."""
    times = Times()
    result = None
    for _ in range(repeat):
        cpu = time.process_time()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
        times.cpu.append(time.process_time() - cpu)
    return times, result


def stats(times: Times) -> dict[str, Any]:
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "cpu_median_s": statistics.median(times.cpu), "runs": len(times)}


def _kind(catalog: Catalog, product: str, kind: str) -> KindPlan:
    prod = catalog.products[product]
    return expand_kind(catalog, prod, next(k for k in prod.kinds if k.id == kind))


def _human_duration(seconds: float) -> str:
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("hours", 3600),
                       ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:,.1f} {unit}"
    return f"{seconds:.3g} s"


# ---------------------------------------------------------------------------------------------
# the counting / keys catalog: 6 natures of 200 finishes, one model of 6 meshes

PARTS = 6
PER_PART = 200
FANOUT = 100  # targets per source finish in each chart of the chain
MESHES = ["frame", "legs", "edge", "top", "cushion", "rim"]


def _finish_ids(nature: int) -> list[int]:
    return [nature * 1000 + j for j in range(1, PER_PART + 1)]


def chain_catalog(root: Path) -> Path:
    """Products for the counting and keys benchmarks.

    - `chain6`: 6 parts, one per nature (200 finishes each); part 2 is charted from part 1 and
      part 3 from part 2 (a chain), each chart mapping every source finish to 100 targets:
      200 * 100 * 100 * 200^3 = 1.6e13 colourings.
    - `chain3`: the same first 3 parts only (200 * 100 * 100 = 2e6 colourings), the
      enumeration baseline.
    - `keys`: 4 parts on the same model (a 2-mesh part, a charted part, an optional part,
      a hidden mesh): 20 * 100 * 26 * 20 = 1,040,000 colourings.
    """
    rng = random.Random(SEED)
    natures = [{"id": f"n{i}", "name": f"Nature {i}"} for i in range(1, PARTS + 1)]
    patterns = [{"id": f"p{i}", "nature": f"n{i}"} for i in range(1, PARTS + 1)]
    finishes = [{"id": f, "pattern": f"p{i}", "color": f"#{rng.randrange(1 << 24):06x}"}
                for i in range(1, PARTS + 1) for f in _finish_ids(i)]
    charts = [{"id": f"c{i}", "map": {src: rng.sample(_finish_ids(i), FANOUT)
                                      for src in _finish_ids(i - 1)}}
              for i in (2, 3)]
    limitations = [
        {"id": "l-frame", "finishes": _finish_ids(1)[:20]},
        {"id": "l-top", "finishes": _finish_ids(4)[::8]},  # 25
        {"id": "l-cushion", "finishes": _finish_ids(5)[-20:]},
    ]
    parts6: list[dict[str, Any]] = []
    for i in range(1, PARTS + 1):
        part: dict[str, Any] = {"part": f"Part {i}", "covered": [f"n{i}"],
                                "meshes": [MESHES[i - 1]]}
        if i in (2, 3):
            part["colorchart"] = f"c{i}"
        parts6.append(part)
    keys_parts = [
        {"part": "Frame", "covered": ["n1"], "meshes": ["frame", "legs"], "limited": "l-frame"},
        {"part": "Edge", "covered": ["n2"], "meshes": ["edge"], "colorchart": "c2"},
        {"part": "Top", "covered": ["n4"], "meshes": ["top"], "limited": "l-top",
         "optional": True},
        {"part": "Cushion", "covered": ["n5"], "meshes": ["cushion"], "limited": "l-cushion"},
    ]
    return write_files(root, {
        "site.yaml": {
            "site": {"title": "Bench", "base_url": "https://example.com/"},
            "natures": natures,
            "qualities": [{"id": "preview", "engine": "cycles", "resolution": [64, 48],
                           "format": "png", "primary": True}],
        },
        "materials.yaml": {"patterns": patterns, "finishes": finishes,
                           "limitations": limitations},
        "charts.yaml": {"colorcharts": charts},
        "models.yaml": {"models": [{"id": "bench", "blend": "bench.blend", "meshes": MESHES}]},
        "products.yaml": {"products": [
            {"id": "chain6", "model": "bench", "kinds": [{"id": "k", "parts": parts6}]},
            {"id": "chain3", "model": "bench", "kinds": [{"id": "k", "parts": parts6[:3]}]},
            {"id": "keys", "model": "bench", "kinds": [{"id": "k", "parts": keys_parts}]},
        ]},
    }, empty=["bench.blend"])


_CHAIN: Catalog | None = None


def chain() -> Catalog:
    """The chain catalog, loaded once per process."""
    global _CHAIN
    if _CHAIN is None:
        with tempfile.TemporaryDirectory(prefix="sitegen-bench-") as tmp:
            _CHAIN, warnings = load_catalog(chain_catalog(Path(tmp) / "cat"))
        if warnings:
            raise RuntimeError("chain catalog: unexpected warnings:\n"
                               + "\n".join(map(str, warnings)))
    return _CHAIN


# ---------------------------------------------------------------------------------------------
# 1. counting


def bench_counting() -> dict[str, Any]:
    catalog = chain()
    expand_times, plan = timed(lambda: _kind(catalog, "chain6", "k"), 5)
    count_times, count = timed(lambda: count_colourings(plan), 7)
    expected = PER_PART ** (PARTS - 2) * FANOUT ** 2
    product_times, product_count = timed(
        lambda: count_union(expand_product(catalog, catalog.products["chain6"])), 3)

    # Baseline: count by enumeration, on the 3-part chain, and extrapolate to the 6 parts.
    small = _kind(catalog, "chain3", "k")
    small_structural = count_colourings(small)
    enum_times, enumerated = timed(lambda: sum(1 for _ in iter_colourings(small)), 3)
    enum_s = statistics.median(enum_times)
    rate = enumerated / enum_s
    return {
        "parts": PARTS,
        "finishes_per_part": PER_PART,
        "chart_chain": "part 2 <- part 1, part 3 <- part 2",
        "chart_fanout": FANOUT,
        "count": count,
        "count_expected": expected,
        "count_ok": count == expected,
        "count_colourings": stats(count_times),
        "count_product": {**stats(product_times), "count": product_count,
                          "note": "expand_product + count_union on the same one-kind product"},
        "expand_kind": stats(expand_times),
        "baseline_enumeration": {
            "label": "BASELINE: counting by enumerating iter_colourings, 3-part chain, "
                     "extrapolated to the 6-part product",
            "parts": 3,
            "colourings": enumerated,
            "structural_count": small_structural,
            "agrees": enumerated == small_structural,
            **stats(enum_times),
            "colourings_per_s": rate,
            "extrapolated_full_s": count / rate,
            "extrapolated_full_human": _human_duration(count / rate),
            "speedup_structural_vs_enumeration": (count / rate) / statistics.median(count_times),
        },
    }


# ---------------------------------------------------------------------------------------------
# 2. keys


def naive_keys(plan: KindPlan) -> Iterator[str]:
    """Reference key builder: a dict per colouring, mesh by mesh, joined with '_'."""
    mesh_ids = plan.mesh_ids
    parts = plan.parts
    for colouring in iter_colourings(plan):
        values = dict.fromkeys(mesh_ids, 0)
        for part, value in zip(parts, colouring, strict=True):
            for m in part.meshes:
                values[mesh_ids[m]] = value
        yield "_".join(f"{mesh}-{values[mesh]}" for mesh in mesh_ids)


def _drain(it: Iterator[Any]) -> None:
    collections.deque(it, maxlen=0)


def bench_keys() -> dict[str, Any]:
    plan = _kind(chain(), "keys", "k")
    n = count_colourings(plan)
    # Check the two builders agree, key for key, before timing them.
    mismatch = next((i for i, (a, b) in enumerate(zip(iter_keys(plan), naive_keys(plan),
                                                       strict=True)) if a != b), None)
    sample = list(itertools.islice(iter_keys(plan), 2))
    runs = 3
    gc.collect()
    key_times, _ = timed(lambda: _drain(iter_keys(plan)), runs)
    col_times, _ = timed(lambda: _drain(iter_colourings(plan)), runs)
    naive_times, _ = timed(lambda: _drain(naive_keys(plan)), runs)
    keys_s = statistics.median(key_times)
    naive_s = statistics.median(naive_times)
    col_s = statistics.median(col_times)
    return {
        "colourings": n,
        "parts": len(plan.parts),
        "meshes": len(plan.mesh_ids),
        "sample_keys": sample,
        "builders_agree": mismatch is None,
        "iter_keys": {**stats(key_times), "keys_per_s": n / keys_s,
                      "keys_per_s_cpu": n / statistics.median(key_times.cpu)},
        "aim_keys_per_s": 1_000_000,
        "aim_met": n / keys_s >= 1_000_000,
        "aim_met_cpu": n / statistics.median(key_times.cpu) >= 1_000_000,
        "iter_colourings_only": {**stats(col_times), "colourings_per_s": n / col_s,
                                 "note": "the enumeration part of iter_keys, without keys"},
        "baseline_naive": {
            "label": "BASELINE: iter_colourings + a dict per colouring + '_'.join",
            **stats(naive_times),
            "keys_per_s": n / naive_s,
            "keys_per_s_cpu": n / statistics.median(naive_times.cpu),
        },
        "speedup_vs_naive": naive_s / keys_s,
    }


# ---------------------------------------------------------------------------------------------
# 3. loading


N_NATURES = 8
N_PATTERNS = 50
N_FINISHES = 5000
N_FINISH_FILES = 10
N_LIMITATIONS = 30
N_MODELS = 40
N_PRODUCTS = 200
N_PRODUCT_FILES = 10
N_ORDERS = 20
MODEL_MESHES = 8
TEXTURED_PATTERNS = 5  # patterns whose finishes each have a diffuse texture
PART_NAMES = ["Frame", "Top", "Seat", "Back", "Legs", "Edge", "Cushion", "Shelf", "Door",
              "Handle", "Base", "Arm Rest"]
NATURE_IDS = ["wood", "veneer", "linoleum", "mdf", "metal", "fabric", "leather", "glass"]


def big_catalog(root: Path) -> dict[str, Any]:
    """Write the loading benchmark's catalog under `root`; returns what it holds."""
    rng = random.Random(SEED)
    site = {
        "site": {"title": "Bench", "base_url": "https://example.com/", "renders_url": "renders/"},
        "natures": [{"id": n, "name": n.title()} for n in NATURE_IDS],
        "qualities": [
            {"id": "preview", "engine": "cycles", "samples": 64, "resolution": [1200, 900],
             "format": "jpeg", "jpeg_quality": 88, "primary": True},
            {"id": "final", "engine": "cycles", "samples": 512, "resolution": [2400, 1800],
             "format": "webp", "transparent": True, "denoise": "high"},
        ],
    }
    files: dict[str, Any] = {"site.yaml": site}
    empty: list[str] = []

    patterns = []
    for p in range(N_PATTERNS):
        pattern: dict[str, Any] = {"id": f"pat-{p}", "nature": NATURE_IDS[p % N_NATURES],
                                   "name": f"Pattern {p}"}
        if p % 10 == 9:  # some patterns bring their own normal map
            pattern["maps"] = {"normal": "pattern"}
            pattern["textures"] = {"normal": f"../textures/pat-{p}-normal.png"}
            empty.append(f"textures/pat-{p}-normal.png")
        patterns.append(pattern)
    files["materials/patterns.yaml"] = {"patterns": patterns}

    per_pattern = N_FINISHES // N_PATTERNS
    finishes = []
    by_nature: dict[str, list[int]] = {n: [] for n in NATURE_IDS}  # unarchived, catalog order
    all_by_nature: dict[str, list[int]] = {n: [] for n in NATURE_IDS}
    by_pattern: dict[str, list[int]] = {}
    for j in range(N_FINISHES):
        p = j // per_pattern
        fid = 10_000 + j
        finish: dict[str, Any] = {"id": fid, "pattern": f"pat-{p}", "name": f"Finish {fid}",
                                  "color": f"#{rng.randrange(1 << 24):06x}"}
        if p < TEXTURED_PATTERNS:
            finish["textures"] = {"diffuse": f"../textures/{fid}.jpg"}
            empty.append(f"textures/{fid}.jpg")
        nature = NATURE_IDS[p % N_NATURES]
        all_by_nature[nature].append(fid)
        if j % 20 == 19:
            finish["archived"] = True
        else:
            by_nature[nature].append(fid)
            by_pattern.setdefault(f"pat-{p}", []).append(fid)
        finishes.append(finish)
    chunk = N_FINISHES // N_FINISH_FILES
    for f in range(N_FINISH_FILES):
        files[f"materials/finishes-{f:02d}.yaml"] = {
            "finishes": finishes[f * chunk:(f + 1) * chunk]}

    # Limitations: a few patterns and a few single finishes of one nature.
    limitations = []
    lim_offered: dict[str, list[int]] = {}
    lim_nature: dict[str, str] = {}
    for i in range(N_LIMITATIONS):
        nature = NATURE_IDS[i % N_NATURES]
        pats = [p["id"] for p in patterns if p["nature"] == nature]
        chosen_pats = rng.sample(pats, min(2, len(pats)))
        singles = rng.sample(by_nature[nature], 10)
        lid = f"lim-{i}"
        limitations.append({"id": lid, "name": f"Limitation {i}", "patterns": chosen_pats,
                            "finishes": singles})
        allowed = set(singles).union(*(by_pattern[p] for p in chosen_pats))
        lim_offered[lid] = [f for f in by_nature[nature] if f in allowed]
        lim_nature[lid] = nature

    # Charts between pairs of natures: every finish of the source nature (archived too) maps
    # to 2-4 unarchived finishes of the target nature, so no chart warning is due.
    pairs = [(NATURE_IDS[a], NATURE_IDS[b]) for a in range(N_NATURES) for b in range(N_NATURES)
             if a != b and (a + b) % 4 == 1]
    charts = []
    chart_for: dict[tuple[str, str], str] = {}
    for src, dst in pairs:
        cid = f"chart-{src}-{dst}"
        chart_for[(src, dst)] = cid
        charts.append({"id": cid, "name": f"{dst} matching {src}", "map": {
            f: rng.sample(by_nature[dst], rng.randint(2, 4)) for f in all_by_nature[src]}})
    files["materials/limitations.yaml"] = {"limitations": limitations}
    files["materials/colorcharts.yaml"] = {"colorcharts": charts}

    models = []
    for m in range(N_MODELS):
        meshes: list[Any] = []
        for k in range(MODEL_MESHES):
            meshes.append({"id": f"mesh{k}", "objects": [f"M{k}a", f"M{k}b"]} if k % 3 == 0
                          else f"mesh{k}")
        models.append({"id": f"model-{m}", "blend": f"model-{m}.blend", "meshes": meshes,
                       "views": ["front", "side", "top"]})
        empty.append(f"models/model-{m}.blend")
    files["models/models.yaml"] = {"models": models}

    products = []
    n_parts = 0
    n_kinds = 0
    first_parts: list[tuple[str, str, int]] = []  # (product, part name, an offered finish)
    for i in range(N_PRODUCTS):
        kinds = []
        for k in range(rng.randint(2, 3)):
            count = rng.randint(3, 5)
            names = rng.sample(PART_NAMES, count)
            mesh_pool = [f"mesh{x}" for x in range(MODEL_MESHES)]
            rng.shuffle(mesh_pool)
            spare = MODEL_MESHES - count - rng.randint(0, 2)  # leave some meshes hidden
            parts = []
            prev: str | None = None  # the nature of the part before, if it can source a chart
            for q, name in enumerate(names):
                meshes_q = [mesh_pool.pop()]
                if spare > 0 and rng.random() < 0.3:
                    meshes_q.append(mesh_pool.pop())
                    spare -= 1
                part: dict[str, Any] = {"part": name, "meshes": meshes_q}
                charted = False
                if prev is not None and rng.random() < 0.3:
                    targets = [d for (s, d) in chart_for if s == prev]
                    if targets:
                        dst = rng.choice(targets)
                        part["covered"] = [dst]
                        part["colorchart"] = chart_for[(prev, dst)]
                        charted = True
                        prev = dst  # chains: a charted part can source the next chart
                if not charted:
                    roll = rng.random()
                    if roll < 0.3:
                        lid = f"lim-{rng.randrange(N_LIMITATIONS)}"
                        nature = lim_nature[lid]
                        part["covered"] = [nature]
                        part["limited"] = lid
                        offered = lim_offered[lid]
                    elif roll < 0.5:
                        two = rng.sample(NATURE_IDS, 2)
                        part["covered"] = two
                        nature = two[0]
                        offered = [f for n in two for f in by_nature[n]]
                    else:
                        nature = rng.choice(NATURE_IDS)
                        part["covered"] = [nature]
                        offered = by_nature[nature]
                    if rng.random() < 0.4:
                        part["default"] = rng.choice(offered)
                    if rng.random() < 0.2:
                        part["optional"] = True
                    if k == 0 and q == 0:
                        first_parts.append((f"prod-{i}", name, offered[0]))
                    # A plain part with one nature can be the source of a chart.
                    prev = nature if len(part["covered"]) == 1 else None
                parts.append(part)
            kinds.append({"id": f"kind-{k}", "name": f"Kind {k}", "parts": parts})
            n_parts += len(parts)
            n_kinds += 1
        products.append({"id": f"prod-{i}", "name": f"Product {i}",
                         "model": f"model-{i % N_MODELS}",
                         "render": "all" if i % 4 else "default", "kinds": kinds})
    chunk = N_PRODUCTS // N_PRODUCT_FILES
    for f in range(N_PRODUCT_FILES):
        files[f"products/products-{f:02d}.yaml"] = {"products": products[f * chunk:(f + 1) * chunk]}

    orders = []
    for o, (product, part_name, fid) in enumerate(first_parts[:: max(1, len(first_parts)
                                                                      // N_ORDERS)][:N_ORDERS]):
        orders.append({"id": f"order-{o}", "product": product, "views": ["front"],
                       "select": {part_name: {"finishes": [fid]}}})
    files["orders.yaml"] = {"orders": orders}

    write_files(root, files, empty)
    return {"yaml_files": len(files), "other_files": len(empty), "natures": N_NATURES,
            "patterns": N_PATTERNS, "finishes": N_FINISHES, "limitations": N_LIMITATIONS,
            "colorcharts": len(charts),
            "colorchart_entries": sum(len(v) for c in charts for v in c["map"].values()),
            "models": N_MODELS, "products": N_PRODUCTS, "kinds": n_kinds, "parts": n_parts,
            "charted_parts": sum(1 for p in products for k in p["kinds"] for q in k["parts"]
                                 if "colorchart" in q),
            "orders": len(orders)}


def bench_load() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="sitegen-bench-") as tmp:
        root = Path(tmp) / "cat"
        start = time.perf_counter()
        shape = big_catalog(root)
        generate_s = time.perf_counter() - start
        size = sum(p.stat().st_size for p in root.rglob("*.yaml"))
        times, (catalog, warnings) = timed(lambda: load_catalog(root), 3)
    median = statistics.median(times)
    return {
        "catalog": {**shape, "yaml_bytes": size},
        "generate_s": generate_s,
        "load_catalog": stats(times),
        "warnings": len(warnings),
        "loaded_products": len(catalog.products),
        "loaded_finishes": len(catalog.finishes),
        "aim_s": 1.0,
        "aim_met": median < 1.0,
        "aim_met_cpu": statistics.median(times.cpu) < 1.0,
    }


BENCHMARKS: dict[str, Callable[[], dict[str, Any]]] = {
    "counting": bench_counting,
    "keys": bench_keys,
    "load": bench_load,
}


def run(only: list[str] | None = None) -> dict[str, Any]:
    """Run this section's benchmarks (all, or those named) and return their figures by name."""
    return {name: fn() for name, fn in BENCHMARKS.items() if not only or name in only}


# ---------------------------------------------------------------------------------------------
# console summary


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


def summary(name: str, r: dict[str, Any]) -> list[str]:
    if name == "counting":
        b = r["baseline_enumeration"]
        return [
            f"{r['parts']} parts x {r['finishes_per_part']} finishes, chart chain "
            f"({r['chart_chain']}, {r['chart_fanout']} targets per source finish)",
            f"count_colourings: {r['count']:,} ({r['count']:.3g}) colourings in "
            f"{_ms(r['count_colourings']['median_s'])} (median of "
            f"{r['count_colourings']['runs']}, CPU "
            f"{_ms(r['count_colourings']['cpu_median_s'])}); expected {r['count_expected']:,}: "
            f"{'ok' if r['count_ok'] else 'WRONG'}",
            f"expand_kind: {_ms(r['expand_kind']['median_s'])}; expand_product + count_union: "
            f"{_ms(r['count_product']['median_s'])}",
            f"BASELINE (enumeration, {b['parts']} parts, {b['colourings']:,} colourings): "
            f"{_ms(b['median_s'])} = {b['colourings_per_s']:,.0f} colourings/s; "
            f"matches structural count: {b['agrees']}",
            f"  extrapolated to the {r['parts']}-part product: {b['extrapolated_full_human']} "
            f"({b['extrapolated_full_s']:.3g} s), {b['speedup_structural_vs_enumeration']:.2g}x "
            "slower than count_colourings",
        ]
    if name == "keys":
        k, n = r["iter_keys"], r["baseline_naive"]
        return [
            f"{r['colourings']:,} colourings, {r['parts']} parts over {r['meshes']} meshes; "
            f"e.g. {r['sample_keys'][0]}",
            f"iter_keys: {k['keys_per_s']:,.0f} keys/s ({_ms(k['median_s'])} wall, median of "
            f"{k['runs']}; by CPU time {k['keys_per_s_cpu']:,.0f} keys/s); aim "
            f"{r['aim_keys_per_s']:,}/s: {'met' if r['aim_met'] else 'MISSED'} "
            f"({'met' if r['aim_met_cpu'] else 'missed'} by CPU time)",
            f"iter_colourings alone: {r['iter_colourings_only']['colourings_per_s']:,.0f}/s",
            f"BASELINE naive builder: {n['keys_per_s']:,.0f} keys/s ({_ms(n['median_s'])}); "
            f"iter_keys is {r['speedup_vs_naive']:.2f}x faster; same keys: "
            f"{r['builders_agree']}",
        ]
    if name == "load":
        c, t = r["catalog"], r["load_catalog"]
        return [
            f"{c['products']} products ({c['kinds']} kinds, {c['parts']} parts, "
            f"{c['charted_parts']} charted), {c['finishes']:,} finishes, {c['patterns']} "
            f"patterns, {c['limitations']} limitations, {c['colorcharts']} charts "
            f"({c['colorchart_entries']:,} targets), {c['models']} models, {c['orders']} orders",
            f"{c['yaml_files']} YAML files ({c['yaml_bytes'] / 1e6:.2f} MB), "
            f"{c['other_files']} blend/texture files; generated in {_ms(r['generate_s'])}",
            f"load_catalog: {_ms(t['median_s'])} wall (median of {t['runs']}; min "
            f"{_ms(t['min_s'])}, max {_ms(t['max_s'])}; CPU {_ms(t['cpu_median_s'])}); "
            f"aim < {r['aim_s']} s: {'met' if r['aim_met'] else 'MISSED'}; "
            f"{r['warnings']} warning(s)",
        ]
    return [f"{k}: {v}" for k, v in r.items() if not isinstance(v, dict | list)]
