"""Site-stage benchmark: a product with 100,000 ready pictures, built and counted in Chromium.

One product, one kind of 4 parts (each covering its own nature: 24, 20, 18 and 16 finishes
in 4 patterns each; 24 x 20 x 18 x 16 = 138,240 allowed colourings), one view, and a
synthetic ready set of exactly 100,000 keys (a seeded sample of the allowed keys, no store,
no pictures). See bench/README.md ("The site section") for what each figure means.

    .venv/bin/python bench/run.py --only site --out /tmp/bench-site.json
    .venv/bin/python bench/bench_site.py --profile [--top N] [--dump FILE]   # cProfile site_files
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

if __package__ in (None, ""):  # run as a script: make `sitegen` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_catalog import Times, stats, timed  # noqa: E402

import sitegen.site
from sitegen.catalog import Catalog
from sitegen.catalog.load import load_catalog
from sitegen.expand import expand_product, iter_keys, sketchbook_entries
from sitegen.site import site_files, write_site
from sitegen.site.data import (
    count_ready_from_rows,
    decode_rows,
    ready_rows,
)

SECTION = "site"
SEED = 20240607

READY = 100_000
PARTS = [  # part name, mesh, nature, finishes (in PATTERNS_PER_NATURE patterns)
    ("Frame", "frame", "wood", 24),
    ("Top", "top", "metal", 20),
    ("Seat", "seat", "fabric", 18),
    ("Rim", "rim", "stone", 16),
]
PATTERNS_PER_NATURE = 4
PRODUCT, MODEL, KIND, VIEW, QUALITY = "bench-chair", "bench", "main", "front", "preview"
N_FILTERS = 20

AIM_BUILD_S = 10.0
AIM_COUNT_MS = 16.0
BUILD_RUNS = 3
BUILD_BUDGET_S = 75.0  # no further first+rebuild pair once it would end past this (wall s)
COUNT_REPEATS = 9  # timed calls of count() per filter (after one untimed first call)
BATCH_ROUNDS = 10  # every filter this many times in one loop: a mean free of timer rounding
BASELINE_REPEATS = 3
PAGE_LOADS = 3

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]


# ---------------------------------------------------------------------------------------------
# helpers (timing: bench_catalog's)


def ms_stats(values: list[float]) -> dict[str, float]:
    return {"median_ms": statistics.median(values), "min_ms": min(values),
            "max_ms": max(values)}


@contextlib.contextmanager
def timers(into: dict[str, float]) -> Iterator[None]:
    """Time sitegen.site's calls of product_data and product_coverage (seconds, summed)."""
    originals = {name: getattr(sitegen.site, name) for name in ("product_data",
                                                               "product_coverage")}

    def wrap(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed_call(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                into[name] = into.get(name, 0.0) + time.perf_counter() - start
        return timed_call

    for name, fn in originals.items():
        setattr(sitegen.site, name, wrap(name, fn))
    try:
        yield
    finally:
        for name, fn in originals.items():
            setattr(sitegen.site, name, fn)


def breakdown(parts: dict[str, float]) -> dict[str, Any]:
    """Shares of one site_files call: product_data, product_coverage, the rest."""
    total = parts["site_files"]
    data, cover = parts.get("product_data", 0.0), parts.get("product_coverage", 0.0)
    rest = total - data - cover
    return {"site_files_s": total,
            "product_data_s": data, "product_data_share": data / total,
            "product_coverage_s": cover, "product_coverage_share": cover / total,
            "rest_s": rest, "rest_share": rest / total}


# ---------------------------------------------------------------------------------------------
# the catalog and the ready set


def finish_ids(part: int) -> list[int]:
    return [(part + 1) * 1000 + j + 1 for j in range(PARTS[part][3])]


def pattern_of(part: int, j: int) -> str:
    """Finish j of a part's nature is in pattern j % PATTERNS_PER_NATURE (interleaved)."""
    return f"{PARTS[part][2]}-{j % PATTERNS_PER_NATURE}"


def catalog_dict() -> dict[str, Any]:
    natures = [{"id": nature, "name": nature.title()} for _, _, nature, _ in PARTS]
    patterns = [{"id": f"{nature}-{k}", "nature": nature, "name": f"{nature.title()} {k}"}
                for _, _, nature, _ in PARTS for k in range(PATTERNS_PER_NATURE)]
    finishes = [{"id": fid, "pattern": pattern_of(i, j),
                 "name": f"{PARTS[i][2].title()} {j + 1}",
                 "color": f"#{40 + 50 * i:02x}{(j * 11) % 256:02x}{(90 + j * 7) % 256:02x}"}
                for i in range(len(PARTS)) for j, fid in enumerate(finish_ids(i))]
    return {
        "site": {"title": "Bench", "base_url": "https://example.com/", "renders_url": "renders/"},
        "natures": natures,
        "patterns": patterns,
        "finishes": finishes,
        "qualities": [{"id": QUALITY, "engine": "cycles", "samples": 4,
                       "resolution": [64, 48], "format": "jpeg", "primary": True}],
        "models": [{"id": MODEL, "blend": f"{MODEL}.blend",
                    "meshes": [mesh for _, mesh, _, _ in PARTS], "views": [VIEW]}],
        "products": [{"id": PRODUCT, "name": "Bench chair", "model": MODEL, "kinds": [
            {"id": KIND, "name": "Chair", "parts": [
                {"part": name, "covered": [nature], "meshes": [mesh]}
                for name, mesh, nature, _ in PARTS]}]}],
    }


def write_bench_catalog(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "catalog.yaml").write_text(yaml.safe_dump(catalog_dict(), sort_keys=False),
                                       encoding="utf-8")
    (root / f"{MODEL}.blend").write_bytes(b"")  # never opened by the site build
    return root


def ready_keys(catalog: Catalog) -> tuple[list[str], int]:
    """READY keys, a seeded sample of the product's allowed keys; and how many are allowed."""
    (plan,) = expand_product(catalog, catalog.products[PRODUCT])
    keys = list(iter_keys(plan))
    return random.Random(SEED).sample(keys, READY), len(keys)


def make_filters() -> list[dict[str, list[int]]]:
    """N_FILTERS different filters: 1-4 parts constrained, a few finishes or whole patterns."""
    rng = random.Random(SEED + 1)
    names = [name for name, *_ in PARTS]
    out: list[dict[str, list[int]]] = []
    seen: set[str] = set()
    while len(out) < N_FILTERS:
        n = 1 + len(out) % 4
        flt: dict[str, list[int]] = {}
        for i in sorted(rng.sample(range(len(PARTS)), n)):
            ids = finish_ids(i)
            if rng.random() < 0.3:  # a whole pattern (every finish of it)
                k = rng.randrange(PATTERNS_PER_NATURE)
                flt[names[i]] = [f for j, f in enumerate(ids) if j % PATTERNS_PER_NATURE == k]
            else:
                flt[names[i]] = sorted(rng.sample(ids, rng.randint(1, 4)))
        sig = json.dumps(flt, sort_keys=True)
        if sig not in seen:
            seen.add(sig)
            out.append(flt)
    return out


# ---------------------------------------------------------------------------------------------
# in the page

INIT_SCRIPT = """
(() => {
  // Record when window.sketchbook.ready resolves (performance.now(): ms since navigation).
  let api;
  Object.defineProperty(window, "sketchbook", {
    configurable: true,
    get() { return api; },
    set(value) {
      api = value;
      value.ready.then(() => { window.__benchReadyAt = performance.now(); }, () => {});
    },
  });
})();
"""

COUNT_JS = """
async ([filters, repeats, rounds]) => {
  const sb = await window.sketchbook.ready;
  const perFilter = [];
  for (const f of filters) {
    let t = performance.now();
    const first = sb.count(f);
    const firstMs = performance.now() - t;
    const times = [];
    let same = true;
    for (let r = 0; r < repeats; r++) {
      t = performance.now();
      const c = sb.count(f);
      times.push(performance.now() - t);
      if (c !== first) same = false;
    }
    perFilter.push({count: first, first_ms: firstMs, times_ms: times, stable: same});
  }
  const t0 = performance.now();
  let sink = 0;
  for (let r = 0; r < rounds; r++) for (const f of filters) sink += sb.count(f);
  const batchMs = performance.now() - t0;
  return {perFilter, batchMs, calls: rounds * filters.length, sink};
}
"""

# BASELINE: the obvious way, from the same data.json: decode the rows once, then per row map
# palette indices to finish ids and test each filtered part with Array.includes.
NAIVE_JS = """
async ([filters, repeats, kindId, view]) => {
  const data = await (await fetch("data.json")).json();
  const kind = data.kinds[kindId];
  const binary = atob(kind.ready[view]);
  const rows = [];
  const n = kind.parts.length;
  for (let p = 0; p < binary.length; p += 2 * n) {
    const row = [];
    for (let i = 0; i < n; i++) {
      const at = p + 2 * i;
      row.push(binary.charCodeAt(at) | (binary.charCodeAt(at + 1) << 8));
    }
    rows.push(row);
  }
  const names = kind.parts.map((q) => q.name);
  const palettes = kind.parts.map((q) => q.palette);
  const naiveCount = (filter) => {
    let total = 0;
    for (const row of rows) {
      const finishes = row.map((idx, i) => palettes[i][idx]);
      let ok = true;
      for (const [name, list] of Object.entries(filter)) {
        const i = names.indexOf(name);
        if (i < 0 ? !list.includes(0) : !list.includes(finishes[i])) { ok = false; break; }
      }
      if (ok) total++;
    }
    return total;
  };
  const perFilter = [];
  for (const f of filters) {
    const times = [];
    let count = 0;
    for (let r = 0; r < repeats; r++) {
      const t = performance.now();
      count = naiveCount(f);
      times.push(performance.now() - t);
    }
    perFilter.push({count, times_ms: times});
  }
  return {perFilter, rows: rows.length};
}
"""


class Server:
    """sitegen's preview server on 127.0.0.1 (a free port), in a thread."""

    def __init__(self, build: Path, renders: Path, renders_url: str) -> None:
        from sitegen.site.serve import make_server

        self.httpd = make_server(build, renders, renders_url, "127.0.0.1", 0)
        default = self.httpd.handle_error

        def handle_error(request: Any, address: Any) -> None:
            if not isinstance(sys.exc_info()[1], ConnectionError):  # a closed page's request
                default(request, address)

        self.httpd.handle_error = handle_error  # type: ignore[method-assign,assignment]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/"

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def in_chromium(build: Path, renders: Path, renders_url: str,
                filters: list[dict[str, list[int]]]) -> dict[str, Any]:
    """Page loads, count() timings and the naive baseline, in headless Chromium."""
    from playwright.sync_api import sync_playwright

    out: dict[str, Any] = {}
    with Server(build, renders, renders_url) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=CHROMIUM_ARGS)
        out["browser_version"] = browser.version
        try:
            url = f"{base}products/{PRODUCT}/"
            loads: list[dict[str, float]] = []
            errors: list[str] = []
            page = None
            for i in range(PAGE_LOADS):  # a fresh context each time: nothing cached
                context = browser.new_context()
                page = context.new_page()
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.add_init_script(INIT_SCRIPT)
                start = time.perf_counter()
                page.goto(url, wait_until="commit")
                page.wait_for_function("() => window.sketchbook !== undefined")
                page.evaluate("() => window.sketchbook.ready.then(() => true)")
                wall_ms = (time.perf_counter() - start) * 1000
                timing = page.evaluate("""() => {
                  const r = performance.getEntriesByType("resource")
                    .find((e) => e.name.endsWith("/data.json"));
                  return {ready_ms: window.__benchReadyAt,
                          data_fetch_ms: r ? r.responseEnd - r.startTime : null,
                          data_transfer_bytes: r ? r.transferSize : null,
                          state: document.body.dataset.sketchbook};
                }""")
                loads.append({"wall_ms": wall_ms, **timing})
                if i < PAGE_LOADS - 1:
                    context.close()
            out["page_errors"] = errors
            out["load"] = {
                "loads": loads,
                "ready_ms": ms_stats([x["ready_ms"] for x in loads]),
                "goto_to_ready_wall_ms": ms_stats([x["wall_ms"] for x in loads]),
                "data_fetch_ms": ms_stats([x["data_fetch_ms"] or 0.0 for x in loads]),
                "data_transfer_bytes": loads[-1]["data_transfer_bytes"],
                "state": loads[-1]["state"],
            }
            assert page is not None
            out["count"] = page.evaluate(COUNT_JS, [filters, COUNT_REPEATS, BATCH_ROUNDS])
            out["naive"] = page.evaluate(NAIVE_JS, [filters, BASELINE_REPEATS, KIND, VIEW])
        finally:
            browser.close()
    return out


# ---------------------------------------------------------------------------------------------
# the benchmark


def bench_site() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="sitegen-bench-site-") as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        catalog, warnings = load_catalog(write_bench_catalog(root / "cat"))
        keys, allowed = ready_keys(catalog)
        ready = {MODEL: {VIEW: set(keys)}}
        generate_s = time.perf_counter() - start

        # --- build: site_files + write_site, into a fresh folder (first) and again (rebuild).
        # During the first call, sitegen.site's product_data / product_coverage are wrapped
        # in timers (sitegen's code is not changed) to show where site_files' time goes.
        first, rebuild = Times(), Times()
        split: dict[str, list[float]] = {"site_files": [], "write_first": [], "write_rebuild": []}
        reports = []
        parts_s: dict[str, float] = {}
        runs = BUILD_RUNS
        builds_start = time.perf_counter()
        i = 0
        while i < runs:
            out = root / f"build-{i}"
            for times, kind in ((first, "write_first"), (rebuild, "write_rebuild")):
                with timers(parts_s) if not parts_s else contextlib.nullcontext():
                    cpu = time.process_time()
                    t0 = time.perf_counter()
                    files = site_files(catalog, QUALITY, ready)
                    t1 = time.perf_counter()
                report = write_site(files, out)
                t2 = time.perf_counter()
                times.append(t2 - t0)
                times.cpu.append(time.process_time() - cpu)
                split["site_files"].append(t1 - t0)
                split[kind].append(t2 - t1)
                reports.append(report)
                if "site_files" not in parts_s:
                    parts_s["site_files"] = t1 - t0
            i += 1
            elapsed = time.perf_counter() - builds_start
            if i < runs and elapsed + elapsed / i > BUILD_BUDGET_S:
                runs = i  # too slow to repeat within the section's few minutes
        build = root / "build-0"
        first_report, rebuild_report = reports[0], reports[1]
        product = catalog.products[PRODUCT]

        # --- page data sizes
        raw = (build / "products" / PRODUCT / "data.json").read_bytes()
        page_data = json.loads(raw)
        ready_b64 = page_data["kinds"][KIND]["ready"][VIEW]
        ready_bin = base64.b64decode(ready_b64)
        bound = READY * len(PARTS) * 2

        # --- the Python side: the same counts with sitegen.site.data.count_ready_from_rows
        plans = expand_product(catalog, product)
        entries = sketchbook_entries(plans)
        sets = ready_rows(plans, entries, keys)
        decoded_ok = decode_rows(ready_b64, len(PARTS)) == sets[KIND].rows
        filters = make_filters()
        py_times, py_counts = timed(
            lambda: [count_ready_from_rows(plans, entries[0], sets, f) for f in filters], 1)

        # --- Chromium
        renders = root / "renders"
        renders.mkdir()
        browser = in_chromium(build, renders, catalog.site.renders_url, filters)

    per_filter = []
    medians = []
    for f, c, n, py in zip(filters, browser["count"]["perFilter"], browser["naive"]["perFilter"],
                           py_counts, strict=True):
        m = statistics.median(c["times_ms"])
        medians.append(m)
        per_filter.append({
            "filter": f, "parts": len(f), "count": c["count"], "python_count": py,
            "agrees": c["count"] == py and c["stable"], "median_ms": m,
            "max_ms": max(c["times_ms"]), "first_ms": c["first_ms"],
            "naive_median_ms": statistics.median(n["times_ms"]), "naive_count": n["count"],
        })
    naive_medians = [p["naive_median_ms"] for p in per_filter]
    overall = statistics.median(medians)
    batch_mean = browser["count"]["batchMs"] / browser["count"]["calls"]
    build_median = statistics.median(first)
    return {
        "product": {"parts": len(PARTS), "finishes_per_part": [p[3] for p in PARTS],
                    "patterns_per_nature": PATTERNS_PER_NATURE, "views": 1,
                    "allowed": allowed, "ready": READY},
        "warnings": len(warnings),
        "generate_s": generate_s,
        "build": {
            "first": stats(first),
            "rebuild": stats(rebuild),
            "site_files": ms_free(split["site_files"]),
            "write_site_first": ms_free(split["write_first"]),
            "write_site_rebuild": ms_free(split["write_rebuild"]),
            "files": len(first_report.written),
            "rebuild_written": len(rebuild_report.written),
            "rebuild_unchanged": rebuild_report.unchanged,
            "runs_note": None if runs == BUILD_RUNS else
            f"{runs} run(s) each, not {BUILD_RUNS}: another would pass the "
            f"{BUILD_BUDGET_S:g} s budget of the builds",
            "breakdown": breakdown(parts_s),
            "aim_s": AIM_BUILD_S,
            "aim_met": build_median < AIM_BUILD_S,
            "aim_met_cpu": statistics.median(first.cpu) < AIM_BUILD_S,
        },
        "data": {
            "data_json_bytes": len(raw),
            "data_json_gzip9_bytes": len(gzip.compress(raw, 9)),
            "ready_base64_chars": len(ready_b64),
            "ready_bytes": len(ready_bin),
            "ready_bytes_bound": bound,
            "ready_bytes_per_picture": len(ready_bin) / READY,
            "ready_gzip9_bytes": len(gzip.compress(ready_b64.encode(), 9)),
            "ready_binary_gzip9_bytes": len(gzip.compress(ready_bin, 9)),
            "rest_of_data_json_bytes": len(raw) - len(ready_b64),
            "ready_at_bound": len(ready_bin) == bound,
            "decodes_to_ready_rows": decoded_ok,
        },
        "browser": {
            "version": browser["browser_version"],
            "page_errors": browser["page_errors"],
            "load": browser["load"],
            "count": {
                "filters": len(filters),
                "repeats_per_filter": COUNT_REPEATS,
                "median_ms": overall,
                "max_median_ms": max(medians),
                "max_ms": max(p["max_ms"] for p in per_filter),
                "first_call_max_ms": max(p["first_ms"] for p in per_filter),
                "batch_mean_ms": batch_mean,
                "batch_calls": browser["count"]["calls"],
                "agree_with_python": sum(p["agrees"] for p in per_filter),
                "all_agree": all(p["agrees"] for p in per_filter),
                "aim_ms": AIM_COUNT_MS,
                "aim_met": overall < AIM_COUNT_MS,
                "aim_met_max": max(medians) < AIM_COUNT_MS,
            },
            "per_filter": per_filter,
            "baseline_naive_js": {  # BASELINE, not sitegen's way of counting
                "repeats_per_filter": BASELINE_REPEATS,
                "median_ms": statistics.median(naive_medians),
                "max_median_ms": max(naive_medians),
                "agrees": all(p["naive_count"] == p["count"] for p in per_filter),
                # against the batch mean: count()'s own median can round to 0 (see README)
                "speedup_count_vs_naive": statistics.median(naive_medians) / batch_mean
                if batch_mean > 0 else None,
            },
        },
        "baseline_python_count_ready": {  # BASELINE: sitegen's Python reference count
            "total_s": py_times[0],
            "per_filter_ms": py_times[0] * 1000 / len(filters),
        },
    }


def ms_free(values: list[float]) -> dict[str, Any]:
    return {"median_s": statistics.median(values), "min_s": min(values),
            "max_s": max(values), "runs": len(values)}


BENCHMARKS: dict[str, Callable[[], dict[str, Any]]] = {"site": bench_site}


def run(only: list[str] | None = None) -> dict[str, Any]:
    """Run this section's benchmarks (all, or those named) and return their figures by name."""
    return {name: fn() for name, fn in BENCHMARKS.items() if not only or name in only}


# ---------------------------------------------------------------------------------------------
# console summary


def _t(seconds: float) -> str:
    return f"{seconds * 1000:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


def summary(name: str, r: dict[str, Any]) -> list[str]:
    if name != "site":
        return [f"{k}: {v}" for k, v in r.items() if not isinstance(v, dict | list)]
    p, b, d, br = r["product"], r["build"], r["data"], r["browser"]
    c, n, load = br["count"], br["baseline_naive_js"], br["load"]
    bd = b["breakdown"]
    lines = [
        f"1 product, {p['parts']} parts x {p['finishes_per_part']} finishes: "
        f"{p['allowed']:,} allowed, {p['ready']:,} ready (1 view)",
        f"build (site_files + write_site): first {_t(b['first']['median_s'])} (median of "
        f"{b['first']['runs']}; CPU {_t(b['first']['cpu_median_s'])}), rebuild "
        f"{_t(b['rebuild']['median_s'])} ({b['rebuild_written']} written, "
        f"{b['rebuild_unchanged']} unchanged); aim < {b['aim_s']:g} s: "
        f"{'met' if b['aim_met'] else 'MISSED'}",
        f"  site_files {_t(b['site_files']['median_s'])} (median); in its first call: "
        f"product_coverage {_t(bd['product_coverage_s'])} ({bd['product_coverage_share']:.0%}),"
        f" product_data {_t(bd['product_data_s'])} ({bd['product_data_share']:.0%}), rest "
        f"{_t(bd['rest_s'])} ({bd['rest_share']:.0%}); write_site first "
        f"{_t(b['write_site_first']['median_s'])}, rebuild "
        f"{_t(b['write_site_rebuild']['median_s'])}",
        f"data.json: {d['data_json_bytes']:,} B raw, {d['data_json_gzip9_bytes']:,} B gzip -9; "
        f"ready set {d['ready_bytes']:,} B binary (bound {d['ready_bytes_bound']:,}: "
        f"{'at' if d['ready_at_bound'] else 'NOT at'} it), {d['ready_base64_chars']:,} chars "
        f"base64, {d['ready_gzip9_bytes']:,} B gzipped; rest of data.json "
        f"{d['rest_of_data_json_bytes']:,} B",
        f"page load to ready: {load['ready_ms']['median_ms']:.0f} ms (median of "
        f"{len(load['loads'])}; data.json fetch {load['data_fetch_ms']['median_ms']:.0f} ms); "
        f"page errors: {len(br['page_errors'])}",
        f"count(): median {c['median_ms']:.3g} ms over {c['filters']} filters (worst filter "
        f"median {c['max_median_ms']:.3g} ms, worst call {c['max_ms']:.3g} ms, batch mean "
        f"{c['batch_mean_ms']:.3g} ms); aim < {c['aim_ms']:g} ms: "
        f"{'met' if c['aim_met'] else 'MISSED'}; agrees with count_ready_from_rows: "
        f"{c['agree_with_python']}/{c['filters']}",
        f"BASELINE naive JS count (palette lookup + Array.includes per row): median "
        f"{n['median_ms']:.3g} ms (worst {n['max_median_ms']:.3g} ms); count() is "
        f"{n['speedup_count_vs_naive']:.3g}x faster; same counts: {n['agrees']}",
        "BASELINE Python count_ready_from_rows: "
        f"{r['baseline_python_count_ready']['per_filter_ms']:.3g} ms per filter",
    ]
    if b["runs_note"]:
        lines.append(f"note: {b['runs_note']}")
    return lines


# ---------------------------------------------------------------------------------------------
# profiling: cProfile of one site_files call on the same data


def profile_main(argv: list[str]) -> int:
    import argparse
    import cProfile
    import pstats

    parser = argparse.ArgumentParser(description="cProfile of site_files on the bench product")
    parser.add_argument("--profile", action="store_true", required=True)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--dump", type=Path, help="also write the raw profile here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sitegen-bench-site-") as tmp:
        catalog, _ = load_catalog(write_bench_catalog(Path(tmp) / "cat"))
        keys, _ = ready_keys(catalog)
        ready = {MODEL: {VIEW: set(keys)}}
        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.runcall(site_files, catalog, QUALITY, ready)
        print(f"site_files under cProfile: {time.perf_counter() - start:.2f} s")
    if args.dump:
        profiler.dump_stats(args.dump)
    pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(profile_main(sys.argv[1:]))
