"""The render farm: chunks of render jobs sent over Redis or RabbitMQ to Celery workers.

The host (`sitegen render --farm URL`) plans as usual, puts the input files (blend files,
textures) into the store as blobs, sends one task per chunk (one model at one quality,
several jobs, in plan order) and indexes each picture as its result comes back: the host
alone writes the index. A worker (`sitegen worker`) is a Celery worker whose pool
processes each keep one warm Blender worker (blender/worker.py, as for local rendering)
across tasks. A task fetches its blobs into a local cache, renders into a local folder,
puts the picture and its thumbnail into the store, then a receipt; a task delivered again
(its worker lost) skips the pictures its receipts show stored. See docs/farm.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import re
import shutil
import signal
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

from sitegen.cache import cache_dir
from sitegen.catalog import file_hashes
from sitegen.catalog.models import MAPS, Catalog
from sitegen.errors import SitegenError
from sitegen.plan import Job, digest
from sitegen.protocol import (
    PICTURE_EXTENSIONS,
    ChunkJob,
    ChunkPayload,
    ChunkResult,
    FarmEvent,
    FarmFailed,
    FarmRendered,
    FarmWorkerInfo,
    Material,
    OpenMessage,
    Receipt,
    RenderFields,
)
from sitegen.render import (
    Event,
    PoolSettings,
    Summary,
    chunk_jobs,
    index_picture,
    open_message,
    render_fields,
    threads_per_worker,
)
from sitegen.render.workers import WorkerGone, WorkerProcess, worker_command
from sitegen.store import (
    TEMP_MARK,
    RenderStore,
    companion_addresses,
    make_companions,
    open_store,
    remove_picture,
)

TASK_NAME = "sitegen.render_chunk"
QUEUE = "sitegen"
RECEIPTS = "_receipts"  # `_receipts/<address>.json`: what a farm task stored (not a quality id)
BLOB_REF = "blob:"  # `blob:<sha256>/<file name>` stands for an input file in open messages
MAX_DELIVERIES = 3  # a chunk whose worker is lost this often fails instead of looping
POLL_SECONDS = 0.25
BROKER_WAIT_SECONDS = 600  # how long the host waits for a lost broker to come back
VISIBILITY_TIMEOUT = 3600  # seconds; Redis redelivers an unacknowledged task after this
ADDRESS = re.compile(r"^[a-z0-9][a-z0-9-]*/[a-z0-9][a-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._ -]*/"
                     r"[A-Za-z0-9][A-Za-z0-9._-]*\.(" + "|".join(PICTURE_EXTENSIONS) + ")$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


# -- the Celery app (both sides) ---------------------------------------------------------

AMQP = ("amqp://", "amqps://")  # RabbitMQ: broker, and results over the same connection
REDIS = ("redis://", "rediss://")
HEARTBEAT = 10  # seconds; AMQP heartbeats: RabbitMQ drops a silent worker within 1-2 of them
# Redis: how often (seconds) each worker looks for chunks past their visibility timeout and
# puts them back on the queue. kombu's default is every 10th look of 10 s (100 s); one Redis
# query every 10 s is nothing, and a lost chunk comes back up to 90 s sooner.
RESTORE_SWEEP = 10


def is_amqp(url: str) -> bool:
    """Whether a farm URL names RabbitMQ (amqp://, amqps://) rather than Redis."""
    return url.startswith(AMQP)


def make_app(broker: str, *, visibility_timeout: float = VISIBILITY_TIMEOUT,
             tasks_per_child: int = 100, heartbeat: float = 0) -> Any:
    """The Celery app of a farm, with long-render settings: Redis as broker and result
    backend, or RabbitMQ as broker with results as messages back to the sender (`rpc://`).

    `heartbeat` (seconds, AMQP only; 0: none) is the workers': the host does not run the
    event loop that would send them, so its connection would be cut.
    """
    from celery import Celery

    if not broker.startswith(REDIS + AMQP):
        raise SitegenError(f"unsupported farm URL {redact(broker)!r}: give "
                           "redis://HOST:6379/0 or amqp://USER:PASSWORD@HOST:5672/VHOST")
    amqp = is_amqp(broker)
    app = Celery("sitegen", broker=broker, backend="rpc://" if amqp else broker,
                 set_as_current=False)
    app.conf.update(
        task_serializer="json", result_serializer="json", accept_content=["json"],
        task_default_queue=QUEUE,
        # A task is acknowledged when it ends, not when it starts: a lost worker's chunk
        # goes back to the queue (rejected on worker loss) instead of being dropped.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,  # a chunk past its hard limit fails, once
        worker_prefetch_multiplier=1,  # a process reserves one chunk at a time
        worker_max_tasks_per_child=tasks_per_child,
        # Cancel running chunks when the broker connection is lost: they come back anyway.
        worker_cancel_long_running_tasks_on_connection_loss=True,
        broker_connection_retry_on_startup=True,
        result_expires=24 * 3600,
        worker_hijack_root_logger=False,
    )
    if amqp:
        app.conf.update(
            # A quorum queue: durable (chunks survive a broker restart), and it counts the
            # deliveries of each message (`x-delivery-count`), which MAX_DELIVERIES reads.
            task_default_queue_type="quorum",
            broker_heartbeat=heartbeat, broker_heartbeat_checkrate=2,
            result_persistent=False,
        )
        if broker.startswith("amqps://"):
            import ssl

            # The certificate must chain to a CA this machine trusts (the system's, or the
            # file in $SSL_CERT_FILE) and name the URL's host (None: kombu puts it in).
            app.conf.broker_use_ssl = {"cert_reqs": ssl.CERT_REQUIRED,
                                       "server_hostname": None}
    else:
        app.conf.update(broker_transport_options={
            "visibility_timeout": visibility_timeout,
            "unacked_restore_interval": RESTORE_SWEEP, "unacked_restore_throttle": 1})
    app.task(name=TASK_NAME, bind=True)(_render_task)
    return app


def redact(url: str) -> str:
    """A broker URL fit to print: its password replaced by ***."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:" if parts.username else ":"
    return urlunsplit(parts._replace(netloc=f"{user}***@{netloc}"))


# -- worker side -------------------------------------------------------------------------

def default_cache() -> Path:
    """Where a worker keeps fetched input files and its scratch folders.

    `farm/` in sitegen's cache (`sitegen.cache.cache_dir`, as the S3 store finds it).
    """
    return cache_dir() / "farm"


DEFAULT_CACHE_SIZE = 20 * 1024**3  # bytes of input files a worker keeps (--cache-size)


@dataclass(frozen=True)
class WorkerSettings:
    """How a farm worker runs."""

    renders: str  # the render store, as `open_store` takes it
    cache: Path = field(default_factory=default_cache)
    cache_size: int = DEFAULT_CACHE_SIZE  # bytes of input files kept (BlobCache)
    concurrency: int = 1  # pool processes, each with one Blender worker
    threads: int = 0  # render threads per Blender worker; 0: the cores divided among them
    blender: str | None = None  # a Blender executable; None: the bpy module
    device: str = "auto"
    recycle_after: int = 100  # renders before a Blender worker is restarted
    tasks_per_child: int = 100  # chunks before a pool process is replaced
    visibility_timeout: float = VISIBILITY_TIMEOUT  # Redis
    heartbeat: float = HEARTBEAT  # AMQP heartbeats, seconds (0: none)

    def threads_per_worker(self) -> int:
        """Render threads for each Blender worker (see `render.threads_per_worker`)."""
        return threads_per_worker(self.threads, self.concurrency)


_settings: WorkerSettings | None = None  # set in the worker's main process, before the fork
_warm: WorkerProcess | None = None  # this pool process's Blender worker, kept across tasks
# This pool process's store (opened after the fork: boto3 is not fork-safe).
_store: RenderStore | None = None


def run_worker(broker: str, settings: WorkerSettings, *, loglevel: str = "info",
               hostname: str | None = None) -> None:
    """Run a Celery worker of the farm in this process until it is stopped."""
    global _settings
    open_store(settings.renders)  # a bad location fails here, not in every task
    worker_command(settings.blender)
    settings.cache.mkdir(parents=True, exist_ok=True)
    _settings = settings
    app = make_app(broker, visibility_timeout=settings.visibility_timeout,
                   tasks_per_child=settings.tasks_per_child, heartbeat=settings.heartbeat)
    _connect_process_signals()
    argv = ["worker", f"--concurrency={settings.concurrency}", "--pool=prefork",
            f"--queues={QUEUE}", f"--loglevel={loglevel}", "--without-gossip",
            "--without-heartbeat", f"--max-tasks-per-child={settings.tasks_per_child}"]
    if hostname:
        argv.append(f"--hostname={hostname}")
    app.worker_main(argv)


def _connect_process_signals() -> None:
    from celery.signals import worker_process_init, worker_process_shutdown

    worker_process_init.connect(_on_process_init, weak=False)
    worker_process_shutdown.connect(_on_process_shutdown, weak=False)


def _on_process_init(**kwargs: Any) -> None:
    if _settings is not None:
        _remove_dead_work_dirs(_settings.cache)


def _on_process_shutdown(**kwargs: Any) -> None:
    stop_warm_worker()


def stop_warm_worker() -> None:
    """Stop this process's Blender worker, if it has one."""
    global _warm
    if _warm is not None:
        freeze_warm_worker(False)
        _warm.stop()
        _warm = None


def freeze_warm_worker(freeze: bool) -> None:
    """Stop (SIGSTOP) this process's Blender worker between chunks, or let it go on.

    An idle Blender worker that rendered with one thread keeps a core busy (a TBB thread
    calling sched_yield; bpy 5.0.1); stopped, it costs nothing and keeps its scene loaded.
    """
    if _warm is not None and _warm.proc is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(_warm.proc.pid, signal.SIGSTOP if freeze else signal.SIGCONT)


def _register_inspect_command() -> None:
    """`sitegen_farm`: what a worker tells the host about itself (processes, threads...)."""
    from celery.worker.control import Panel, inspect_command

    if "sitegen_farm" in Panel.data:
        return

    @inspect_command()  # type: ignore[untyped-decorator]
    def sitegen_farm(state: Any) -> FarmWorkerInfo | dict[str, Any]:
        s = _settings
        if s is None:
            return {}
        info: FarmWorkerInfo = {
            "processes": s.concurrency, "threads": s.threads_per_worker(),
            "device": s.device, "renders": s.renders, "blender": s.blender or "bpy",
            "version": _blender_version(s.blender)}
        return info


_register_inspect_command()


def _blender_version(blender: str | None) -> str | None:
    """The version of this worker's Blender ("5.0.1"), None when it cannot be told."""
    from sitegen.render.blender import find_blender

    try:
        return find_blender(blender).version
    except SitegenError:
        return None


def _work_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def _work_dir(cache: Path) -> Path:
    """This process's scratch folder (renders before they go to the store, Blender's log)."""
    path = cache / "work" / _work_name()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _remove_dead_work_dirs(cache: Path) -> None:
    """Remove scratch folders of this machine's processes that are gone (killed workers)."""
    host = socket.gethostname()
    for path in (cache / "work").glob(f"{host}-*"):
        pid = path.name.rsplit("-", 1)[-1]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except PermissionError:
            pass


def _blender_command(blender: str | None) -> list[str]:
    """The Blender worker's command; it dies with its pool process where setpriv exists.

    A pool process killed with SIGKILL cannot stop its Blender worker, which runs in a
    session of its own (so that it can be killed with everything it started).
    """
    command = worker_command(blender)
    if shutil.which("setpriv"):
        return ["setpriv", "--pdeathsig", "KILL", "--", *command]
    return command


def _blender(settings: WorkerSettings, timeout: float) -> WorkerProcess:
    """This process's warm Blender worker: started, or restarted when due."""
    global _warm
    if _warm is None:
        _warm = WorkerProcess(_blender_command(settings.blender), _work_dir(settings.cache),
                              "blender")
    if not _warm.alive() or _warm.renders >= settings.recycle_after:
        if _warm.alive():
            _warm.stop()
        _warm.start(timeout)
    return _warm


def _worker_store(settings: WorkerSettings) -> RenderStore:
    global _store
    if _store is None:
        _store = open_store(settings.renders)
    return _store


def check_address(address: str) -> str:
    """An address as the host sends it, refused if it could point outside the store."""
    if not ADDRESS.match(address) or ".." in address:
        raise SitegenError(f"not a picture address: {address!r}")
    return address


TRASH = "trash"  # `trash/`: a blob's `files/` folder on its way out (see `_evict_blob`)
log = logging.getLogger(__name__)


class BlobCache:
    """Input files fetched from the store by content hash, kept for the next tasks: at most
    `limit` bytes of them, the least recently used evicted first.

    Blender sees each under its original file name (`files/<sha>/<name>`, a hard link to
    `blobs/<sha>`: counted once), so its messages name the files as a local render's do.
    A task holds a shared flock on each blob it uses, from `path` to `release`; eviction
    takes a non-blocking exclusive one, so no process (a pool process of this worker or of
    another worker sharing the folder) loses a file it uses. Each use sets the blob's mtime:
    the oldest is the least recently used. Evictions take turns on the `lock` file.
    """

    def __init__(self, store: RenderStore, root: Path, limit: int = DEFAULT_CACHE_SIZE) -> None:
        self.store = store
        self.root = root
        self.limit = limit
        self._held: dict[str, int] = {}  # sha256 -> a descriptor of the blob, flocked shared

    def path(self, ref: str) -> Path:
        """The local path of a `blob:<sha256>/<name>` reference, kept until `release`."""
        sha, _, name = ref.removeprefix(BLOB_REF).partition("/")
        if not ref.startswith(BLOB_REF) or not SHA256.match(sha) or not name \
                or "/" in name or name in (".", ".."):
            raise SitegenError(f"not a blob reference: {ref!r}")
        blob = self._hold(sha, name)
        named = self.root / "files" / sha / name
        if named.is_file():  # (while the blob is held, its files/ folder stays)
            return named
        named.parent.mkdir(parents=True, exist_ok=True)
        tmp = named.with_name(f".{name}{TEMP_MARK}{os.getpid()}")
        try:
            try:
                os.link(blob, tmp)
            except OSError:
                shutil.copyfile(blob, tmp)
            os.replace(tmp, named)
        finally:
            # rename() of a hard link onto another link of the same file (a second process
            # of this worker got there first) does nothing and leaves `tmp` behind.
            tmp.unlink(missing_ok=True)
        return named

    def release(self) -> None:
        """Let go of the blobs this cache holds, then evict down to the limit (a task's end)."""
        for fd in self._held.values():
            os.close(fd)
        self._held.clear()
        self.evict()

    def size(self) -> int:
        """The bytes the cached blobs take (each file once, whatever its links)."""
        return sum(size for _, _, size in self._entries())

    def evict(self) -> int:
        """Evict the least recently used blobs no process holds while the cache is over its
        limit; the bytes it takes then."""
        self.root.mkdir(parents=True, exist_ok=True)
        with _flocked(self.root / "lock"):
            shutil.rmtree(self.root / TRASH, ignore_errors=True)  # an eviction cut short
            entries = self._entries()
            total = sum(size for _, _, size in entries)
            for _, sha, size in sorted(entries):  # the least recently used first
                if total <= self.limit:
                    break
                if sha not in self._held and self._evict_blob(sha):
                    total -= size
        if total > self.limit:
            log.warning("the farm's input cache %s holds %s, over its limit of %s: the rest "
                        "is in use", self.root, _size_text(total), _size_text(self.limit))
        return total

    def _hold(self, sha: str, name: str) -> Path:
        """`blobs/<sha>`, fetched if need be and flocked shared; its use recorded."""
        blob = self.root / "blobs" / sha
        fetched = False
        fd = self._held.get(sha)
        while fd is None:
            fd = _locked(blob, fcntl.LOCK_SH)
            if fd is None:
                fd = self._fetch(sha, name, blob)
                fetched = fd is not None
        self._held[sha] = fd
        now = time.time_ns()
        with contextlib.suppress(OSError):  # (another user's blob: its order stays)
            os.utime(fd, ns=(now, now))
        if fetched:  # room for it: the others go, least recently used first
            self.evict()
        return blob

    def _fetch(self, sha: str, name: str, blob: Path) -> int | None:
        """Fetch a blob into `blobs/`, flocked shared before it shows there; None when
        another process put it there meanwhile (that one is used)."""
        # Into this process's scratch folder first: no other process sees it half-written,
        # and it is locked before it appears in blobs/.
        try:
            got = self.store.fetch_blob(sha, _work_dir(self.root) / "incoming")
        except Exception as exc:  # any store's error: the message says what to check
            raise SitegenError(
                f"input file {name} (blob {sha[:12]}) is not in this worker's store "
                f"({exc}); does `sitegen worker --renders` name the host's store?") from None
        try:
            fd = os.open(got, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_SH)
                blob.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(got, blob)
                except FileExistsError:
                    os.close(fd)
                    return None
                except OSError:  # a file system without hard links
                    os.replace(got, blob)
            except BaseException:
                os.close(fd)
                raise
        finally:
            got.unlink(missing_ok=True)
        size = os.fstat(fd).st_size
        log.info("fetched %s (blob %s, %s)", name, sha[:12], _size_text(size))
        if size > self.limit:
            log.warning("input file %s (blob %s, %s) is larger than the farm's input cache "
                        "limit (%s): kept while the task uses it", name, sha[:12],
                        _size_text(size), _size_text(self.limit))
        return fd

    def _entries(self) -> list[tuple[int, str, int]]:
        """(last use in ns, sha256, bytes) of each cached blob; its files/ links counted
        once, copies (no hard links) counted too."""
        seen: set[tuple[int, int]] = set()
        entries = []
        for blob in _listing(self.root / "blobs"):
            if not SHA256.match(blob.name):
                continue
            size, used = 0, None
            for path in (blob, *_listing(self.root / "files" / blob.name)):
                try:
                    st = path.lstat()
                except FileNotFoundError:
                    continue
                used = st.st_mtime_ns if used is None else used
                if (st.st_dev, st.st_ino) not in seen:
                    seen.add((st.st_dev, st.st_ino))
                    size += st.st_size
            if used is not None:
                entries.append((used, blob.name, size))
        return entries

    def _evict_blob(self, sha: str) -> bool:
        """Delete a blob and its files/ folder unless some process holds it; whether done."""
        blob = self.root / "blobs" / sha
        fd = _locked(blob, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if fd is None:
            return False
        try:
            # files/ goes first, in one rename: cut short here, the next eviction empties
            # trash/, and a blob left without links gets them again when used.
            named = self.root / "files" / sha
            if named.exists():
                trash = self.root / TRASH / f"{sha}-{os.getpid()}"
                trash.parent.mkdir(parents=True, exist_ok=True)
                os.rename(named, trash)
                shutil.rmtree(trash, ignore_errors=True)
            blob.unlink()
        finally:
            os.close(fd)
        log.info("evicted blob %s from the farm's input cache", sha[:12])
        return True


def _locked(path: Path, how: int) -> int | None:
    """A descriptor of `path` flocked `how`; None when there is no such file, it was
    replaced or removed while waiting (evicted), or (LOCK_NB) another process holds it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, how)
        if os.path.samestat(os.fstat(fd), os.stat(path)):
            return fd
    except (BlockingIOError, FileNotFoundError):
        pass
    except BaseException:
        os.close(fd)
        raise
    os.close(fd)
    return None


@contextlib.contextmanager
def _flocked(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on `path` (created if need be)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _listing(folder: Path) -> list[Path]:
    """The entries of a folder; none when it does not exist."""
    try:
        return [Path(entry.path) for entry in os.scandir(folder)]
    except FileNotFoundError:
        return []


def _size_text(size: int) -> str:
    """A byte count as people read it: 512 B, 3.2 MiB, 20.0 GiB."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def local_open(message: OpenMessage, cache: BlobCache) -> OpenMessage:
    """An `open` message with its blob references replaced by local files."""
    blend = str(cache.path(message["blend"]))
    materials = {fid: cast(Material, {k: str(cache.path(v)) if k in MAPS and v else v
                                      for k, v in _fields(m)})
                 for fid, m in message["materials"].items()}
    return {**message, "blend": blend, "materials": materials}


def _fields(material: Material) -> Iterable[tuple[str, str | None]]:
    """A material's fields (a colour, texture paths or None), by name."""
    return cast(Mapping[str, str | None], material).items()


# A folder store is a folder on this machine. A remote store (`store.remote`: S3,
# sitegen/store/s3/) stages pictures in a local cache folder (`path_of`) and uploads them
# when the host indexes them; a farm worker runs elsewhere, so it puts its objects into the
# store itself (`put_file`), and the host then only checks them.

def receipt_name(address: str) -> str:
    """Where a farm task leaves the receipt of a picture it stored."""
    return f"{RECEIPTS}/{address}.json"


def stored_receipt(store: RenderStore, job: ChunkJob, run: str) -> Receipt | None:
    """The receipt of a job's picture if the store holds that very picture, else None.

    The picture must have the job's fingerprint and be the file the receipt describes (a
    later render with other inputs may have replaced it). A forced job counts only
    receipts of its own run.
    """
    data = store.read_file(receipt_name(job["address"]))
    if data is None:
        return None
    receipt: Receipt = json.loads(data)
    if receipt.get("fingerprint") != job["fingerprint"] or (job["force"]
                                                             and receipt.get("run") != run):
        return None
    if store.stored_sha256(job["address"]) != receipt.get("sha256"):
        return None
    return receipt


def answer_from_receipts(store: RenderStore, payload: ChunkPayload
                         ) -> tuple[list[FarmEvent], list[ChunkJob]]:
    """A chunk's jobs whose pictures are stored (as `rendered` events), and the others."""
    events: list[FarmEvent] = []
    todo = []
    for job in payload["jobs"]:
        check_address(job["address"])
        receipt = stored_receipt(store, job, payload["run"])
        if receipt is None:
            todo.append(job)
        else:
            events.append({"event": "rendered", **receipt, "skipped": True})
    return events, todo


def _failed(job: Mapping[str, object], error: str) -> FarmFailed:
    return {"event": "failed", "address": cast(str, job["address"]), "error": error}


class _OpenFailed(Exception):
    pass


def render_chunk(payload: ChunkPayload, settings: WorkerSettings,
                 progress: Callable[[list[FarmEvent]], None] = lambda events: None
                 ) -> list[FarmEvent]:
    """Render one chunk here; returns its events (rendered, failed, worker), in order.

    `progress` gets the events so far after each job. Jobs whose picture the store already
    holds (a receipt with the same fingerprint) are answered from the receipt, with
    `"skipped": true`. A job whose Blender worker dies or hangs is retried once with a
    fresh one, as in the local pool.
    """
    from celery.exceptions import SoftTimeLimitExceeded

    store = _worker_store(settings)
    events, todo = answer_from_receipts(store, payload)
    if events:
        progress(events)
    if not todo:
        return events
    cache = BlobCache(store, settings.cache, settings.cache_size)
    try:
        try:
            message: OpenMessage = {**local_open(payload["open"], cache),
                                    "threads": settings.threads_per_worker(),
                                    "device": settings.device}
        except SitegenError as exc:
            return events + [_failed(job, exc.format_message()) for job in todo]
        key = digest(message)
        work = _work_dir(settings.cache)
        for n, job in enumerate(todo):
            try:
                for attempt in (1, 2):
                    try:
                        events.append(_render_job(store, message, key, job, payload, settings,
                                                  work))
                        break
                    except WorkerGone as exc:
                        events.append({"event": "worker", "state": "killed", "error": str(exc),
                                       "address": job["address"]})
                        if attempt == 2:
                            events.append(_failed(job, str(exc)))
            except _OpenFailed as exc:
                error = f"cannot open model '{payload['model']}': {exc}"
                events += [_failed(j, error) for j in todo[n:]]
                break
            except SoftTimeLimitExceeded:
                stop_warm_worker()  # it may be in the middle of a render
                events += [_failed(j, "the chunk ran past its time limit") for j in todo[n:]]
                break
            progress(events)
    finally:
        cache.release()  # the blobs it used may go now; the cache within its limit
    return events


# What a chunk job forwards to the worker's `render`: every field RenderFields names (the
# view's camera, values, a spin's frame, a layer), whatever the host put in.
RENDER_FIELDS = RenderFields.__required_keys__ | RenderFields.__optional_keys__


def _render_job(store: RenderStore, message: OpenMessage, key: str, job: ChunkJob,
                payload: ChunkPayload, settings: WorkerSettings, work: Path) -> FarmEvent:
    """Render one job into the scratch folder, then put picture, thumbnail, receipt."""
    address = job["address"]
    worker = _blender(settings, payload["timeout"])
    if worker.opened != ("farm", key):
        worker.opened = None  # an `open`, even a failed one, replaces the loaded scene
        answer = worker.ask(message, payload["timeout"])
        if answer.get("event") != "opened":
            raise _OpenFailed(answer.get("error"))
        worker.opened = ("farm", key)
    out = work / address
    quality = message["quality"]
    widths, level = quality.get("sizes", []), quality["jpeg_quality"]
    companions = [work / name for name in companion_addresses(address, widths)]
    note = work / receipt_name(address)
    try:
        fields = cast(RenderFields, {k: v for k, v in job.items() if k in RENDER_FIELDS})
        answer = worker.ask({"op": "render", "id": address, **fields, "out": str(out)},
                            payload["timeout"])
        worker.renders += 1
        if answer.get("event") != "rendered":
            return _failed(job, str(answer.get("error")))
        receipt: Receipt = {"address": address, "fingerprint": job["fingerprint"],
                            "run": payload["run"], "sha256": answer["sha256"],
                            "bytes": answer["bytes"], "seconds": answer["seconds"],
                            "timings": answer.get("timings", {}), "blender": worker.blender,
                            "worker": _work_name(),
                            "rendered_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        try:
            # The companions first: once the picture is there, so are they.
            for name in make_companions(out, address, lambda a: work / a, widths, level):
                store.put_file(name, work / name)
            store.put_file(address, out)
            # The receipt goes last: when it is there, picture and thumbnail are complete.
            note.parent.mkdir(parents=True, exist_ok=True)
            note.write_text(json.dumps(receipt, sort_keys=True))
            store.put_file(receipt_name(address), note)
        except (OSError, SitegenError) as exc:
            return _failed(job, f"cannot store the picture: {exc}")
        # (the cast: mypy wants the optional `skipped` spelled out; it is absent here)
        return cast(FarmRendered, {"event": "rendered", **receipt})
    finally:
        for path in (out, note, *companions):
            path.unlink(missing_ok=True)


def _render_task(task: Any, payload: ChunkPayload) -> ChunkResult:
    """The Celery task: one chunk, its progress in the result backend after each job."""
    assert _settings is not None, "the farm task runs in `sitegen worker` only"
    delivery = _count_delivery(task)
    worker = _work_name()
    if delivery > MAX_DELIVERIES:
        error = f"the farm lost the worker of this chunk {delivery - 1} times; giving up"
        events, todo = answer_from_receipts(_worker_store(_settings), payload)
        return {"delivery": delivery, "worker": worker,
                "events": events + [_failed(job, error) for job in todo]}

    def progress(events: list[FarmEvent]) -> None:
        task.update_state(state="PROGRESS",
                          meta={"delivery": delivery, "worker": worker, "events": events})

    freeze_warm_worker(False)
    try:
        return {"delivery": delivery, "worker": worker,
                "events": render_chunk(payload, _settings, progress)}
    finally:
        freeze_warm_worker(True)


def _count_delivery(task: Any) -> int:
    """How many times this chunk has started.

    RabbitMQ's quorum queue counts the earlier deliveries of a message (`x-delivery-count`,
    a header from the second one on); Redis keeps a count per task for a day.
    """
    if is_amqp(task.app.conf.broker_url or ""):
        return int(getattr(task.request, "x-delivery-count", 0) or 0) + 1
    key = _delivery_key(task.request.id)
    count = int(task.backend.client.incr(key))
    task.backend.client.expire(key, 24 * 3600)
    return count


def _delivery_key(task_id: str) -> str:
    return f"sitegen-deliveries-{task_id}"


# -- host side ---------------------------------------------------------------------------

@dataclass(frozen=True)
class FarmWorker:
    """What one worker machine said of itself."""

    hostname: str
    processes: int
    threads: int
    device: str
    renders: str
    blender: str | None = None  # its Blender's version ("5.0.1"); None: not told


def pool_for(workers: Sequence[FarmWorker], settings: PoolSettings) -> PoolSettings:
    """The host's pool settings for a farm: as many chunks at a time as the workers have
    processes (one when none answered yet), their largest thread count."""
    return replace(settings, workers=max(1, sum(w.processes for w in workers)),
                   threads=max((w.threads for w in workers), default=1))


def portable_open(message: OpenMessage, hashes: Mapping[str, str]
                  ) -> tuple[OpenMessage, dict[str, Path]]:
    """An `open` message with each file path replaced by a blob reference, and the files.

    Returns the message and the files it refers to, by content hash (to put as blobs).
    """
    files: dict[str, Path] = {}

    def ref(path: str) -> str:
        sha = hashes[path]
        files[sha] = Path(path)
        return f"{BLOB_REF}{sha}/{Path(path).name}"

    materials = {fid: cast(Material, {k: ref(v) if k in MAPS and v else v for k, v in _fields(m)})
                 for fid, m in message["materials"].items()}
    return {**message, "blend": ref(message["blend"]), "materials": materials}, files


@dataclass
class _Chunk:
    """A chunk sent to the farm, as the host follows it."""

    payload: ChunkPayload
    jobs: dict[str, Job]  # by address, in plan order
    reported: set[str] = field(default_factory=set)
    seen: dict[int, int] = field(default_factory=dict)  # delivery -> events handled
    delivery: int = 0


class Farm:
    """The host's side of a farm: its Celery app over the Redis or RabbitMQ broker."""

    def __init__(self, url: str, broker_wait: float = BROKER_WAIT_SECONDS) -> None:
        self.url = url
        self.amqp = is_amqp(url)
        self.app = make_app(url)
        self.broker_wait = broker_wait
        self._states: dict[str, Mapping[str, Any]] = {}  # AMQP: each chunk's latest state
        with self.app.connection_for_write() as conn:  # what losing the broker raises
            self._lost: tuple[type[BaseException], ...] = (
                *conn.connection_errors, OSError)
        if not self.amqp:
            import redis

            self._lost += (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                           BrokerRestarted)
        self._redis_run: str | None = None  # Redis: the server's run_id when last read

    def check(self) -> None:
        """Fail with a clear message when the broker cannot be reached."""
        try:
            with self.app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=5)
            if not self.amqp:
                self.app.backend.client.ping()
        except Exception as exc:
            raise SitegenError(f"cannot reach the farm at {redact(self.url)}: {exc}") from None

    def workers(self, timeout: float = 1.0) -> list[FarmWorker]:
        """The workers that answer within `timeout` seconds."""
        replies = self.app.control.broadcast("sitegen_farm", reply=True, timeout=timeout) or []
        found = []
        for reply in replies:
            for hostname, info in reply.items():
                if isinstance(info, dict) and "processes" in info:
                    found.append(FarmWorker(hostname, info["processes"], info["threads"],
                                            info["device"], info["renders"],
                                            info.get("version")))
        return sorted(found, key=lambda w: w.hostname)

    def blender_version(self, timeout: float = 1.0) -> str | None:
        """The Blender version of the farm's workers when they all tell the same one;
        None when none answers, one does not tell, or they differ."""
        versions = {w.blender for w in self.workers(timeout)}
        return versions.pop() if len(versions) == 1 else None

    def render(self, catalog: Catalog, store: RenderStore, jobs: Sequence[Job],
               settings: PoolSettings, on_event: Callable[[Event], None] = lambda e: None,
               ) -> Summary:
        """Render the jobs on the farm, indexing each picture as its result comes back.

        `settings.workers` (the farm's processes) and `settings.chunk` size the chunks;
        `settings.timeout` is each render's limit. Interrupted (Ctrl-C), it revokes the
        chunks not finished, indexes what came back, and raises KeyboardInterrupt.
        """
        summary = Summary()
        start = time.perf_counter()
        run = uuid.uuid4().hex
        hashes = file_hashes(catalog)
        by_group: dict[tuple[str, str], list[Job]] = {}
        for job in jobs:
            by_group.setdefault((job.wanted.quality, job.wanted.model), []).append(job)
        opens: dict[tuple[str, str], OpenMessage] = {}
        uploads: dict[str, Path] = {}
        for (quality, model), group in by_group.items():
            message = open_message(catalog, quality, model, group, settings)
            opens[(quality, model)], files = portable_open(message, hashes)
            uploads.update(files)
        for sha, path in sorted(uploads.items()):  # before any task can ask for them
            store.put_blob(path, sha)

        to_send: list[_Chunk] = []
        for chunk in chunk_jobs(jobs, settings):
            first = chunk[0].wanted
            payload: ChunkPayload = {
                "run": run, "quality": first.quality, "model": first.model,
                "open": opens[(first.quality, first.model)], "timeout": settings.timeout,
                "jobs": [{"address": job.wanted.address,
                          **render_fields(job.wanted),
                          "fingerprint": job.fingerprint,
                          "force": job.reason == "forced"} for job in chunk],
            }
            to_send.append(_Chunk(payload, {job.wanted.address: job for job in chunk}))
        chunks: dict[str, _Chunk] = {}
        try:
            while to_send or chunks:
                try:
                    while to_send:
                        task_id = self._send(to_send[0])
                        chunks[task_id] = to_send.pop(0)
                    self._poll(chunks, catalog, store, summary, on_event)
                except self._lost as exc:
                    to_send[:0] = self._after_broker_loss(exc, chunks, on_event)
                    continue
                if chunks:
                    time.sleep(POLL_SECONDS)
        except KeyboardInterrupt:
            summary.interrupted = True
            with _no_interrupts(), contextlib.suppress(*self._lost):  # broker gone: no revoke
                if chunks:
                    self.app.control.revoke(list(chunks))
                    self._poll(chunks, catalog, store, summary, on_event)
                    for task_id in chunks:
                        self._forget(task_id)
            raise
        finally:
            summary.seconds = time.perf_counter() - start
        return summary

    def _send(self, chunk: _Chunk) -> str:
        """Queue a chunk's task; its id."""
        # Limits: each render may take `timeout` and be retried once; the hard limit is a
        # backstop for a process stuck outside Blender. No ETA.
        soft = chunk.payload["timeout"] * (2 * len(chunk.jobs) + 2)
        result = self.app.send_task(TASK_NAME, args=[chunk.payload], queue=QUEUE,
                                    soft_time_limit=soft, time_limit=soft + 60)
        return str(result.id)

    def _after_broker_loss(self, exc: BaseException, chunks: dict[str, _Chunk],
                           on_event: Callable[[Event], None]) -> list[_Chunk]:
        """The broker went away (restarted, or its network): wait for it, then give back
        what is still to render as new chunks (the old tasks are revoked).

        A restart loses what the broker held only in memory: RabbitMQ the states on their
        way to this host, Redis without persistence its queue. Sending the unfinished work
        again covers both; what a worker stored meanwhile is answered from its receipts.
        Raises SitegenError when the broker is not back within `broker_wait` seconds.
        """
        on_event({"event": "broker", "state": "lost", "error": _one_line(exc),
                  "wait": self.broker_wait})
        deadline = time.monotonic() + self.broker_wait
        retry: tuple[type[BaseException], ...] = (SitegenError, *self._lost)
        while True:
            try:
                self.check()
                if self.amqp:  # this host's reply queue, before any worker answers in it
                    with self.app.pool.acquire_channel(block=True) as (_, channel):
                        self.app.backend.binding(channel).declare()
                break
            except retry as again:
                if time.monotonic() > deadline:
                    raise SitegenError(
                        f"lost the farm's broker at {redact(self.url)} and it did not come "
                        f"back within {self.broker_wait:.0f} s ({_one_line(again)}); what "
                        "came back is indexed: run again, and the receipts spare the "
                        "pictures the workers stored") from None
                time.sleep(2)
        resend = []
        for chunk in chunks.values():
            left = {a: job for a, job in chunk.jobs.items() if a not in chunk.reported}
            if left:
                payload: ChunkPayload = {**chunk.payload, "jobs": [
                    j for j in chunk.payload["jobs"] if j["address"] in left]}
                resend.append(_Chunk(payload, left, reported=set()))
        with contextlib.suppress(*self._lost):
            self.app.control.revoke(list(chunks))  # the workers that hear it drop them
        for task_id in list(chunks):
            del chunks[task_id]
            self._states.pop(task_id, None)
        on_event({"event": "broker", "state": "back",
                  "chunks": len(resend), "pictures": sum(len(c.jobs) for c in resend)})
        return resend

    def _poll(self, chunks: dict[str, _Chunk], catalog: Catalog, store: RenderStore,
              summary: Summary, on_event: Callable[[Event], None]) -> None:
        """Read every unfinished chunk's state once; index what is new; drop finished ones."""
        for task_id, meta in self._read_states(list(chunks)):
            if task_id in chunks and self._follow(chunks[task_id], meta, catalog, store,
                                                  summary, on_event):
                del chunks[task_id]
                self._forget(task_id)

    def _redis_restarted(self) -> bool:
        """Redis: whether the server is another one than at the last call (its run_id
        changed): a restart that redis-py's reconnection hides, which took the queue and
        the states with it when the server keeps nothing on disk."""
        run = str(self.app.backend.client.info("server")["run_id"])
        before, self._redis_run = self._redis_run, run
        return before is not None and before != run

    def _read_states(self, ids: list[str]) -> Iterable[tuple[str, Mapping[str, Any]]]:
        """The latest known state of each chunk that has one (not the unstarted ones).

        Redis: one MGET per 500 chunks. RabbitMQ (`rpc://`): the workers send every state
        change as a message to this host's reply queue; all that arrived are read (each
        state holds the chunk's events so far, so the last one per chunk is enough).
        """
        backend = self.app.backend
        if not self.amqp:
            if self._redis_restarted():
                raise BrokerRestarted("the Redis server was restarted (a new run_id)")
            for start in range(0, len(ids), 500):
                batch = ids[start:start + 500]
                values = backend.mget([backend.get_key_for_task(i) for i in batch])
                for task_id, value in zip(batch, values, strict=True):
                    if value is not None:
                        yield task_id, backend.decode_result(value)
            return
        changed: set[str] = set()
        with self.app.pool.acquire_channel(block=True) as (_, channel):
            binding = backend.binding(channel)
            binding.declare()
            for _ in range(10_000):  # then index what came before reading on
                message = binding.get(accept=backend.accept, no_ack=True)
                if message is None:
                    break
                task_id = message.properties.get("correlation_id") \
                    or message.payload.get("task_id")
                self._states[task_id] = backend.meta_from_decoded(message.payload)
                changed.add(task_id)
        for task_id in ids:
            if task_id in changed:
                yield task_id, self._states[task_id]

    def _forget(self, task_id: str) -> None:
        """Remove what the farm keeps of a finished chunk (Redis: its state, its count)."""
        self._states.pop(task_id, None)
        if self.amqp:
            return  # its states were messages, read and gone
        self.app.backend.forget(task_id)
        self.app.backend.client.delete(_delivery_key(task_id))

    @staticmethod
    def _follow(chunk: _Chunk, meta: Mapping[str, Any], catalog: Catalog, store: RenderStore,
                summary: Summary, on_event: Callable[[Event], None]) -> bool:
        """Handle a chunk's new events; True when the chunk is finished."""
        status = meta["status"]
        if status in ("PROGRESS", "SUCCESS"):
            data: ChunkResult = meta["result"]
            delivery = data["delivery"]
            if delivery > chunk.delivery:
                if delivery > 1:
                    waiting = [a for a in chunk.jobs if a not in chunk.reported]
                    on_event({"event": "worker", "state": "killed",
                              "error": f"the farm worker was lost; the chunk was delivered "
                                       f"again (delivery {delivery})",
                              "address": waiting[0] if waiting else ""})
                chunk.delivery = delivery
            events = data["events"]
            for event in events[chunk.seen.get(delivery, 0):]:
                _collect(event, chunk, catalog, store, summary, on_event)
            chunk.seen[delivery] = len(events)
            if status == "PROGRESS":
                return False
            error = "the farm returned no result for this picture"
        elif status in ("FAILURE", "REVOKED"):
            error = f"the farm task failed: {meta['result']}" if status == "FAILURE" \
                else "revoked"
        else:
            return False  # PENDING, STARTED, RETRY
        for address in chunk.jobs:
            if address not in chunk.reported:
                _collect(_failed({"address": address}, error), chunk, catalog, store,
                         summary, on_event)
        return True


class BrokerRestarted(Exception):
    """Redis answers again, but it is a new server: what the old one held is gone."""


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _collect(event: FarmEvent, chunk: _Chunk, catalog: Catalog, store: RenderStore,
             summary: Summary, on_event: Callable[[Event], None]) -> None:
    """Index one result (the host's only thread); each picture once, whatever the deliveries."""
    if event["event"] not in ("rendered", "failed"):
        on_event(cast(Event, event))
        return
    address = event["address"]
    job = chunk.jobs.get(address)
    if job is None or address in chunk.reported:
        return
    chunk.reported.add(address)
    if event["event"] == "rendered" and event.get("fingerprint") != job.fingerprint:
        event = _failed(event, "the farm answered with another fingerprint")
    if event["event"] == "failed":
        summary.failed.append((address, event["error"]))
        on_event(cast(Event, event))
        return
    if store.remote:  # record() would upload a copy in the host's cache over the new one
        remove_picture(store, address)  # (the local copies, with its companions)
    index_picture(catalog, store, summary, job, event, rendered=not event.get("skipped"))
    on_event({k: v for k, v in event.items() if k not in ("run", "fingerprint")})


@contextlib.contextmanager
def _no_interrupts() -> Any:
    """Hold off a second Ctrl-C while the revokes go out and the last results are indexed."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
