"""Rendering on demand: warm Blender workers taking the newest wanted picture first.

The studio (`sitegen serve`) says, per viewer, which pictures the colouring on screen
lacks (`want`); a new wish of a viewer replaces its old one, so requests nobody looks at
any more are dropped before they start. Requests are deduplicated by address, served
newest first (a viewer clicking through ten colourings gets the last one first), and
bounded (the oldest are dropped past MAX_QUEUED). A render under way that nobody wants
any more, while a wanted request waits, is stopped: its worker is killed and restarted
(under a second here, against the rest of a render). A viewer still clicking (a look
within BURST of its last) has its request wait HOLD for a pause, so that a burst of
clicks renders only where it stops.

Pictures go into the store as `sitegen render` puts them (same names, fingerprints,
index, thumbnails and sizes), each one under the store's lock, which is held only while
a picture is rendered and indexed: a `sitegen render` run holding it makes the requests
wait (a `locked` event says so) until it ends. Each worker thread opens its own store:
the folder store's SQLite connection belongs to the thread that made it.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sitegen.catalog.models import Catalog
from sitegen.errors import SitegenError
from sitegen.plan import Job
from sitegen.protocol import OpenMessage
from sitegen.render import (
    CHECK_TIMEOUT,
    Event,
    PoolSettings,
    Summary,
    collect_result,
    open_message,
    render_fields,
)
from sitegen.render.blender import find_blender
from sitegen.render.workers import WorkerGone, WorkerProcess, worker_command
from sitegen.store import RenderStore

MAX_QUEUED = 200  # requests waiting at most; past it the oldest are dropped
BURST = 0.3  # seconds: a look this soon after the viewer's last one is part of a burst
HOLD = 0.12  # seconds a burst's request waits for the viewer to stop clicking
LOCK_RETRY = 1.0  # seconds between tries of a store another run holds


@dataclass
class Request:
    """One picture wanted on screen."""

    job: Job
    catalog: Catalog  # the catalog it was planned with (its open message, its index record)
    stamp: tuple[float, int]  # (when it was last wanted, order within that wish): newest first
    viewers: set[str] = field(default_factory=set)
    not_before: float = 0.0  # a burst's request starts once its viewer paused (monotonic)
    worker: WorkerProcess | None = None  # rendering it
    abandoned: bool = False  # its render was stopped: nobody wanted it any more


class OnDemand:
    """Warm workers rendering what viewers look at; events go to `on_event`.

    Events: `queued` (address, position), `rendering` (address), `progress` (address,
    fraction), `rendered` (address, seconds), `failed` (address, error), `dropped`
    (address), `locked` (message, while another run holds the store), `worker` (state:
    started, gone).
    """

    def __init__(self, open_store: Callable[[], RenderStore], settings: PoolSettings,
                 on_event: Callable[[Event], None]) -> None:
        self.open_store = open_store
        self.settings = settings
        self.on_event = on_event
        self.blender = find_blender(settings.blender)
        if self.blender.missing:
            raise SitegenError(f"Blender workers could not start: {self.blender.missing}")
        self.command = worker_command(self.blender)
        self.cond = threading.Condition()
        self.queue: dict[str, Request] = {}  # address -> request, waiting
        self.busy: dict[str, Request] = {}  # address -> request, rendering
        self.wishes: dict[str, list[str]] = {}  # viewer -> addresses it waits for
        self.last_look: dict[str, float] = {}  # viewer -> when it last said what it shows
        self.warm_for: tuple[Catalog, str, str] | None = None  # (catalog, quality, model)
        self.stopping = False
        self.log_dir = Path(tempfile.mkdtemp(prefix="sitegen-studio-workers-"))
        self.workers = [WorkerProcess(self.command, self.log_dir, f"studio-{n}")
                        for n in range(settings.workers)]
        self.folders: set[Path] = set()  # where pictures were written: temporaries swept
        self.checking = threading.Lock()
        self.checked: dict[tuple[str, str, tuple[str, ...]], list[str]] = {}
        self.store_lock = _SharedLock()
        self.opened_with: dict[int, OpenMessage] = {}  # id(worker) -> the open it holds
        self.threads = [threading.Thread(target=self._run, args=(w,), name=f"studio-{n}",
                                         daemon=True) for n, w in enumerate(self.workers)]
        for thread in self.threads:
            thread.start()

    # -- what viewers want ------------------------------------------------------------

    def want(self, viewer: str, catalog: Catalog, jobs: Sequence[Job]) -> None:
        """What `viewer` looks at now lacks these pictures (none: it is ready); its earlier
        wishes are withdrawn, and requests nobody wants any more are dropped."""
        now = time.monotonic()
        with self.cond:
            burst = now - self.last_look.get(viewer, float("-inf")) < BURST
            self.last_look[viewer] = now
            self._withdraw(viewer)
            self.wishes[viewer] = [job.wanted.address for job in jobs]
            for n, job in enumerate(jobs):
                address = job.wanted.address
                if address in self.busy:
                    self.busy[address].viewers.add(viewer)
                    continue
                request = self.queue.get(address)
                if request is None or request.job.fingerprint != job.fingerprint:
                    request = Request(job, catalog, (now, -n))
                    self.queue[address] = request
                request.stamp = (now, -n)
                request.not_before = now + HOLD if burst else now
                request.viewers.add(viewer)
            while len(self.queue) > MAX_QUEUED:
                oldest = min(self.queue.values(), key=lambda r: r.stamp)
                self._drop(oldest.job.wanted.address)
            if jobs:
                self.warm_for = None
            self._abandon_unwanted()
            for position, request in enumerate(self._ordered()):
                if viewer in request.viewers:
                    self.on_event({"event": "queued", "address": request.job.wanted.address,
                                   "position": position})
            self.cond.notify_all()

    def warm(self, catalog: Catalog, quality: str, model: str) -> None:
        """Nothing to render: let an idle worker open this model, for the next request."""
        with self.cond:
            self.warm_for = (catalog, quality, model)
            self.cond.notify_all()

    def forget(self, viewer: str) -> None:
        """The viewer left: its requests are withdrawn."""
        with self.cond:
            self._withdraw(viewer)
            self.wishes.pop(viewer, None)
            self.last_look.pop(viewer, None)
            self._abandon_unwanted()

    def _withdraw(self, viewer: str) -> None:
        for address in self.wishes.get(viewer, ()):
            for held in (self.queue, self.busy):
                if address in held:
                    held[address].viewers.discard(viewer)
            request = self.queue.get(address)
            if request is not None and not request.viewers:
                self._drop(address)

    def _abandon_unwanted(self) -> None:
        """Stop the renders nobody wants any more while wanted requests wait: their worker
        is killed (it restarts at once, about a second of CPU instead of the rest of a
        render) and they are dropped."""
        if not any(r.viewers for r in self.queue.values()):
            return
        for request in self.busy.values():
            if not request.viewers and not request.abandoned and request.worker is not None:
                request.abandoned = True
                request.worker.interrupt()

    def _drop(self, address: str) -> None:
        del self.queue[address]
        self.on_event({"event": "dropped", "address": address})

    def _ordered(self) -> list[Request]:
        return sorted(self.queue.values(), key=lambda r: r.stamp, reverse=True)

    # -- the workers ------------------------------------------------------------------

    def _next(self) -> Request | tuple[Catalog, str, str] | None:
        """The newest request (moved to busy), a model to warm, or None when stopping. A
        request of a viewer still clicking waits for its pause (HOLD)."""
        with self.cond:
            while not self.stopping:
                now = time.monotonic()
                held = [r.not_before for r in self.queue.values() if r.not_before > now]
                ready = [r for r in self._ordered() if r.not_before <= now]
                if ready:
                    request = ready[0]
                    address = request.job.wanted.address
                    del self.queue[address]
                    self.busy[address] = request
                    return request
                if self.warm_for is not None and not held:
                    warm, self.warm_for = self.warm_for, None
                    return warm
                self.cond.wait(timeout=min(held) - now if held else None)
            return None

    def warm_up(self, catalog: Catalog) -> None:
        """Check every model now (in the background), so that the first look waits only
        for its render; the workers start at once."""
        def check() -> None:
            with contextlib.suppress(SitegenError, WorkerGone):
                for model in catalog.models:
                    self._check(catalog, model)

        threading.Thread(target=check, name="studio-model-check", daemon=True).start()

    def _run(self, worker: WorkerProcess) -> None:
        store = self.open_store()
        try:
            try:
                worker.start(self.settings.timeout)  # warm: bpy loaded before any look
            except WorkerGone as exc:
                self.on_event({"event": "worker", "state": "gone", "error": str(exc)})
            while True:
                task = self._next()
                if task is None:
                    return
                if isinstance(task, Request):
                    self._render(worker, store, task)
                else:
                    with contextlib.suppress(SitegenError, WorkerGone):
                        self._open(worker, *task, jobs=())
        finally:
            worker.kill()
            store.close()

    def _open(self, worker: WorkerProcess, catalog: Catalog, quality: str, model: str,
              jobs: Sequence[Job]) -> None:
        """Have the worker started and holding the model at the quality, with every finish
        the model's products use (so that most colourings need no new `open`)."""
        problems = self._check(catalog, model, jobs)
        if problems:
            raise SitegenError(f"model '{model}' not rendered: {problems[0]}")
        message = open_message(catalog, quality, model, jobs, self.settings, every_finish=True)
        if not worker.alive() or worker.renders >= self.settings.recycle_after:
            worker.kill()
            worker.start(self.settings.timeout)
            self.on_event({"event": "worker", "state": "started"})
        if worker.opened == (quality, model) and self.opened_with.get(id(worker)) == message:
            return
        worker.opened = None  # an `open`, even a failed one, replaces the loaded scene
        answer = worker.ask(message, self.settings.timeout)
        if answer.get("event") != "opened":
            raise SitegenError(f"cannot open model '{model}': {answer.get('error')}")
        worker.opened = (quality, model)
        self.opened_with[id(worker)] = message

    def _check(self, catalog: Catalog, model: str, jobs: Sequence[Job] = ()) -> list[str]:
        """The model check's problems (sitegen.modelcheck, cached there by the file's
        content), one check at a time. With jobs, kept here too by their `model` input (the
        blend file's hash and mesh objects) and the views: a render does not hash the blend
        file again."""
        from sitegen.modelcheck import check_models

        key = ((model, jobs[0].inputs["model"], tuple(catalog.models[model].views))
               if jobs else None)
        with self.checking:
            if key is not None and key in self.checked:
                return self.checked[key]
            found = check_models(catalog, [model], self.blender,
                                 timeout=max(self.settings.timeout, CHECK_TIMEOUT))
            problems = [str(p) for p in found.get(model, [])]
            if key is not None:
                self.checked[key] = problems
            return problems

    def _render(self, worker: WorkerProcess, store: RenderStore, request: Request) -> None:
        job = request.job
        w = job.wanted
        address = w.address
        try:
            with self._locked(store):
                if self.stopping:
                    return
                self.on_event({"event": "rendering", "address": address})
                self._open(worker, request.catalog, w.quality, w.model, [job])
                with self.cond:
                    request.worker = worker
                out = store.path_of(address).resolve()
                self.folders.add(out.parent)

                def progress(answer: dict[str, object]) -> None:
                    self.on_event({"event": "progress", "address": address,
                                   "fraction": answer.get("fraction")})

                answer = worker.ask({"op": "render", "id": address, **render_fields(w),
                                     "out": str(out), "progress": True},
                                    self.settings.timeout, on_progress=progress)
                with self.cond:
                    request.worker = None  # rendered: too late to abandon
                worker.renders += 1
                if answer.get("event") != "rendered":
                    raise SitegenError(str(answer.get("error")))
                summary = Summary()
                collect_result({**answer, "event": "rendered", "address": address,
                                "job": job, "blender": worker.blender},
                               request.catalog, store, summary)
                if summary.failed:
                    raise SitegenError(summary.failed[0][1])
            self.on_event({"event": "rendered", "address": address,
                           "seconds": answer.get("seconds")})
        except (SitegenError, WorkerGone) as exc:
            if request.abandoned and not self.stopping:
                with self.cond:
                    again = bool(request.viewers)  # wanted again meanwhile: queued again
                    if again:
                        del self.busy[address]
                        self.queue[address] = Request(job, request.catalog, request.stamp,
                                                      set(request.viewers))
                        self.cond.notify_all()
                if not again:
                    self.on_event({"event": "dropped", "address": address})
                with contextlib.suppress(SitegenError, WorkerGone):  # warm again at once
                    self._open(worker, request.catalog, w.quality, w.model, [job])
            elif not self.stopping:
                self.on_event({"event": "failed", "address": address, "error": str(exc)})
        finally:
            with self.cond:
                if self.busy.get(address) is request:
                    del self.busy[address]
                request.worker = None

    @contextlib.contextmanager
    def _locked(self, store: RenderStore) -> Iterator[None]:
        """Hold the store's lock while rendering; while another run holds it, wait (and
        say so once)."""
        said = False
        while True:
            try:
                self.store_lock.acquire(store)
                break
            except SitegenError as exc:
                if not said:
                    self.on_event({"event": "locked", "message": str(exc)})
                    said = True
                if self.stopping:
                    raise
                time.sleep(LOCK_RETRY)
        try:
            yield
        finally:
            self.store_lock.release()

    # -- stopping -----------------------------------------------------------------------

    def close(self) -> None:
        """Stop: kill every worker (a render in progress is abandoned and its temporary
        file removed), sweep temporaries; stored pictures stay stored and indexed."""
        with self.cond:
            self.stopping = True
            self.queue.clear()
            self.cond.notify_all()
        for worker in self.workers:
            worker.kill()
        for thread in self.threads:
            thread.join(timeout=10)
        for worker in self.workers:
            worker.kill()
        store = self.open_store()
        try:
            store.remove_temporaries(sorted(self.folders))
        finally:
            store.close()
        shutil.rmtree(self.log_dir, ignore_errors=True)


class _SharedLock:
    """The store's lock, held once for the process while any worker thread renders
    (flock refuses a second holder even in the same process)."""

    def __init__(self) -> None:
        self.mutex = threading.Lock()
        self.holders = 0
        self.stack: contextlib.ExitStack | None = None

    def acquire(self, store: RenderStore) -> None:
        with self.mutex:
            if self.holders == 0:
                stack = contextlib.ExitStack()
                stack.enter_context(store.lock("sitegen serve (studio)"))
                self.stack = stack
            self.holders += 1

    def release(self) -> None:
        with self.mutex:
            self.holders -= 1
            if self.holders == 0 and self.stack is not None:
                self.stack.close()
                self.stack = None
