"""Rendering: a pool of warm Blender workers fed with batches of jobs, results indexed.

Each worker is a subprocess running `blender/worker.py` (with the `bpy` module, or inside
a Blender executable), in its own process group so that a stuck render can be killed with
everything it started. One thread per worker talks to it; the calling thread alone writes
the index, makes thumbnails and reports progress.
"""

from __future__ import annotations

import collections
import math
import os
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sitegen.catalog.models import Catalog
from sitegen.errors import EnvironmentFailure, SitegenError, environment_failure
from sitegen.expand import expand_product
from sitegen.layers import BOUNCE_SCALE, SPECIAL_MATERIALS, WHITE_KEY, WHITE_MATERIAL
from sitegen.plan import Job, Wanted, finish_material, quality_settings
from sitegen.protocol import Layer, Material, OpenMessage, Quality, RenderFields
from sitegen.render.blender import Blender, find_blender
from sitegen.render.workers import WorkerGone, WorkerProcess, WorkerStartError, worker_command
from sitegen.store import RenderStore, make_companions, remove_picture

Event = dict[str, Any]  # a run's progress events (rendered, failed, worker, refused)




@dataclass(frozen=True)
class PoolSettings:
    """How to run the workers."""

    workers: int = 1
    threads: int = 0  # per worker; 0: the cores divided among the workers
    recycle_after: int = 100  # renders before a worker is restarted (Blender's memory grows)
    timeout: float = 600.0  # seconds for one render (or one model load)
    blender: str | None = None  # a Blender executable; None: the bpy module
    device: str = "auto"  # auto: a GPU when present, else the CPU; cpu: always the CPU
    chunk: int = 25  # renders handed to a worker at a time

    def threads_per_worker(self) -> int:
        """Render threads for each worker (see `threads_per_worker`)."""
        return threads_per_worker(self.threads, self.workers)


def threads_per_worker(threads: int, workers: int) -> int:
    """`threads` when set, else this machine's cores divided among `workers` (at least 1)."""
    if threads:
        return threads
    return max(1, (os.cpu_count() or 1) // workers)


def default_workers() -> int:
    """Workers for this machine: one per two cores (each then renders with two threads)."""
    return max(1, (os.cpu_count() or 1) // 2)


CHECK_TIMEOUT = 120.0  # seconds at least for a worker's start and a model check


@dataclass
class Summary:
    """What a render run did."""

    rendered: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (address, reason)
    seconds: float = 0.0
    render_seconds: float = 0.0  # summed over workers
    timings: dict[str, float] = field(default_factory=lambda: collections.defaultdict(float))
    interrupted: bool = False
    # Models that failed the model check, none of their pictures rendered:
    # (model, pictures not rendered, problems as `file:line: field: message`).
    refused: list[tuple[str, int, list[str]]] = field(default_factory=list)

    @property
    def per_minute(self) -> float:
        return 60 * self.rendered / self.seconds if self.seconds else 0.0


@dataclass
class _Task:
    job: Job
    attempt: int = 1


def open_message(catalog: Catalog, quality: str, model: str, jobs: Sequence[Job],
                 settings: PoolSettings, *, every_finish: bool = False) -> OpenMessage:
    """The `open` message for a model at a quality, with every finish the jobs use (and
    the neutral material, when layers need it). `every_finish`: also every finish the
    model's products may show, and the materials the quality's layers may need, so that
    one `open` serves any colouring (the studio's warm workers)."""
    m = catalog.models[model]
    q = catalog.qualities[quality]
    values = {v for job in jobs for _, v in job.wanted.values}
    white = any(job.wanted.bounce is not None for job in jobs)
    if every_finish:
        values |= {v for p in catalog.products.values() if p.model == model
                   for plan in expand_product(catalog, p) for part in plan.parts
                   for v in part.domain}
        values |= set(SPECIAL_MATERIALS) if q.layers else set()
        white = white or q.bounce
    materials = {str(f): finish_material(catalog, catalog.finishes[f])
                 for f in sorted(v for v in values if v > 0)}
    for value, (name, material) in SPECIAL_MATERIALS.items():
        if value in values:
            materials[name] = cast(Material, dict(material))
    if white:
        materials[WHITE_KEY] = cast(Material, dict(WHITE_MATERIAL))
    return {
        "op": "open",
        "blend": str(catalog.blend_path(m)),
        "meshes": {mesh.id: mesh.object_names for mesh in m.meshes},
        "materials": materials,
        "quality": cast(Quality, q.model_dump()),
        "threads": settings.threads_per_worker(),
        "device": settings.device,
    }


def render_fields(wanted: Wanted) -> RenderFields:
    """What a `render` message says of a wanted picture: the view's camera object, a value
    per mesh (a finish id, 0 for hidden, "neutral"), for a spin's frame which one of how
    many (the worker places the camera), and for a layer which one (blender/README.md)."""
    fields: RenderFields = {"view": wanted.camera, "values": {
        mesh: SPECIAL_MATERIALS[value][0] if value in SPECIAL_MATERIALS else value
        for mesh, value in wanted.values}}
    if wanted.spin is not None:
        fields["frame"] = wanted.spin.frame
        fields["frames"] = wanted.spin.frames
    if wanted.layer is not None:
        layer: Layer = ({"kind": "part", "meshes": list(wanted.layer)} if wanted.layer
                        else {"kind": "backdrop"})
        if wanted.bounce is not None:
            layer["bounce"] = {"neighbours": [list(n) for n in wanted.bounce],
                               "scale": BOUNCE_SCALE}
        fields["layer"] = layer
    return fields


def chunk_jobs(jobs: Sequence[Job], settings: PoolSettings) -> list[list[Job]]:
    """Jobs grouped by (quality, model), cut so every worker gets work, in plan order."""
    groups: dict[tuple[str, str], list[Job]] = {}
    for job in jobs:
        groups.setdefault((job.wanted.quality, job.wanted.model), []).append(job)
    size = max(1, min(settings.chunk, math.ceil(len(jobs) / settings.workers)))
    chunks = [group[i:i + size] for group in groups.values() for i in range(0, len(group), size)]
    position = {id(job): n for n, job in enumerate(jobs)}
    chunks.sort(key=lambda c: position[id(c[0])])
    return chunks


def render_jobs(catalog: Catalog, store: RenderStore, jobs: Sequence[Job],
                settings: PoolSettings, on_event: Callable[[Event], None] = lambda e: None,
                ) -> Summary:
    """Render the jobs with a pool of workers, indexing each picture as it arrives.

    First every model the jobs use is checked (sitegen.modelcheck, cached): a model that
    fails is refused, once, with its problems (`summary.refused`, a `refused` event), and
    none of its pictures is rendered. Workers that cannot start end the run with a
    SitegenError saying why. Interrupted (Ctrl-C, or SIGTERM turned into
    KeyboardInterrupt by the caller), it kills every worker, removes their temporary files,
    and raises KeyboardInterrupt after indexing what finished.
    """
    summary = Summary()
    start = time.perf_counter()
    blender = find_blender(settings.blender)
    if blender.missing:
        raise SitegenError(f"Blender workers could not start: {blender.missing}")
    command = worker_command(blender)
    jobs = _refuse_broken_models(catalog, jobs, blender, settings, summary, on_event)
    start_failed: list[str] = []
    pending: collections.deque[list[_Task]] = collections.deque(
        [_Task(job) for job in chunk] for chunk in chunk_jobs(jobs, settings))
    lock = threading.Lock()
    results: queue.Queue[Event] = queue.Queue()
    stop = threading.Event()
    open_cache: dict[tuple[str, str], OpenMessage] = {}
    by_group: dict[tuple[str, str], list[Job]] = {}
    for job in jobs:
        by_group.setdefault((job.wanted.quality, job.wanted.model), []).append(job)
    log_dir = Path(tempfile.mkdtemp(prefix="sitegen-workers-"))
    workers = [WorkerProcess(command, log_dir, f"worker-{n}")
               for n in range(min(settings.workers, max(1, len(pending))))]

    def next_chunk() -> list[_Task] | None:
        with lock:
            return pending.popleft() if pending else None

    def run_worker(worker: WorkerProcess) -> None:
        while not stop.is_set():
            chunk = next_chunk()
            if chunk is None:
                break
            for n, task in enumerate(chunk):
                if stop.is_set():
                    return
                try:
                    results.put(_render_one(worker, task))
                except WorkerStartError as exc:  # the run cannot go on: it stops, says why
                    start_failed.append(str(exc))
                    stop.set()
                    return
                except WorkerGone as exc:
                    if stop.is_set():
                        return
                    results.put({"event": "worker", "state": "killed", "error": str(exc),
                                 "address": task.job.wanted.address})
                    if task.attempt == 1:
                        with lock:  # retried once, by whichever worker is free first
                            pending.append([_Task(task.job, 2)])
                    else:
                        results.put({"event": "failed", "address": task.job.wanted.address,
                                     "error": str(exc), "job": task.job})
                    if chunk[n + 1:]:
                        with lock:  # the rest of the chunk goes back, for a fresh worker
                            pending.appendleft(chunk[n + 1:])
                    break
        worker.stop()

    def _render_one(worker: WorkerProcess, task: _Task) -> Event:
        w = task.job.wanted
        group = (w.quality, w.model)
        if not worker.alive() or worker.renders >= settings.recycle_after:
            if worker.alive():
                worker.stop()
                results.put({"event": "worker", "state": "recycled"})
            worker.start(settings.timeout)
        if stop.is_set():
            raise WorkerGone("stopping")
        if worker.opened != group:
            if group not in open_cache:
                open_cache[group] = open_message(catalog, w.quality, w.model, by_group[group],
                                                 settings)
            worker.opened = None  # an `open`, even a failed one, replaces the loaded scene
            answer = worker.ask(open_cache[group], settings.timeout)
            if answer.get("event") != "opened":
                return {"event": "failed", "address": w.address, "job": task.job,
                        "error": f"cannot open model '{w.model}': {answer.get('error')}"}
            worker.opened = group
        answer = worker.ask({"op": "render", "id": w.address, **render_fields(w),
                             "out": str(store.path_of(w.address).resolve())}, settings.timeout)
        worker.renders += 1
        if answer.get("event") != "rendered":
            return {"event": "failed", "address": w.address, "job": task.job,
                    "error": str(answer.get("error"))}
        return {**answer, "event": "rendered", "address": w.address, "job": task.job,
                "blender": worker.blender}

    threads = [threading.Thread(target=run_worker, args=(w,), daemon=True) for w in workers]
    for t in threads:
        t.start()
    try:
        while any(t.is_alive() for t in threads) or not results.empty():
            try:
                event = results.get(timeout=0.2)
            except queue.Empty:
                continue
            collect_result(event, catalog, store, summary)
            on_event({k: v for k, v in event.items() if k != "job"})
        if start_failed:
            raise SitegenError(f"Blender workers could not start: {blender.shown}: "
                               f"{start_failed[0]}")
    except KeyboardInterrupt:
        summary.interrupted = True
        stop.set()
        for w in workers:
            w.kill()
        while not results.empty():  # what finished stays finished and indexed
            event = results.get_nowait()
            collect_result(event, catalog, store, summary)
        raise
    except EnvironmentFailure:
        stop.set()
        for w in workers:
            w.kill()
        while not results.empty():  # rendered but not indexed: removed, as the index says
            event = results.get_nowait()
            if event["event"] == "rendered":
                remove_picture(store, event["job"].wanted.address)
        raise
    finally:
        stop.set()
        for w in workers:
            w.kill()
        for t in threads:  # a thread may have been starting a worker: wait, kill again
            t.join(timeout=10)
        for w in workers:
            w.kill()
        shutil.rmtree(log_dir, ignore_errors=True)
        folders = {store.path_of(j.wanted.address).parent for j in jobs}
        store.remove_temporaries(sorted(folders))
        summary.seconds = time.perf_counter() - start
    return summary


def _refuse_broken_models(catalog: Catalog, jobs: Sequence[Job], blender: Blender,
                          settings: PoolSettings, summary: Summary,
                          on_event: Callable[[Event], None]) -> list[Job]:
    """The jobs whose model passes the model check; each failing model is refused once."""
    from sitegen.modelcheck import check_models

    models = list(dict.fromkeys(job.wanted.model for job in jobs))
    if not models:
        return list(jobs)
    # A model check opens the file only: a --timeout chosen for renders is no limit for it.
    problems = check_models(catalog, models, blender,
                            timeout=max(settings.timeout, CHECK_TIMEOUT))
    refused = {model: found for model, found in problems.items() if found}
    for model, found in refused.items():
        count = sum(job.wanted.model == model for job in jobs)
        summary.refused.append((model, count, [str(p) for p in found]))
        on_event({"event": "refused", "model": model, "pictures": count,
                  "problems": [str(p) for p in found]})
    return [job for job in jobs if job.wanted.model not in refused]


def index_picture(catalog: Catalog, store: RenderStore, summary: Summary, job: Job,
                  event: Mapping[str, Any], *, rendered: bool = True) -> None:
    """Index a stored picture and count it (`rendered`: its render time counts too)."""
    # A quality's settings are kept with its first picture: from then on it is immutable.
    store.remember_quality(job.wanted.quality,
                           quality_settings(catalog.qualities[job.wanted.quality]))
    store.record(job.wanted.address, job.fingerprint, job.inputs, event["sha256"],
                 event["bytes"], event["seconds"], event.get("blender"))
    summary.rendered += 1
    if rendered:
        summary.render_seconds += event["seconds"]
        for name, seconds in event.get("timings", {}).items():
            summary.timings[name] += seconds


def collect_result(event: Event, catalog: Catalog, store: RenderStore, summary: Summary) -> None:
    """Index one result (calling thread only).

    The thumbnail and sized copies decode the whole picture: one that does not decode
    (Blender writes a truncated file on a full disk and says nothing) is removed and counted
    as failed. A picture that cannot be indexed or given its companions because of the
    machine is
    removed, so the index and the files agree, and the run stops with the cause
    (EnvironmentFailure); so does a failed render when the store's disk can take no
    picture now.
    """
    if event["event"] == "rendered":
        job: Job = event["job"]
        address = job.wanted.address
        picture = store.path_of(address)
        try:
            quality = catalog.qualities[job.wanted.quality]
            make_companions(picture, address, store.path_of, quality.sizes, quality.jpeg_quality)
            index_picture(catalog, store, summary, job, event)
        except (OSError, EnvironmentFailure) as exc:
            remove_picture(store, address)
            store.check_space(picture.parent)  # a full disk stops the run, with its cause
            # An EnvironmentFailure (the index's) stays as it is; an OSError names the folder.
            failure = environment_failure(exc, picture.parent)
            if failure is not None:
                raise failure from None
            if not isinstance(exc, OSError) or exc.errno is not None:
                raise
            summary.failed.append((address, f"the picture written does not decode ({exc})"))
    elif event["event"] == "failed":
        store.check_space(store.path_of(event["address"]).parent)
        summary.failed.append((event["address"], event["error"]))
