"""The farm worker's input cache: bounded, least recently used first, never a file in use.

No Blender and no Redis: a folder store with small fake blobs, `farm.BlobCache` itself, and
processes forked here standing for other pool processes or workers sharing the cache.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sitegen import farm
from sitegen.cli import cli
from sitegen.cli.farm import parse_size
from sitegen.store import FolderStore

FORK = multiprocessing.get_context("fork")


@pytest.fixture
def store(tmp_path: Path) -> FolderStore:
    return FolderStore(tmp_path / "renders")


def put(store: FolderStore, content: bytes, name: str = "model.blend") -> str:
    """Put a blob into the store as the host does; its reference, as a task names it."""
    sha = hashlib.sha256(content).hexdigest()
    source = store.root.parent / f"source-{sha[:12]}"
    source.write_bytes(content)
    store.put_blob(source, sha)
    return f"blob:{sha}/{name}"


def sha_of(ref: str) -> str:
    return ref.removeprefix("blob:").split("/")[0]


def cached(root: Path) -> set[str]:
    """The blobs the cache folder holds."""
    return {p.name for p in (root / "blobs").glob("*")} if (root / "blobs").is_dir() else set()


def bytes_on_disk(root: Path) -> int:
    """What blobs/ and files/ take, each file once (counted here as `du` would)."""
    seen: dict[tuple[int, int], int] = {}
    for path in [*root.glob("blobs/*"), *root.glob("files/*/*")]:
        st = path.lstat()
        seen[(st.st_dev, st.st_ino)] = st.st_size
    return sum(seen.values())


def use(cache: farm.BlobCache, *refs: str) -> list[Path]:
    """One task's use of the cache: its files fetched or read, then let go."""
    paths = [cache.path(ref) for ref in refs]
    cache.release()
    return paths


def test_the_least_recently_used_blob_goes_first(store: FolderStore, tmp_path: Path) -> None:
    # (a's hash sorts before b's: an order by name would evict a)
    a, b = sorted((put(store, bytes([n]) * 100, f"{n}.blend") for n in range(2)), key=sha_of)
    c = put(store, bytes([2]) * 100, "2.blend")
    cache = farm.BlobCache(store, tmp_path / "cache", limit=250)
    use(cache, a)
    use(cache, b)
    use(cache, a)  # a is read again: b is now the least recently used
    assert cached(cache.root) == {sha_of(a), sha_of(b)}
    use(cache, c)  # 300 bytes would be over the limit
    assert cached(cache.root) == {sha_of(a), sha_of(c)}
    assert not (cache.root / "files" / sha_of(b)).exists()
    assert (cache.root / "files" / sha_of(a) / a.split("/")[-1]).is_file()
    assert cache.size() == bytes_on_disk(cache.root) == 200
    # What comes back is fetched again, under its name.
    again = use(cache, b)[0]
    assert again.name == b.split("/")[-1]
    assert again.read_bytes() == (store.root / "_blobs" / sha_of(b)).read_bytes()
    assert cached(cache.root) == {sha_of(b), sha_of(c)}  # a was the least recently used


def test_the_cache_stays_within_its_limit_after_each_task(store: FolderStore,
                                                           tmp_path: Path) -> None:
    refs = [put(store, bytes([n]) * (40 + 30 * n), f"file-{n}.png") for n in range(8)]
    cache = farm.BlobCache(store, tmp_path / "cache", limit=400)
    for step in range(40):
        task = [refs[(step * 5 + k * 3) % len(refs)] for k in range(1 + step % 3)]
        paths = [cache.path(ref) for ref in task]
        for ref, path in zip(task, paths, strict=True):  # all there while the task runs
            assert path.read_bytes() == (store.root / "_blobs" / sha_of(ref)).read_bytes()
        cache.release()
        assert cache.size() == bytes_on_disk(cache.root) <= 400
        assert {sha_of(task[-1])} <= cached(cache.root)  # the last used is kept
    assert not list((cache.root / "work").rglob("*.tmp-*"))


def test_the_links_under_their_names_are_counted_once(store: FolderStore,
                                                      tmp_path: Path) -> None:
    chair = put(store, b"c" * 100, "chair.blend")
    same = chair.replace("chair.blend", "stool.blend")  # the same bytes under another name
    cache = farm.BlobCache(store, tmp_path / "cache", limit=150)
    first, second = use(cache, chair, same)
    assert first.name == "chair.blend" and second.name == "stool.blend"
    assert first.stat().st_ino == second.stat().st_ino == (
        cache.root / "blobs" / sha_of(chair)).stat().st_ino
    assert first.stat().st_nlink == 3
    assert cache.size() == 100  # not 300: one file, three names
    use(cache, put(store, b"t" * 100, "table.blend"))  # 200 > 150: the chair goes, names too
    assert cached(cache.root) == {hashlib.sha256(b"t" * 100).hexdigest()}
    assert not first.exists() and not second.exists()


def _hold(root: Path, store_root: Path, ref: str, ready: Any, done: Any) -> None:
    """Another pool process (or worker) in the middle of a task that uses `ref`."""
    cache = farm.BlobCache(FolderStore(store_root), root, limit=0)
    cache.path(ref)
    ready.set()
    done.wait(30)
    os._exit(0)  # without release(): the lock goes with the process, as when it is killed


def test_a_blob_in_use_by_another_process_is_never_evicted(store: FolderStore,
                                                           tmp_path: Path) -> None:
    used, other = put(store, b"u" * 100, "used.blend"), put(store, b"o" * 100, "other.blend")
    root = tmp_path / "cache"
    ready, done = FORK.Event(), FORK.Event()
    holder = FORK.Process(target=_hold, args=(root, store.root, used, ready, done))
    holder.start()
    try:
        assert ready.wait(30)
        cache = farm.BlobCache(store, root, limit=0)  # keep nothing
        use(cache, other, used)
        assert cached(root) == {sha_of(used)}  # the other's file stays; this one's went
        assert (root / "files" / sha_of(used) / "used.blend").read_bytes() == b"u" * 100
        assert cache.evict() == 100  # over the limit, all in use
    finally:
        os.kill(holder.pid, signal.SIGKILL)  # a pool process killed mid-task
        holder.join(30)
    assert cache.evict() == 0  # its lock went with it
    assert cached(root) == set() and list((root / "files").iterdir()) == []


def test_a_blob_larger_than_the_limit_is_fetched_and_evicted_after(
        store: FolderStore, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    small, big = put(store, b"s" * 10), put(store, b"B" * 500, "big.blend")
    cache = farm.BlobCache(store, tmp_path / "cache", limit=100)
    use(cache, small)
    with caplog.at_level(logging.INFO, logger="sitegen.farm"):
        path = cache.path(big)
    assert path.read_bytes() == b"B" * 500
    assert cached(cache.root) == {sha_of(big)}  # the small one made room
    assert cache.size() == 500
    assert "fetched big.blend" in caplog.text
    assert f"input file big.blend (blob {sha_of(big)[:12]}, 500 B) is larger than the farm's " \
        "input cache limit (100 B): kept while the task uses it" in caplog.text
    cache.release()
    assert cached(cache.root) == set() and cache.size() == 0


class SlowStore(FolderStore):
    """A store whose fetches take a while, so that two processes fetch at once."""

    def fetch_blob(self, sha256: str, cache: Path) -> Path:
        got = super().fetch_blob(sha256, cache)
        time.sleep(0.3)
        return got


def _fetch(root: Path, store_root: Path, ref: str, start: Any, answers: Any) -> None:
    cache = farm.BlobCache(SlowStore(store_root), root, limit=1000)
    start.wait(30)
    path = cache.path(ref)
    answers.put((str(path), path.read_bytes()))
    cache.release()


def test_two_processes_fetching_one_blob_share_one_file(store: FolderStore,
                                                        tmp_path: Path) -> None:
    ref = put(store, b"x" * 300, "chair.blend")
    root = tmp_path / "cache"
    start, answers = FORK.Barrier(2), FORK.Queue()
    procs = [FORK.Process(target=_fetch, args=(root, store.root, ref, start, answers))
             for _ in range(2)]
    for proc in procs:
        proc.start()
    got = [answers.get(timeout=30) for _ in procs]
    for proc in procs:
        proc.join(30)
        assert proc.exitcode == 0
    named = root / "files" / sha_of(ref) / "chair.blend"
    assert got == [(str(named), b"x" * 300)] * 2
    assert cached(root) == {sha_of(ref)}
    assert named.stat().st_nlink == 2  # blobs/ and files/, nothing else
    assert bytes_on_disk(root) == 300
    assert [p for p in root.rglob("*") if p.is_file() and "work" in p.parts] == []


def test_a_task_leaves_the_cache_within_its_limit(store: FolderStore, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    blend, texture = put(store, b"b" * 100, "chair.blend"), put(store, b"t" * 100, "oak.png")
    root = tmp_path / "cache"
    seen: list[list[Path]] = []

    def render_job(store: Any, message: Any, key: str, job: Any, payload: Any,
                   settings: Any, work: Path) -> Any:
        files = [Path(message["blend"]), Path(message["materials"]["1127"]["diffuse"])]
        farm.BlobCache(store, root, limit=0).evict()  # another process pruning meanwhile
        assert all(path.is_file() for path in files)  # in use: kept
        seen.append(files)
        if job["address"].endswith("-1.png"):
            raise RuntimeError("a bug in the middle of a chunk")
        return {"event": "rendered", "address": job["address"]}

    monkeypatch.setattr(farm, "_render_job", render_job)
    monkeypatch.setattr(farm, "_store", None)
    settings = farm.WorkerSettings(renders=str(store.root), cache=root, cache_size=150)
    message = {"op": "open", "blend": blend, "meshes": {}, "quality": {},
               "materials": {"1127": {"color": None, "diffuse": texture, "normal": None,
                                      "roughness": None}}}

    def payload(address: str) -> Any:
        return {"run": "r", "model": "kino", "open": message, "timeout": 5,
                "jobs": [{"address": address, "fingerprint": "f", "force": False}]}

    assert farm.render_chunk(payload("preview/kino/front/frame-0.png"), settings) == [
        {"event": "rendered", "address": "preview/kino/front/frame-0.png"}]
    # 200 bytes in use during the task; after it, the blend file (used first) went.
    assert cached(root) == {sha_of(texture)} and bytes_on_disk(root) == 100
    with pytest.raises(RuntimeError, match="a bug"):
        farm.render_chunk(payload("preview/kino/front/frame-1.png"), settings)
    assert bytes_on_disk(root) <= 150  # released all the same
    assert len(seen) == 2


@pytest.mark.parametrize(("text", "size"), [
    ("20G", 20 * 1024**3), ("500M", 500 * 1024**2), ("4096", 4096), ("1.5K", 1536),
    ("2t", 2 * 1024**4), ("20GB", 20 * 1024**3), ("20GiB", 20 * 1024**3), (" 7 ", 7),
    ("0", 0)])
def test_cache_sizes_as_people_write_them(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[farm.WorkerSettings]]:
    """The settings `sitegen worker` would start a worker with (none is started)."""
    calls: list[farm.WorkerSettings] = []
    monkeypatch.setattr(farm, "run_worker", lambda broker, settings, **kw: calls.append(settings))
    yield calls


def test_the_cache_size_option(tmp_path: Path, started: list[farm.WorkerSettings]) -> None:
    base = ["worker", "--broker", "redis://127.0.0.1:1/0", "--renders", str(tmp_path / "r")]
    runner = CliRunner()
    assert runner.invoke(cli, base).exit_code == 0
    assert runner.invoke(cli, [*base, "--cache-size", "500M"]).exit_code == 0
    assert [s.cache_size for s in started] == [farm.DEFAULT_CACHE_SIZE, 500 * 1024**2]
    assert farm.DEFAULT_CACHE_SIZE == 20 * 1024**3
    for bad in ("20X", "-1", "G", "", "1e9", "lots"):
        result = runner.invoke(cli, [*base, "--cache-size", bad])
        assert result.exit_code == 2, bad
        assert f"Invalid value for '--cache-size': {bad!r} is not a size: give bytes, or a " \
               "number with K, M, G or T (powers of 1024), e.g. 20G or 500M" in result.output
        assert "Traceback" not in result.output
    assert len(started) == 2
