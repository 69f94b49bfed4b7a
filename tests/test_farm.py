"""The render farm: a real `redis-server` and real `sitegen worker` processes on loopback.

The Blender tests use the catalog of test_render.py (14 pictures of the tiny scene). The
workers run as subprocesses (`python -m sitegen worker`, a Celery worker with two pool
processes), and so does the host (`python -m sitegen render --farm`), as users run them.
The tests without Blender check the pieces a farm task relies on: blob references, receipts,
the Celery settings, the command line.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import free_port, redis_server_at, use_test_aws, write_catalog, write_png
from test_render import (
    ALL,
    PREVIEW,
    WEB,
    Project,
    by_event,
    catalog_data,
    events,
    make_project,
    rows,
    wait_gone,
)

from sitegen import farm
from sitegen.cli import cli
from sitegen.errors import SitegenError
from sitegen.store import FolderStore

# --- servers and workers ------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on 127.0.0.1 (nothing saved to disk); its URL."""
    port = free_port()
    with redis_server_at(tmp_path_factory.mktemp("redis"), port):
        yield f"redis://127.0.0.1:{port}/0"


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The Redis server, emptied: no queue, result or revoke left from another test."""
    import redis

    redis.Redis.from_url(redis_server).flushall()
    return redis_server


@pytest.fixture
def amqp_url(rabbitmq_url: str) -> str:
    """The session's RabbitMQ node, its chunk queue emptied (no chunk left by another test)."""
    import kombu
    from amqp.exceptions import NotFound

    with kombu.Connection(rabbitmq_url) as conn:
        channel = conn.channel()
        with contextlib.suppress(NotFound):  # not declared yet: nothing to empty
            channel.queue_purge(farm.QUEUE)
    return rabbitmq_url


@pytest.fixture(params=["redis", "rabbitmq"])
def farm_url(request: pytest.FixtureRequest) -> str:
    """The URL of each broker in turn: Redis, then RabbitMQ (both emptied)."""
    return str(request.getfixturevalue("redis_url" if request.param == "redis" else "amqp_url"))


@contextlib.contextmanager
def farm_worker(url: str, project: Project, renders: str, name: str, *,
                concurrency: int = 2, threads: int = 1,
                env: dict[str, str] | None = None, args: tuple[str, ...] = ()
                ) -> Iterator[Path]:
    """`sitegen worker` in the background until the block ends; its log file."""
    log = project.root / f"{name}.log"
    command = [sys.executable, "-m", "sitegen", "worker", "--broker", url, "--renders", renders,
               "--concurrency", str(concurrency), "--threads", str(threads), "--device", "cpu",
               "--cache", str(project.root / f"{name}-cache"), "--hostname", f"{name}@%h",
               *args]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                env={**project.env(), **(env or {})}, cwd=project.root,
                                start_new_session=True)
    try:
        client = farm.Farm(url)
        deadline = time.monotonic() + 60
        while not any(w.hostname.startswith(f"{name}@") for w in client.workers(0.5)):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
        yield log
    finally:
        proc.send_signal(signal.SIGTERM)  # a warm shutdown: the pool and its Blenders stop
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise AssertionError(f"no stop on SIGTERM: {log.read_text()}") from None
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # anything it left in its session


def store_files(root: Path) -> dict[str, bytes]:
    """Pictures and thumbnails of a folder store, by name (no index, blobs or receipts)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and p.suffix in (".png", ".jpg", ".webp")
            and not p.relative_to(root).as_posix().startswith("_")}


def index_rows(db_path: Path) -> dict[str, dict[str, Any]]:
    db = sqlite3.connect(db_path)
    db.row_factory = sqlite3.Row
    try:
        return {r["address"]: dict(r) for r in db.execute("SELECT * FROM renders")}
    finally:
        db.close()


SAME = ("fingerprint", "inputs", "sha256", "bytes", "blender")  # what a farm must agree on


@pytest.fixture(scope="module")
def local(blender_scenes: Path, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The test catalog rendered by the local pool: what the farm must give."""
    project = make_project(tmp_path_factory.mktemp("local"), blender_scenes)
    result = project.render("--json")
    assert result.returncode == 0, result.stderr
    return project


# --- with Blender: the farm end to end ------------------------------------------------------

@pytest.mark.blender
def test_a_farm_render_gives_the_files_of_a_local_one(local: Project, farm_url: str,
                                                      blender_scenes: Path,
                                                      tmp_path: Path) -> None:
    project = make_project(tmp_path, blender_scenes)
    with farm_worker(farm_url, project, str(project.store), "farm-a"):
        result = project.run("render", "--farm", farm_url, "--json")
        assert result.returncode == 0, result.stderr
        out = events(result)
        assert out[0]["render"] == 14
        assert [(w["processes"], w["threads"], w["device"]) for w in
                by_event(out, "farm")[0]["workers"]] == [(2, 1, "cpu")]
        rendered = by_event(out, "rendered")
        assert sorted(e["address"] for e in rendered) == sorted(ALL)  # each once
        assert not any(e.get("skipped") for e in rendered)
        summary = by_event(out, "summary")[0]
        assert (summary["rendered"], summary["failed"], summary["workers"]) == (14, 0, 2)

        # Byte for byte the local pool's pictures and thumbnails; the same index.
        assert store_files(project.store) == store_files(local.store)
        farm_rows, local_rows = index_rows(project.store / "index.sqlite"), index_rows(
            local.store / "index.sqlite")
        assert {a: [r[k] for k in SAME] for a, r in farm_rows.items()} == {
            a: [r[k] for k in SAME] for a, r in local_rows.items()}
        assert not project.temp_files()
        # The inputs went by content hash: the blend file and two textures, once each.
        blobs = {p.name for p in (project.store / "_blobs").iterdir()}
        assert blobs == {hashlib.sha256(p.read_bytes()).hexdigest() for p in [
            project.cat / "models/scene.blend", project.cat / "textures/checker.png",
            project.cat / "textures/checker2.png"]}
        cached = project.root / "farm-a-cache" / "files"
        assert {p.relative_to(cached).parts[1] for p in cached.glob("*/*")} == {
            "scene.blend", "checker.png", "checker2.png"}  # Blender sees the files' names
        for address, row in farm_rows.items():
            receipt = json.loads((project.store / "_receipts" / f"{address}.json").read_text())
            assert (receipt["fingerprint"], receipt["sha256"]) == (row["fingerprint"],
                                                                   row["sha256"])

        # A second run renders nothing; --force renders everything again, the same bytes.
        again = project.run("render", "--farm", farm_url)
        assert again.stdout == "wanted 14: 14 ready; render nothing\n", again.stderr
        forced = project.run("render", "--farm", farm_url, "--force", "--json")
        assert forced.returncode == 0, forced.stderr
        rendered = by_event(events(forced), "rendered")
        assert len(rendered) == 14 and not any(e.get("skipped") for e in rendered)
        assert store_files(project.store) == store_files(local.store)
    assert not wait_gone(project, 10)


@pytest.mark.blender
def test_kill_9_of_a_worker_process_in_the_middle_of_a_job(farm_url: str, blender_scenes: Path,
                                                            tmp_path: Path) -> None:
    project = make_project(tmp_path, blender_scenes, catalog_data(samples=100))
    with farm_worker(farm_url, project, str(project.store), "farm-k"):
        # 12 preview pictures: two chunks of 6, one per pool process.
        run = project.start("render", "--farm", farm_url, "--json", "--quality", "preview")
        try:
            # The victim: a pool process that has stored two pictures of its chunk of six.
            victim = ""
            while not victim:
                run.wait_for("rendered", len(by_event(run.events, "rendered")) + 1)
                done = Counter(e["worker"] for e in by_event(run.events, "rendered"))
                victim = next((w for w, n in done.items() if n >= 2), "")  # <host>-<pid>
            pid = int(victim.rsplit("-", 1)[1])
            blender = [p for p, c in project.processes().items()
                       if "blender/worker.py" in c and _parent(p) == pid]
            before = {e["address"] for e in by_event(run.events, "rendered")
                      if e["worker"] == victim}
            os.kill(pid, signal.SIGKILL)  # in the middle of its chunk, while Blender renders
            code = run.finish(timeout=120)
        finally:
            run.kill()
        assert code == 0, run.stderr
        assert blender and not wait_for_gone(blender, 10)  # its Blender died with it
        lost = by_event(run.events, "worker")
        assert lost and all("delivered again (delivery 2)" in e["error"] for e in lost), lost
        rendered = [e["address"] for e in by_event(run.events, "rendered")]
        assert sorted(rendered) == sorted(PREVIEW)  # every picture once
        assert not by_event(run.events, "failed")
        assert by_event(run.events, "summary")[0]["rendered"] == 12

        # Stored exactly once: what the killed process had stored was not rendered again.
        assert len(before) == 2
        for address in before:
            receipt = json.loads((project.store / "_receipts" / f"{address}.json").read_text())
            assert receipt["worker"] == victim
        records = project.records()
        assert set(records) == PREVIEW and project.pictures() - {
            p for p in project.pictures() if p.startswith("_")} == PREVIEW
        db = sqlite3.connect(project.store / "index.sqlite")
        assert db.execute("SELECT count(*), count(fingerprint) FROM renders").fetchone() == (
            12, 12)
        db.close()
        for address, rec in records.items():
            assert rec["sha256"] == hashlib.sha256((project.store / address).read_bytes()
                                                   ).hexdigest()
        assert not project.temp_files()
        status = rows(project.status())
        assert all(r[2] == r[1] and r[3] == r[4] == 0 for k, r in status.items()
                   if k[1] == "preview"), status
        plan = events(project.render("--dry-run", "--json", "--quality", "preview"))[0]
        assert (plan["ready"], plan["render"]) == (12, 0)
    assert not wait_gone(project, 10)


@pytest.mark.blender
def test_ctrl_c_on_the_host_revokes_the_rest_and_a_rerun_indexes_what_was_stored(
        farm_url: str, blender_scenes: Path, tmp_path: Path) -> None:
    project = make_project(tmp_path, blender_scenes, catalog_data(samples=120))
    # (120 samples: slow enough that the run is still going when the SIGINT arrives, even
    # on a loaded machine; at 40 a loaded CI machine once finished all 14 first.)
    with farm_worker(farm_url, project, str(project.store), "farm-c", concurrency=1,
                     threads=2) as log:
        # One pool process: the preview chunk (12) runs, the web chunk (2) waits behind it.
        run = project.start("render", "--farm", farm_url, "--json")
        try:
            run.wait_for("rendered", 2)
            run.proc.send_signal(signal.SIGINT)
            code = run.finish(timeout=30)
        finally:
            run.kill()
        assert code == 130, run.stderr
        assert "interrupted: finished pictures are stored and indexed" in run.stderr
        indexed = set(project.records())
        assert run.rendered() <= indexed < PREVIEW
        # The running chunk finishes and stores its pictures; the waiting one is dropped.
        receipts = project.store / "_receipts"
        deadline = time.monotonic() + 90
        while "Discarding revoked task" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert {p.relative_to(receipts).as_posix().removesuffix(".json")
                for p in receipts.rglob("*.json")} == PREVIEW
        assert set(project.records()) == indexed  # the host alone indexes

        # The rerun indexes the stored pictures from their receipts and renders the rest.
        result = project.run("render", "--farm", farm_url, "--json")
        assert result.returncode == 0, result.stderr
        out = events(result)
        assert (out[0]["ready"], out[0]["render"]) == (len(indexed), 14 - len(indexed))
        skipped = {e["address"] for e in by_event(out, "rendered") if e.get("skipped")}
        fresh = {e["address"] for e in by_event(out, "rendered") if not e.get("skipped")}
        assert skipped == PREVIEW - indexed and fresh == WEB
        assert set(project.records()) == ALL
        assert not project.temp_files()
    assert not wait_gone(project, 10)


@pytest.mark.blender
def test_a_silent_worker_machine_loses_its_chunk_to_another_in_seconds(
        amqp_url: str, blender_scenes: Path, tmp_path: Path) -> None:
    """RabbitMQ: a worker frozen whole (SIGSTOP: no heartbeat, no FIN, as a machine whose
    network is gone) is dropped after its heartbeats stop; its chunk is ready again."""
    import kombu

    project = make_project(tmp_path, blender_scenes, catalog_data(samples=100))
    with farm_worker(amqp_url, project, str(project.store), "farm-lost", concurrency=1,
                     args=("--heartbeat", "2")):
        run = project.start("render", "--farm", amqp_url, "--json", "--quality", "preview")
        frozen: list[int] = []
        try:
            run.wait_for("rendered", 2)  # one chunk of 12, on the only pool process
            victim = by_event(run.events, "rendered")[0]["worker"]
            pid = int(victim.rsplit("-", 1)[1])
            frozen = [p for p, c in project.processes().items()
                      if "blender/worker.py" in c and _parent(p) == pid]
            for blender in frozen:
                os.kill(blender, signal.SIGSTOP)
            group = os.getpgid(pid)  # the worker's session: main process and pool
            os.killpg(group, signal.SIGSTOP)
            cut = time.monotonic()
            with kombu.Connection(amqp_url) as conn:
                channel = conn.channel()
                while channel.queue_declare(farm.QUEUE, passive=True).message_count == 0:
                    assert time.monotonic() - cut < 30, "the chunk did not come back"
                    time.sleep(0.1)
            requeued = time.monotonic() - cut
            print(f"chunk ready again {requeued:.1f} s after its worker froze (heartbeat 2 s)")
            assert requeued < 12
            with farm_worker(amqp_url, project, str(project.store), "farm-spare",
                             concurrency=1):
                code = run.finish(timeout=180)
        finally:
            run.kill()
            with contextlib.suppress(ProcessLookupError, UnboundLocalError):
                os.killpg(group, signal.SIGCONT)
            for blender in frozen:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(blender, signal.SIGCONT)
        assert code == 0, run.stderr
        lost = by_event(run.events, "worker")
        assert lost and all("delivered again (delivery 2)" in e["error"] for e in lost), lost
        rendered = [e["address"] for e in by_event(run.events, "rendered")]
        assert sorted(rendered) == sorted(PREVIEW)  # every picture once
        for event in by_event(run.events, "rendered")[:2]:  # stored before the freeze:
            receipt = json.loads((project.store / "_receipts" / f"{event['address']}.json"
                                  ).read_text())
            assert receipt["worker"] == victim  # answered from its receipt, not rendered again
        db = sqlite3.connect(project.store / "index.sqlite")
        assert db.execute("SELECT count(*), count(fingerprint) FROM renders").fetchone() == (
            12, 12)
        db.close()
    assert not wait_gone(project, 10)


def _parent(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])


def wait_for_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := [p for p in pids if Path(f"/proc/{p}").exists()
                    and "Z" not in Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1][:3]]
           ) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, moto_endpoint: str) -> str:
    """moto's S3 server, test credentials in the environment; its URL."""
    use_test_aws(monkeypatch, tmp_path, SITEGEN_S3_ENDPOINT_URL=moto_endpoint,
                 SITEGEN_CACHE_DIR=str(tmp_path / "host-cache"))
    return moto_endpoint


@pytest.mark.blender
def test_a_farm_renders_into_an_s3_store(local: Project, redis_url: str, s3_endpoint: str,
                                         blender_scenes: Path, tmp_path: Path) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    bucket = f"sg-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=bucket)
    location = f"s3://{bucket}/renders"
    project = make_project(tmp_path, blender_scenes)

    def sitegen(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "sitegen", "--catalog", str(project.cat),
                               *args, "--renders", location], capture_output=True, text=True,
                              timeout=300, env=project.env(), cwd=project.root, check=False)

    # The worker has a cache of its own, as on another machine.
    with farm_worker(redis_url, project, location, "farm-s3",
                     env={"SITEGEN_CACHE_DIR": str(tmp_path / "worker-cache")}):
        result = sitegen("render", "--farm", redis_url, "--json")
        assert result.returncode == 0, result.stderr
        assert by_event(events(result), "summary")[0]["rendered"] == 14
        again = sitegen("render", "--farm", redis_url)
        assert again.stdout == "wanted 14: 14 ready; render nothing\n", again.stderr

    objects = {o["Key"].removeprefix("renders/"): o for o in s3.list_objects_v2(
        Bucket=bucket, Prefix="renders/")["Contents"]}
    local_files = store_files(local.store)
    for name, data in local_files.items():  # pictures and thumbnails, byte for byte
        body = s3.get_object(Bucket=bucket, Key=f"renders/{name}")
        assert body["Body"].read() == data, name
        assert body["Metadata"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert {n for n in objects if not n.startswith("_")} == set(local_files) | {"index.sqlite"}
    assert len([n for n in objects if n.startswith("_blobs/")]) == 3
    index = tmp_path / "index.sqlite"
    s3.download_file(bucket, "renders/index.sqlite", str(index))
    farm_rows, local_rows = index_rows(index), index_rows(local.store / "index.sqlite")
    assert {a: [r[k] for k in SAME] for a, r in farm_rows.items()} == {
        a: [r[k] for k in SAME] for a, r in local_rows.items()}
    # The host staged nothing: the pictures went from the workers to the bucket.
    staged = tmp_path / "host-cache"
    assert not [p for p in staged.rglob("*") if p.suffix in (".png", ".jpg", ".webp")]
    assert not wait_gone(project, 10)


# --- without Blender: the pieces ----------------------------------------------------------

def test_blob_references_travel_and_come_back_as_local_files(tmp_path: Path) -> None:
    blend, texture = tmp_path / "in" / "chair.blend", tmp_path / "in" / "oak.png"
    blend.parent.mkdir()
    blend.write_bytes(b"BLENDER-v500 chair")
    texture.write_bytes(b"oak pixels")
    hashes = {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in (blend, texture)}
    message = {"op": "open", "blend": str(blend), "meshes": {"frame": ["Legs"]},
               "materials": {"1127": {"color": "#c8a27a", "diffuse": str(texture),
                                      "normal": None, "roughness": None}},
               "quality": {"samples": 4}, "threads": 2, "device": "auto"}
    portable, files = farm.portable_open(message, hashes)
    assert portable["blend"] == f"blob:{hashes[str(blend)]}/chair.blend"
    assert portable["materials"]["1127"] == {"color": "#c8a27a", "normal": None,
                                             "diffuse": f"blob:{hashes[str(texture)]}/oak.png",
                                             "roughness": None}
    assert files == {hashes[str(blend)]: blend, hashes[str(texture)]: texture}
    assert str(tmp_path) not in json.dumps(portable)  # no path of the host travels

    store = FolderStore(tmp_path / "renders")
    cache = farm.BlobCache(store, tmp_path / "cache")
    with pytest.raises(SitegenError, match="chair.blend .* is not in this worker's store"):
        farm.local_open(portable, cache)
    for sha, path in files.items():
        store.put_blob(path, sha)
    here = farm.local_open(portable, cache)
    assert Path(here["blend"]).name == "chair.blend"
    assert Path(here["blend"]).read_bytes() == blend.read_bytes()
    assert Path(here["materials"]["1127"]["diffuse"]).read_bytes() == b"oak pixels"
    assert {k: v for k, v in here.items() if k not in ("blend", "materials")} == {
        k: v for k, v in message.items() if k not in ("blend", "materials")}
    for bad in ("/etc/passwd", f"blob:{'0' * 64}/../x", f"blob:{'0' * 64}/a/b", "blob:abc/x",
                f"blob:{'0' * 64}/"):
        with pytest.raises(SitegenError, match="not a blob reference"):
            cache.path(bad)


def test_addresses_from_the_broker_stay_inside_the_store() -> None:
    assert farm.check_address("preview/kino/front/frame-1127_top-0.png")
    for bad in ("../kino/front/x.png", "preview/kino/front/../../x.png", "/etc/x.png",
                "preview/kino/front/x.txt", "preview/kino/x.png", "preview/kino/front/.x.png"):
        with pytest.raises(SitegenError, match="not a picture address"):
            farm.check_address(bad)


def test_a_receipt_counts_only_for_the_very_picture(tmp_path: Path) -> None:
    store = FolderStore(tmp_path / "renders")
    address = "preview/kino/front/frame-1127_top-0.png"
    picture = tmp_path / "picture.png"
    picture.write_bytes(b"pixels")
    receipt = {"address": address, "fingerprint": "fp1", "run": "run1",
               "sha256": hashlib.sha256(b"pixels").hexdigest()}
    job = {"address": address, "fingerprint": "fp1", "force": False}
    assert farm.stored_receipt(store, job, "run2") is None  # nothing stored
    store.put_file(address, picture)
    note = tmp_path / "receipt.json"
    note.write_text(json.dumps(receipt))
    store.put_file(farm.receipt_name(address), note)
    assert (store.root / "_receipts" / f"{address}.json").is_file()
    assert not [p for p in store.root.rglob("*") if ".tmp-" in p.name]

    assert farm.stored_receipt(store, job, "run2") == receipt
    assert farm.stored_receipt(store, {**job, "fingerprint": "fp2"}, "run2") is None
    assert farm.stored_receipt(store, {**job, "force": True}, "run2") is None  # re-render
    assert farm.stored_receipt(store, {**job, "force": True}, "run1") == receipt  # redelivery
    store.path_of(address).write_bytes(b"a later picture")  # replaced by another render
    assert farm.stored_receipt(store, job, "run2") is None

    # A chunk whose pictures are all stored answers from the receipts, Blender unstarted.
    store.path_of(address).write_bytes(b"pixels")
    settings = farm.WorkerSettings(renders=str(store.root), cache=tmp_path / "cache",
                                   blender="/nonexistent/blender")
    payload = {"run": "run2", "model": "kino", "open": {}, "timeout": 5, "jobs": [job]}
    farm._store = None
    try:
        assert farm.render_chunk(payload, settings) == [
            {"event": "rendered", **receipt, "skipped": True}]
        assert farm._warm is None
    finally:
        farm._store = None


def test_the_celery_settings_long_renders_need() -> None:
    app = farm.make_app("redis://127.0.0.1:1/0", visibility_timeout=7200, tasks_per_child=7)
    conf = app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.worker_max_tasks_per_child == 7
    assert conf.broker_transport_options == {  # a lost chunk back within 10 s of its timeout
        "visibility_timeout": 7200, "unacked_restore_interval": farm.RESTORE_SWEEP,
        "unacked_restore_throttle": 1}
    assert conf.task_serializer == conf.result_serializer == "json"
    assert farm.TASK_NAME in app.tasks
    with pytest.raises(SitegenError, match="unsupported farm URL 'http://u:\\*\\*\\*@x'"):
        farm.make_app("http://u:secret@x")

    # RabbitMQ: results come back as messages (no Redis), a quorum queue counts deliveries,
    # the workers' heartbeats (the host sends none: it does not run their event loop).
    worker = farm.make_app("amqp://u:p@10.0.0.5:5672/farm", heartbeat=10).conf
    assert worker.result_backend == "rpc://" and worker.task_default_queue_type == "quorum"
    assert worker.broker_heartbeat == 10 and worker.task_acks_late
    assert worker.task_reject_on_worker_lost and worker.worker_prefetch_multiplier == 1
    assert farm.make_app("amqps://u:p@10.0.0.5:5671/farm").conf.broker_heartbeat == 0
    assert farm.redact("amqp://farm:secret@10.0.0.5:5672/farm") == \
        "amqp://farm:***@10.0.0.5:5672/farm"
    assert farm.redact("redis://:secret@10.0.0.5:6379/0") == "redis://:***@10.0.0.5:6379/0"
    assert farm.redact("redis://10.0.0.5:6379/0") == "redis://10.0.0.5:6379/0"


def test_render_farm_options(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["render", "--farm", "redis://127.0.0.1:1/0", "--workers", "2"])
    assert result.exit_code == 2
    assert "with --farm, --workers, --threads, --blender, --device and --recycle-after are " \
           "options of `sitegen worker`" in result.output
    # A farm nobody listens at: a clear message, no traceback.
    cat = write_catalog(tmp_path / "cat", {"catalog.yaml": catalog_data()},
                        blends=("models/scene.blend",))
    for name in ("checker.png", "checker2.png"):
        write_png(cat / "textures" / name)
    result = subprocess.run(
        [sys.executable, "-m", "sitegen", "--catalog", str(cat), "render", "--farm",
         f"redis://127.0.0.1:{free_port()}/0", "--renders", str(tmp_path / "renders")],
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "error: cannot reach the farm at redis://127.0.0.1:" in result.stderr
    assert "Traceback" not in result.stderr
    # RabbitMQ: the same, and the password never printed.
    result = subprocess.run(
        [sys.executable, "-m", "sitegen", "--catalog", str(cat), "render", "--farm",
         f"amqp://farm:hunter2@127.0.0.1:{free_port()}/farm", "--renders",
         str(tmp_path / "renders")], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "error: cannot reach the farm at amqp://farm:***@127.0.0.1:" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
