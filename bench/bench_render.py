"""Render-stage benchmarks: the old way (one fresh Blender process per picture) against
sitegen's batch (a pool of warm workers, `render_jobs`), and where the batch's time goes.

Real Cycles renders on the CPU (`bpy` module), of the demo model `maru` (product
`maru-bench`, its first wanted colourings, defaults first), from a copy of `catalog/` in a
temporary folder. See bench/README.md for what each figure means.

Two benchmarks:

- `small`: SMALL_PICTURES colourings at a small quality added to the copy (SMALL_QUALITY),
  (a) the old way, (b) `render_jobs` with the default pool for this machine, with one worker
  x all threads (always run: where it is the default's pool, as on 2 cores, it is a repeat
  that shows the run-to-run spread), and with one worker per core x 1 thread (only when
  that pool differs from both).
- `primary`: PRIMARY_PICTURES colourings at the demo's full-picture quality (`preview`), batch
  with the default pool, and PRIMARY_OLD_PICTURES of them the old way (indicative ratio).

The batch's breakdown comes from the worker's own `timings` (sync, scene_sync, sampling,
render, write) and from wrapping, for the duration of a run, `WorkerProcess.start/ask/stop`,
`sitegen.render._collect`, `sitegen.render.make_companions` and the store's `record` and
`remember_quality` (the index) with timers: sitegen's code itself is not changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

import sitegen.render as render_mod
from sitegen.catalog import Catalog, file_hashes
from sitegen.catalog.load import load_catalog
from sitegen.plan import Job, plan_renders, wanted_renders
from sitegen.render import PoolSettings, default_workers, open_message, render_jobs
from sitegen.render.workers import WorkerProcess, worker_command
from sitegen.store import FolderStore

SECTION = "render"

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "catalog"
FULL_QUALITY = "preview"  # the demo's full-picture quality (its primary one is layered)
PRODUCT = "maru-bench"  # 80 colourings, one view ('main')
SMALL_PICTURES = 24
PRIMARY_PICTURES = 8
PRIMARY_OLD_PICTURES = 3
SMALL_QUALITY: dict[str, Any] = {"id": "bench-small", "engine": "cycles", "samples": 8,
                                 "resolution": [160, 120], "format": "png", "denoise": "off"}
AIM_SPEEDUP = 3.0  # small: batch renders/min >= 3x the old way
AIM_OUTSIDE_SAMPLING = 0.10  # primary: time outside sampling < 10 % of the batch's wall time

pc = time.perf_counter
_THUMB = "make_companions"  # imported into sitegen.render, called there by _collect


# ---------------------------------------------------------------------------------------------
# helpers


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _machine_share(cpu: float, wall: float) -> float | None:
    """The share of the machine's CPUs this run used (well below 1 with every thread busy:
    other processes took the rest)."""
    return cpu / (wall * _usable_cpus()) if wall else None


def _cpu_seconds() -> float:
    """CPU time of this process and of its reaped children (the Blender workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def temp_catalog(dest: Path, primary: dict[str, Any] | str = FULL_QUALITY) -> Catalog:
    """A copy of the demo catalog under `dest` whose primary quality is `primary`: the id of
    one of its qualities, or a quality to add (so `wanted_renders` wants the products at it).
    By default the demo's full-picture quality: these benchmarks measure pictures."""
    root = dest / "catalog"
    shutil.copytree(CATALOG, root, ignore=shutil.ignore_patterns("*.blend1"))
    site_path = root / "site.yaml"
    site = yaml.safe_load(site_path.read_text(encoding="utf-8"))
    for quality in site["qualities"]:
        quality["primary"] = quality["id"] == primary
    if isinstance(primary, dict):
        site["qualities"].append({**primary, "primary": True})
    site_path.write_text(yaml.safe_dump(site, sort_keys=False), encoding="utf-8")
    catalog, _warnings = load_catalog(root)
    return catalog


def plan_jobs(catalog: Catalog, n: int) -> list[Job]:
    """The first n wanted pictures of PRODUCT at the primary quality, as jobs for an empty
    store (what `sitegen render --product maru-bench --limit n` would render)."""
    wanted = list(itertools.islice(wanted_renders(catalog, products=[PRODUCT]), n))
    if len(wanted) < n:
        raise RuntimeError(f"{PRODUCT}: only {len(wanted)} wanted pictures, {n} needed")
    jobs = plan_renders(catalog, wanted, {}, file_hashes(catalog)).jobs
    if len(jobs) != n:
        raise RuntimeError(f"planned {len(jobs)} jobs for {n} wanted pictures")
    return jobs


def _model_facts(catalog: Catalog, jobs: Sequence[Job]) -> dict[str, Any]:
    w = jobs[0].wanted
    blend = catalog.blend_path(catalog.models[w.model])
    quality = catalog.qualities[w.quality].model_dump()
    return {
        "product": PRODUCT,
        "model": w.model,
        "views": sorted({j.wanted.view for j in jobs}),
        "blend_sha256": hashlib.sha256(Path(blend).read_bytes()).hexdigest()[:16],
        "quality": {k: quality[k] for k in ("id", "engine", "samples", "resolution", "format",
                                            "denoise")},
        "pictures": len(jobs),
        "distinct_finishes": len({v for j in jobs for _, v in j.wanted.values if v}),
        "first_address": w.address,
    }


def _sum(values: Sequence[float]) -> float:
    return float(sum(values))


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


# ---------------------------------------------------------------------------------------------
# (a) the old way: one fresh process per picture


def old_way_one(catalog: Catalog, job: Job, out_root: Path, log: Path) -> dict[str, Any]:
    """One picture in a fresh worker process: start (import bpy), open the blend with only
    this picture's finishes, render, write, exit. All cores go to that one process.

    The honest equivalent of `blender -b model.blend --python render_one.py` per picture:
    the same worker script and Blender calls as the batch, so only the per-process costs
    differ.
    """
    w = job.wanted
    settings = PoolSettings(workers=1)  # threads: every core
    messages = [
        open_message(catalog, w.quality, w.model, [job], settings),
        {"op": "render", "id": w.address, "view": w.view, "values": dict(w.values),
         "out": str((out_root / w.address).resolve())},
        {"op": "quit"},
    ]
    payload = b"".join(json.dumps(m).encode() + b"\n" for m in messages)
    with open(log, "ab") as err:
        t0 = pc()
        proc = subprocess.Popen(worker_command(None), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=err)
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(payload)
        proc.stdin.close()
        answers: list[tuple[float, dict[str, Any]]] = []
        for line in proc.stdout:
            answers.append((pc(), json.loads(line)))
        rc = proc.wait(timeout=600)
        t_end = pc()
    by_event = {a["event"]: (t, a) for t, a in answers}
    if rc != 0 or "rendered" not in by_event or "opened" not in by_event:
        raise RuntimeError(f"old way, {w.address}: exit status {rc}, answers "
                           f"{[a for _, a in answers]}")
    t_ready = by_event["ready"][0]
    opened = by_event["opened"][1]
    t_rendered, rendered = by_event["rendered"]
    wall = t_end - t0
    start = t_ready - t0
    exit_s = t_end - t_rendered
    return {
        "address": w.address,
        "wall_s": wall,
        "start_s": start,  # spawn, interpreter, import bpy, until 'ready'
        "open_s": float(opened["seconds"]),
        "render_seconds": float(rendered["seconds"]),  # sync + render + write
        "timings": rendered["timings"],
        "exit_s": exit_s,  # 'rendered' answer until the process is reaped
        "other_s": wall - start - float(opened["seconds"]) - float(rendered["seconds"]) - exit_s,
        "sha256": rendered["sha256"],
    }


def old_way(catalog: Catalog, jobs: Sequence[Job], tmp: Path) -> dict[str, Any]:
    out_root = tmp / "old-way"
    log = tmp / "old-way.log"
    cpu0, load0 = _cpu_seconds(), _loadavg()
    t0 = pc()
    pictures = [old_way_one(catalog, job, out_root, log) for job in jobs]
    wall = pc() - t0
    cpu = _cpu_seconds() - cpu0
    n = len(pictures)

    def total(key: str) -> float:
        return _sum([p[key] for p in pictures])

    def timing(key: str) -> float:
        return _sum([p["timings"].get(key, 0.0) for p in pictures])

    parts = {
        "start": total("start_s"),
        "open": total("open_s"),
        "scene_sync": timing("sync") + timing("scene_sync"),
        "sampling": timing("sampling"),
        "render_other": timing("render") - timing("scene_sync") - timing("sampling"),
        "write": timing("write"),
        "exit": total("exit_s"),
        "other": total("other_s"),
    }
    return {
        "label": "BASELINE: one fresh worker process per picture (start, open, render one, "
                 "exit), sequential, all threads to it; no thumbnail or index",
        "pictures": n,
        "threads": PoolSettings(workers=1).threads_per_worker(),
        "wall_s": wall,
        "renders_per_min": 60 * n / wall,
        "cpu_s": cpu,
        "renders_per_cpu_min": 60 * n / cpu if cpu else None,
        "machine_share": _machine_share(cpu, wall),
        "per_picture_s": {"median": _median([p["wall_s"] for p in pictures]),
                          "min": min(p["wall_s"] for p in pictures),
                          "max": max(p["wall_s"] for p in pictures)},
        "breakdown": _breakdown(parts, wall),
        "per_process_overhead_median_s": _median(
            [p["start_s"] + p["open_s"] + p["exit_s"] + p["other_s"] for p in pictures]),
        "loadavg_before": load0,
        "loadavg_after": _loadavg(),
        "_sha256": {p["address"]: p["sha256"] for p in pictures},
    }


# ---------------------------------------------------------------------------------------------
# (b) sitegen's batch, instrumented


class Recorder:
    """Timings gathered by wrapping the pool's methods during one `render_jobs` call."""

    def __init__(self) -> None:
        self.lists: dict[str, list[float]] = {k: [] for k in (
            "start", "open", "open_worker", "render_ask", "render_seconds", "stop",
            "thumbnail", "record", "collect")}
        self.start_threads: set[int] = set()
        self.events: list[tuple[float, dict[str, Any]]] = []

    def add(self, name: str, seconds: float) -> None:
        self.lists[name].append(seconds)  # list.append is atomic under the GIL


@contextlib.contextmanager
def instrumented(store: FolderStore) -> Iterator[Recorder]:
    """Wrap WorkerProcess.start/ask/stop, _collect, make_companions and the store's index
    writes (record, remember_quality) with timers for the duration of the block; everything
    is put back afterwards."""
    rec = Recorder()
    orig_start, orig_ask, orig_stop = WorkerProcess.start, WorkerProcess.ask, WorkerProcess.stop
    orig_collect, orig_thumb = render_mod._collect, getattr(render_mod, _THUMB)
    orig_record, orig_remember = store.record, store.remember_quality

    def start(self: WorkerProcess, timeout: float) -> None:
        t = pc()
        try:
            orig_start(self, timeout)
        finally:
            rec.add("start", pc() - t)
            rec.start_threads.add(threading.get_ident())

    def ask(self: WorkerProcess, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        t = pc()
        answer = orig_ask(self, message, timeout)
        d = pc() - t
        if message.get("op") == "open":
            rec.add("open", d)
            rec.add("open_worker", float(answer.get("seconds", 0.0)))
        elif message.get("op") == "render":
            rec.add("render_ask", d)
            rec.add("render_seconds", float(answer.get("seconds", 0.0)))
        return answer

    def stop(self: WorkerProcess) -> None:
        if self.proc is None:
            orig_stop(self)
            return
        t = pc()
        try:
            orig_stop(self)
        finally:
            rec.add("stop", pc() - t)

    def collect(*args: Any, **kwargs: Any) -> None:
        t = pc()
        try:
            orig_collect(*args, **kwargs)
        finally:
            rec.add("collect", pc() - t)

    def thumbnail(*args: Any, **kwargs: Any) -> Any:
        t = pc()
        try:
            return orig_thumb(*args, **kwargs)
        finally:
            rec.add("thumbnail", pc() - t)

    def timed_index(method: Callable[..., None]) -> Callable[..., None]:
        def wrapper(*args: Any, **kwargs: Any) -> None:
            t = pc()
            try:
                method(*args, **kwargs)
            finally:
                rec.add("record", pc() - t)
        return wrapper

    WorkerProcess.start = start  # type: ignore[method-assign]
    WorkerProcess.ask = ask  # type: ignore[method-assign]
    WorkerProcess.stop = stop  # type: ignore[method-assign]
    render_mod._collect = collect
    setattr(render_mod, _THUMB, thumbnail)
    store.record = timed_index(orig_record)  # type: ignore[method-assign]
    store.remember_quality = timed_index(orig_remember)  # type: ignore[method-assign]
    try:
        yield rec
    finally:
        WorkerProcess.start = orig_start  # type: ignore[method-assign]
        WorkerProcess.ask = orig_ask  # type: ignore[method-assign]
        WorkerProcess.stop = orig_stop  # type: ignore[method-assign]
        render_mod._collect = orig_collect
        setattr(render_mod, _THUMB, orig_thumb)
        del store.record, store.remember_quality


def _breakdown(parts: dict[str, float], capacity: float) -> dict[str, dict[str, float]]:
    return {k: {"s": v, "share": v / capacity if capacity else 0.0} for k, v in parts.items()}


def batch(catalog: Catalog, jobs: Sequence[Job], settings: PoolSettings, tmp: Path,
          name: str) -> dict[str, Any]:
    """`render_jobs` into an empty FolderStore, with the time split by where it goes."""
    store = FolderStore(tmp / f"store-{name}")
    cpu0, load0 = _cpu_seconds(), _loadavg()
    with instrumented(store) as rec:
        t0 = pc()

        def on_event(event: dict[str, Any]) -> None:
            rec.events.append((pc() - t0, event))

        summary = render_jobs(catalog, store, jobs, settings, on_event)
        wall = pc() - t0
    cpu = _cpu_seconds() - cpu0
    sha = {r.address: r.sha256 for r in store.records()}
    store.close()
    if summary.failed:
        raise RuntimeError(f"batch {name}: {len(summary.failed)} failed: {summary.failed[:3]}")

    lists = rec.lists
    t = summary.timings
    n = summary.rendered
    workers_used = max(1, len(rec.start_threads))
    capacity = workers_used * wall  # worker-seconds available
    start_open = _sum(lists["start"]) + _sum(lists["open"])
    ipc = _sum(lists["render_ask"]) - _sum(lists["render_seconds"])
    busy = start_open + _sum(lists["render_ask"]) + _sum(lists["stop"])
    sampling = t.get("sampling", 0.0)
    parts = {
        "start_open": start_open,
        "scene_sync": t.get("sync", 0.0) + t.get("scene_sync", 0.0),
        "sampling": sampling,
        "render_other": t.get("render", 0.0) - t.get("scene_sync", 0.0) - sampling,
        "write": t.get("write", 0.0),
        "ipc": ipc,
        "stop": _sum(lists["stop"]),
        "idle": capacity - busy,
    }
    rendered = [e for _, e in rec.events if e["event"] == "rendered"]
    arrivals = [s for s, e in rec.events if e["event"] == "rendered"]
    per_render = {k: _median([e["timings"].get(k, 0.0) for e in rendered[1:]])
                  for k in ("sync", "scene_sync", "sampling", "render", "write")}
    first = rendered[0]["timings"] if rendered else {}
    return {
        "workers": settings.workers,
        "workers_used": workers_used,
        "threads_per_worker": settings.threads_per_worker(),
        "pictures": n,
        "wall_s": wall,
        "summary_seconds": summary.seconds,
        "renders_per_min": 60 * n / wall,
        "cpu_s": cpu,
        "renders_per_cpu_min": 60 * n / cpu if cpu else None,
        "machine_share": _machine_share(cpu, wall),
        "first_picture_after_s": arrivals[0] if arrivals else None,
        "worker_starts": len(lists["start"]),
        "opens": len(lists["open"]),
        "start_s": _sum(lists["start"]),
        "open_s": _sum(lists["open"]),
        "open_in_worker_s": _sum(lists["open_worker"]),
        "timings_sum": {k: round(v, 4) for k, v in t.items()},
        # shares of the worker-seconds (workers_used x wall); with one worker, of the wall
        "capacity_s": capacity,
        "breakdown": _breakdown(parts, capacity),
        "outside_sampling_s": capacity - sampling,
        "outside_sampling_share": (capacity - sampling) / capacity if capacity else 0.0,
        # the calling thread: thumbnails and index, overlapping the workers' renders
        "host": {
            "thumbnail_s": _sum(lists["thumbnail"]),
            "index_s": _sum(lists["record"]),
            "collect_s": _sum(lists["collect"]),
            "collect_share_of_wall": _sum(lists["collect"]) / wall if wall else 0.0,
        },
        "per_render_median_s": {**per_render, "note": "renders after the first"},
        "first_render_s": first,
        "loadavg_before": load0,
        "loadavg_after": _loadavg(),
        "_sha256": sha,
    }


def _same(a: dict[str, Any], b: dict[str, Any]) -> dict[str, int]:
    common = set(a["_sha256"]) & set(b["_sha256"])
    return {"compared": len(common),
            "identical": sum(a["_sha256"][k] == b["_sha256"][k] for k in common)}


def _strip(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in figures.items() if not k.startswith("_")}


def _machine() -> dict[str, Any]:
    return {"cpu_count": os.cpu_count(), "cpu_usable": _usable_cpus(), "loadavg_start": _loadavg(),
            "default_workers": default_workers(),
            "note": "the machine may be shared: a load average above cpu_usable means other "
                    "processes competed for the CPUs and inflated the wall times (renders per "
                    "CPU-minute is the steadier figure)"}


# ---------------------------------------------------------------------------------------------
# 1. small quality


def bench_small() -> dict[str, Any]:
    machine = _machine()
    with tempfile.TemporaryDirectory(prefix="sitegen-bench-render-") as name:
        tmp = Path(name)
        catalog = temp_catalog(tmp, SMALL_QUALITY)
        jobs = plan_jobs(catalog, SMALL_PICTURES)
        cores = os.cpu_count() or 1
        default = PoolSettings(workers=default_workers())
        one_all = PoolSettings(workers=1)
        per_core = PoolSettings(workers=cores, threads=1)

        def shape(s: PoolSettings) -> tuple[int, int]:
            return (s.workers, s.threads_per_worker())

        # The default first, then the baseline, then the other pools: when the default is
        # 1 x all threads (a 2-core machine), the rerun after the baseline shows the drift.
        runs: dict[str, dict[str, Any]] = {}
        runs["default"] = batch(catalog, jobs, default, tmp, "default")
        base = old_way(catalog, jobs, tmp)
        runs["one_worker_all_threads"] = batch(catalog, jobs, one_all, tmp, "one-all")
        if shape(per_core) not in (shape(default), shape(one_all)):
            runs["one_worker_per_core"] = batch(catalog, jobs, per_core, tmp, "per-core")
        facts = _model_facts(catalog, jobs)

    d = runs["default"]
    speedups = {k: r["renders_per_min"] / base["renders_per_min"] for k, r in runs.items()}
    speedups_cpu = {k: r["renders_per_cpu_min"] / base["renders_per_cpu_min"]
                    for k, r in runs.items()}
    speedup_cpu = speedups_cpu["default"]
    return {
        **facts,
        "machine_facts": machine,
        "old_way": _strip(base),
        "batch": {k: {**_strip(r), "same_pool_as_default": shape_of(r) == shape_of(d)}
                  for k, r in runs.items()},
        "speedup": speedups,
        "speedup_default": speedups["default"],
        "speedup_best": max(speedups.values()),
        "speedup_cpu": speedups_cpu,
        "speedup_default_cpu": speedup_cpu,
        "aim_speedup": AIM_SPEEDUP,
        "aim_met": speedups["default"] >= AIM_SPEEDUP,
        "aim_met_cpu": speedup_cpu is not None and speedup_cpu >= AIM_SPEEDUP,
        "same_pictures_old_vs_batch": _same(base, d),
    }


def shape_of(r: dict[str, Any]) -> tuple[int, int]:
    return (r["workers"], r["threads_per_worker"])


# ---------------------------------------------------------------------------------------------
# 2. primary quality


def bench_primary() -> dict[str, Any]:
    machine = _machine()
    with tempfile.TemporaryDirectory(prefix="sitegen-bench-render-") as name:
        tmp = Path(name)
        catalog = temp_catalog(tmp)
        jobs = plan_jobs(catalog, PRIMARY_PICTURES)
        run = batch(catalog, jobs, PoolSettings(workers=default_workers()), tmp, "default")
        base = old_way(catalog, jobs[:PRIMARY_OLD_PICTURES], tmp)
        facts = _model_facts(catalog, jobs)
    share = run["outside_sampling_share"]
    parts = run["breakdown"]
    outside = {k: v for k, v in parts.items() if k != "sampling"}
    return {
        **facts,
        "machine_facts": machine,
        "batch": _strip(run),
        "outside_sampling_share": share,
        "outside_sampling_largest": max(outside, key=lambda k: outside[k]["s"]),
        "aim_outside_sampling_share": AIM_OUTSIDE_SAMPLING,
        "aim_met": share < AIM_OUTSIDE_SAMPLING,
        "sampling_includes_denoise": True,
        "old_way": {**_strip(base), "note": f"the first {PRIMARY_OLD_PICTURES} pictures only: "
                                            "an indicative ratio"},
        "speedup_indicative": run["renders_per_min"] / base["renders_per_min"],
        "speedup_indicative_cpu": run["renders_per_cpu_min"] / base["renders_per_cpu_min"],
        "same_pictures_old_vs_batch": _same(base, run),
    }


BENCHMARKS: dict[str, Callable[[], dict[str, Any]]] = {
    "small": bench_small,
    "primary": bench_primary,
}


def run(only: list[str] | None = None) -> dict[str, Any]:
    """Run this section's benchmarks (all, or those named) and return their figures by name."""
    return {name: fn() for name, fn in BENCHMARKS.items() if not only or name in only}


# ---------------------------------------------------------------------------------------------
# console summary


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _breakdown_line(b: dict[str, dict[str, float]]) -> str:
    return ", ".join(f"{k} {v['s']:.2f} s ({_pct(v['share'])})" for k, v in b.items())


def _batch_lines(name: str, r: dict[str, Any]) -> list[str]:
    h = r["host"]
    pr = r["per_render_median_s"]
    repeat = " = the default's pool: a repeat" if r.get("same_pool_as_default") and \
        name != "default" else ""
    return [
        f"batch {name} ({r['workers_used']} worker(s) x {r['threads_per_worker']} threads"
        f"{repeat}): "
        f"{r['pictures']} in {r['wall_s']:.1f} s = {r['renders_per_min']:.1f} renders/min "
        f"({r['renders_per_cpu_min']:.1f} per CPU-minute, {_pct(r['machine_share'])} of the "
        f"machine's CPU); first picture after "
        f"{r['first_picture_after_s']:.2f} s",
        f"  of {r['capacity_s']:.1f} worker-s: {_breakdown_line(r['breakdown'])}",
        f"  start {r['start_s']:.2f} s x{r['worker_starts']}, open {r['open_s']:.2f} s "
        f"x{r['opens']}; per render (median, after the first): scene sync "
        f"{(pr['sync'] or 0) + (pr['scene_sync'] or 0):.3f} s, sampling "
        f"{pr['sampling'] or 0:.3f} s, write {pr['write'] or 0:.3f} s",
        f"  host (calling thread, overlaps): thumbnails {h['thumbnail_s']:.2f} s, index "
        f"{h['index_s']:.2f} s, collect in all {h['collect_s']:.2f} s "
        f"({_pct(h['collect_share_of_wall'])} of wall); load {r['loadavg_before']} -> "
        f"{r['loadavg_after']}",
    ]


def _old_lines(b: dict[str, Any]) -> list[str]:
    return [
        f"BASELINE old way (fresh process per picture, {b['threads']} threads): "
        f"{b['pictures']} in {b['wall_s']:.1f} s = {b['renders_per_min']:.1f} renders/min "
        f"({b['renders_per_cpu_min']:.1f} per CPU-minute, {_pct(b['machine_share'])} of the "
        f"machine's CPU); per picture median "
        f"{b['per_picture_s']['median']:.2f} s, of which process overhead "
        f"{b['per_process_overhead_median_s']:.2f} s",
        f"  {_breakdown_line(b['breakdown'])}",
    ]


def summary(name: str, r: dict[str, Any]) -> list[str]:
    q = r["quality"]
    head = (f"{r['pictures']} colourings of {r['product']} ({r['model']}), quality {q['id']}: "
            f"{q['engine']} {q['samples']} samples {q['resolution'][0]}x{q['resolution'][1]} "
            f"{q['format']} denoise {q['denoise']}; {r['machine_facts']['cpu_count']} cpus, "
            f"load at start {r['machine_facts']['loadavg_start']}")
    if name == "small":
        lines = [head, *_old_lines(r["old_way"])]
        for k, b in r["batch"].items():
            lines += _batch_lines(k, b)
        s = r["same_pictures_old_vs_batch"]
        lines += [
            "speedup vs old way: " + ", ".join(f"{k} {v:.2f}x" for k, v in r["speedup"].items())
            + "; by CPU time: "
            + ", ".join(f"{k} {v:.2f}x" for k, v in r["speedup_cpu"].items()),
            f"aim >= {r['aim_speedup']}x: {'met' if r['aim_met'] else 'MISSED'} "
            f"({'met' if r['aim_met_cpu'] else 'missed'} by CPU time); identical pictures "
            f"old vs batch: {s['identical']}/{s['compared']}",
        ]
        return lines
    if name == "primary":
        lines = [head, *_batch_lines("default", r["batch"]), *_old_lines(r["old_way"])]
        lines += [
            f"time outside sampling (denoise counts as sampling): "
            f"{_pct(r['outside_sampling_share'])} of the batch's worker time; aim < "
            f"{_pct(r['aim_outside_sampling_share'])}: {'met' if r['aim_met'] else 'MISSED'} "
            f"(largest: {r['outside_sampling_largest']})",
            f"indicative speedup vs old way at this quality: {r['speedup_indicative']:.2f}x "
            f"(by CPU time {r['speedup_indicative_cpu']:.2f}x)",
        ]
        return lines
    return [f"{k}: {v}" for k, v in r.items() if not isinstance(v, dict | list)]

