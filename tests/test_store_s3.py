"""The S3 render store, against moto's S3 server on loopback: index, lock, blobs, commands."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import base_catalog, use_test_aws

from sitegen.catalog.load import load_catalog
from sitegen.cli import cli
from sitegen.errors import SitegenError
from sitegen.plan import wanted_renders
from sitegen.sizes import sized_address
from sitegen.store import FolderStore, make_companions, open_store, thumb_address
from sitegen.store import s3 as s3_store
from sitegen.store.s3 import S3Store, parse_location
from sitegen.store.s3.lock import pid_namespace

FRONT = "preview/kino/front/frame-1127_top-1127.png"
SIDE = "preview/kino/side/frame-1127_top-1127.png"
OTHER = "preview/kino/front/frame-1128_top-1140.png"


@pytest.fixture
def endpoint(moto_endpoint: str) -> str:
    return moto_endpoint


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, endpoint: str) -> Path:
    """Test credentials and endpoint, none of the user's AWS configuration; the cache folder."""
    use_test_aws(monkeypatch, tmp_path, SITEGEN_S3_ENDPOINT_URL=endpoint,
                 SITEGEN_CACHE_DIR=str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def store(bucket: str, endpoint: str, tmp_path: Path) -> Iterator[Callable[..., S3Store]]:
    """Opens S3 stores on the test bucket (prefix `renders/`), each with its own local cache,
    as on different machines; closes them at the end."""
    opened: list[S3Store] = []

    def make(prefix: str = "renders/", **kwargs: Any) -> S3Store:
        kwargs.setdefault("cache", tmp_path / f"machine-{len(opened)}")
        opened.append(S3Store(bucket, prefix, endpoint_url=endpoint, **kwargs))
        return opened[-1]

    yield make
    for s in opened:
        with pytest.MonkeyPatch.context() as m:  # a failing test's store: no noise
            m.setattr(s, "warn", lambda message: None)
            with contextlib.suppress(SitegenError):
                s.close()


def png(address: str, size: tuple[int, int] = (32, 24)) -> bytes:
    """A small PNG whose colour derives from the address."""
    from PIL import Image

    digest = hashlib.sha256(address.encode()).digest()
    out = io.BytesIO()
    Image.new("RGB", size, (digest[0], digest[1], digest[2])).save(out, "PNG")
    return out.getvalue()


def render_into(store: Any, address: str, data: bytes | None = None,
                fingerprint: str = "fp", widths: tuple[int, ...] = ()) -> str:
    """What the local pool does: a picture at path_of, its companions (thumbnail, copies at
    `widths`), then record()."""
    data = data if data is not None else png(address)
    path = store.path_of(address)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    make_companions(path, address, store.path_of, widths)
    sha = hashlib.sha256(data).hexdigest()
    store.remember_quality("preview", {"samples": 4})
    store.record(address, fingerprint, {"blend": "b1"}, sha, len(data), 1.5, "5.0.1")
    return sha


def keys(s3: Any, bucket: str, prefix: str = "") -> set[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {o["Key"][len(prefix):] for page in pages for o in page.get("Contents", [])}


def bucket_index(s3: Any, bucket: str, key: str = "renders/index.sqlite") -> dict[str, Any]:
    """The index object's rows and qualities, read with sqlite3 from its bytes."""
    import sqlite3

    db = sqlite3.connect(":memory:")
    db.deserialize(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    rows = {r[0]: r for r in db.execute("SELECT address, sha256, fingerprint, rendered_at "
                                        "FROM renders")}
    qualities = dict(db.execute("SELECT id, settings FROM qualities").fetchall())
    return {"rows": rows, "qualities": qualities}


# -- locations ----------------------------------------------------------------------------


def test_locations() -> None:
    assert parse_location("s3://my-bucket") == ("my-bucket", "")
    assert parse_location("s3://my-bucket/") == ("my-bucket", "")
    assert parse_location("s3://my-bucket/renders") == ("my-bucket", "renders/")
    assert parse_location("s3://my.bucket/a/b/") == ("my.bucket", "a/b/")
    for bad, message in [("s3://My_Bucket/x", "is not a bucket name"),
                         ("s3://b/x", "is not a bucket name"),
                         ("s3://bucket/a//b", "plain folder names"),
                         ("s3://bucket/../x", "plain folder names"),
                         ("s3://bucket/x?versionId=1", "give a folder or s3://"),
                         ("gs://bucket/x", "give a folder or s3://")]:
        with pytest.raises(SitegenError, match=message.replace("?", r"\?")):
            open_store(bad)


def test_open_store_reads_the_endpoint_and_cache_from_the_environment(
        aws: Path, endpoint: str) -> None:
    store = open_store("s3://some-bucket/r/x")
    assert isinstance(store, S3Store) and not isinstance(store, FolderStore)
    assert (store.bucket, store.prefix, store.endpoint_url) == ("some-bucket", "r/x/", endpoint)
    assert store.region == "us-east-1"
    assert store.path_of(FRONT).is_relative_to(aws)
    assert store.path_of(FRONT).as_posix().endswith(f"/some-bucket/r/x/{FRONT}")
    assert isinstance(open_store("renders"), FolderStore)


# -- pictures and the index ---------------------------------------------------------------


def test_sized_copies_go_up_with_their_picture_and_come_back_on_fetch(
        store: Callable[..., S3Store], s3: Any, bucket: str) -> None:
    here = store()
    render_into(here, FRONT, widths=(16, 8))
    here.close()
    sized = [sized_address(FRONT, w) for w in (8, 16)]
    assert keys(s3, bucket) == {f"renders/{n}" for n in
                                (FRONT, thumb_address(FRONT), *sized, "index.sqlite")}
    there = store()
    assert there.fetch_pictures([FRONT], widths=[16, 8]) == 1
    assert all(there.path_of(n).is_file() for n in (thumb_address(FRONT), *sized))
    there.path_of(sized[0]).unlink()  # a companion missing here: fetched, not the picture
    assert there.fetch_pictures([FRONT], widths=[16, 8]) == 0
    assert there.path_of(sized[0]).is_file()
    # A width the bucket does not hold is no error (the quality may have gained it since).
    assert there.fetch_pictures([FRONT], widths=[16, 8, 4]) == 0


def test_record_uploads_then_indexes_and_another_machine_reads_it(
        store: Callable[..., S3Store], s3: Any, bucket: str) -> None:
    here = store()
    assert here.stored() == {} and not here.has_index() and list(here.records()) == []
    shas = {a: render_into(here, a) for a in (FRONT, SIDE)}
    here.close()
    assert keys(s3, bucket) == {f"renders/{n}" for n in
                                (FRONT, SIDE, thumb_address(FRONT), thumb_address(SIDE),
                                 "index.sqlite")}
    head = s3.head_object(Bucket=bucket, Key=f"renders/{FRONT}")
    assert head["Metadata"]["sha256"] == shas[FRONT] and head["ContentType"] == "image/png"
    thumb = s3.get_object(Bucket=bucket, Key=f"renders/{thumb_address(FRONT)}")
    assert thumb["ContentType"] == "image/webp"
    assert thumb["Metadata"]["sha256"] == hashlib.sha256(thumb["Body"].read()).hexdigest()

    there = store()  # another machine: another cache
    assert there.has_index()
    stored = there.stored()
    assert set(stored) == {FRONT, SIDE} and there.stored("hires") == {}
    assert stored[FRONT].fingerprint == "fp" and dict(stored[FRONT].inputs) == {"blend": "b1"}
    (record, _) = sorted(there.records(), key=lambda r: r.address)
    assert (record.address, record.sha256, record.bytes, record.seconds, record.blender) == (
        FRONT, shas[FRONT], len(png(FRONT)), 1.5, "5.0.1")
    assert there.quality_settings("preview") == {"samples": 4}
    assert there.quality_settings("hires") is None
    assert there.exists(FRONT) and there.exists(thumb_address(FRONT))
    assert not there.exists(OTHER)

    assert not there.path_of(FRONT).exists()
    assert there.fetch_pictures([FRONT, SIDE]) == 2
    assert there.path_of(FRONT).read_bytes() == png(FRONT)
    assert there.path_of(thumb_address(FRONT)).is_file()
    assert there.fetch_pictures([FRONT, SIDE]) == 0  # the cache matches the index
    there.path_of(SIDE).write_bytes(b"damaged")
    assert there.fetch_pictures([FRONT, SIDE]) == 1
    assert there.path_of(SIDE).read_bytes() == png(SIDE)
    with pytest.raises(SitegenError, match="not in the index"):
        there.fetch_pictures([OTHER])


def test_a_picture_put_by_a_farm_worker_is_indexed_not_uploaded_again(
        store: Callable[..., S3Store], s3: Any, bucket: str, tmp_path: Path) -> None:
    worker, host = store(), store()
    rendered = tmp_path / "scratch.png"
    rendered.write_bytes(png(FRONT))
    worker.put_file(FRONT, rendered)
    assert worker.read_file(FRONT) == png(FRONT) and worker.read_file(OTHER) is None
    # An older picture of that address in the host's cache must not be uploaded over it.
    host.path_of(FRONT).parent.mkdir(parents=True)
    host.path_of(FRONT).write_bytes(b"an older render")
    sha = hashlib.sha256(png(FRONT)).hexdigest()
    host.record(FRONT, "fp", {}, sha, len(png(FRONT)), 1.0, None)
    host.flush()
    assert s3.get_object(Bucket=bucket, Key=f"renders/{FRONT}")["Body"].read() == png(FRONT)
    assert bucket_index(s3, bucket)["rows"][FRONT][1] == sha

    host.record(OTHER, "fp", {}, sha, 1, 1.0, None)  # neither here nor in the bucket
    with pytest.raises(SitegenError, match=f"cannot index {OTHER}: no such picture"):
        host.flush()
    worker.put_file(SIDE, tmp_path / "scratch.png")
    s3.copy_object(Bucket=bucket, Key=f"renders/{SIDE}", MetadataDirective="REPLACE",
                   CopySource={"Bucket": bucket, "Key": f"renders/{SIDE}"},
                   Metadata={"sha256": "0" * 64})
    host.record(SIDE, "fp", {}, sha, 1, 1.0, None)
    with pytest.raises(SitegenError, match="holds another picture there"):
        host.flush()
    assert set(bucket_index(s3, bucket)["rows"]) == {FRONT}


def test_two_runs_writing_the_index_lose_nothing(
        store: Callable[..., S3Store], s3: Any, bucket: str) -> None:
    first, second = store(), store()
    assert first.stored() == second.stored() == {}  # both have read the (missing) index
    render_into(first, FRONT)
    render_into(second, SIDE)
    second.remember_quality("preview", {"samples": 99})  # the settings written first stay
    second.remember_quality("hires", {"samples": 64})
    first.close()  # the first index: If-None-Match: *
    second.close()  # refused, merged onto the first's, written again
    index = bucket_index(s3, bucket)
    assert set(index["rows"]) == {FRONT, SIDE}
    assert index["qualities"] == {"preview": '{"samples": 4}', "hires": '{"samples": 64}'}

    # Both read that index; both change the same picture; the later render wins.
    first, second = store(), store()
    assert set(first.stored()) == set(second.stored()) == {FRONT, SIDE}
    render_into(second, OTHER, png(OTHER, (8, 8)), fingerprint="older")
    second.flush()
    time.sleep(1.1)  # rendered_at has seconds
    render_into(first, OTHER, png(OTHER, (9, 9)), fingerprint="newer")
    render_into(first, "preview/kino/side/frame-1128_top-1140.png")
    first.flush()  # If-Match the index it read: refused, merged, written
    render_into(second, "preview/kino/front/frame-1140_top-1140.png")
    second.close()
    first.close()
    rows = bucket_index(s3, bucket)["rows"]
    assert set(rows) == {FRONT, SIDE, OTHER, "preview/kino/side/frame-1128_top-1140.png",
                         "preview/kino/front/frame-1140_top-1140.png"}
    assert rows[OTHER][2] == "newer"
    assert rows[OTHER][1] == hashlib.sha256(png(OTHER, (9, 9))).hexdigest()


def test_the_index_is_written_while_a_run_goes_on(
        store: Callable[..., S3Store], s3: Any, bucket: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    run = store()
    with run.lock("pytest"):
        monkeypatch.setattr(s3_store, "SYNC_SECONDS", 0.0)
        render_into(run, FRONT)
        assert set(bucket_index(s3, bucket)["rows"]) == {FRONT}  # a run killed now keeps it
        monkeypatch.setattr(s3_store, "SYNC_SECONDS", 3600.0)
        monkeypatch.setattr(s3_store, "SYNC_RECORDS", 2)
        render_into(run, SIDE)
        assert set(bucket_index(s3, bucket)["rows"]) == {FRONT}
        render_into(run, OTHER)
        assert set(bucket_index(s3, bucket)["rows"]) == {FRONT, SIDE, OTHER}
        render_into(run, "preview/kino/side/frame-1128_top-1140.png")
    # Releasing the lock waits for the uploads and writes the index.
    assert len(bucket_index(s3, bucket)["rows"]) == 4


def test_an_index_copied_from_a_store_folder_is_read(
        store: Callable[..., S3Store], s3: Any, bucket: str, tmp_path: Path) -> None:
    folder = FolderStore(tmp_path / "renders")
    render_into(folder, FRONT)
    folder.close()
    for path in (tmp_path / "renders").rglob("*"):  # what `aws s3 sync` would copy
        if path.is_file():
            s3.upload_file(str(path), bucket, "renders/" + path.relative_to(
                tmp_path / "renders").as_posix())
    copied = store()
    assert set(copied.stored()) == {FRONT}
    render_into(copied, SIDE)
    copied.close()
    assert set(bucket_index(s3, bucket)["rows"]) == {FRONT, SIDE}
    s3.put_object(Bucket=bucket, Key="renders/index.sqlite", Body=b"not a database")
    with pytest.raises(SitegenError, match="is not an SQLite database"):
        store().stored()


# -- the lock -----------------------------------------------------------------------------


def test_the_lock_refuses_a_second_holder_naming_the_first(
        store: Callable[..., S3Store], s3: Any, bucket: str) -> None:
    first, second = store(), store()
    with first.lock("pytest holding it"):
        assert "renders/.lock" in keys(s3, bucket)
        with pytest.raises(SitegenError) as refused, second.lock("sitegen render"):
            pass
        message = str(refused.value)
        assert (f"s3://{bucket}/renders/ is locked by another run: pid {os.getpid()} on "
                f"{socket.gethostname()} (pytest holding it, since ") in message
        assert f"delete s3://{bucket}/renders/.lock" in message
    assert "renders/.lock" not in keys(s3, bucket)
    with second.lock("sitegen render"):
        pass


def lock_body(pid: int, host: str | None = None) -> bytes:
    return json.dumps({"pid": pid, "host": host or socket.gethostname(),
                       "pidns": pid_namespace(), "what": "sitegen render",
                       "since": "2026-01-01T00:00:00"}).encode()


def test_a_lock_of_a_dead_process_here_or_a_stale_one_is_broken(
        store: Callable[..., S3Store], s3: Any, bucket: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    s3.put_object(Bucket=bucket, Key="renders/.lock", Body=lock_body(int(gone.stdout)))
    messages: list[str] = []
    taker = store()
    taker.warn = messages.append
    with taker.lock("sitegen render"):
        holder = json.loads(s3.get_object(Bucket=bucket, Key="renders/.lock")["Body"].read())
        assert holder["pid"] == os.getpid()
    assert messages == [f"breaking the lock of s3://{bucket}/renders/: pid {gone.stdout.strip()} "
                        f"on {socket.gethostname()} (sitegen render, since "
                        "2026-01-01T00:00:00) (that process is gone)"]

    # Another machine's lock is not broken while it is renewed ...
    s3.put_object(Bucket=bucket, Key="renders/.lock", Body=lock_body(1, "elsewhere"))
    refused = pytest.raises(SitegenError, match="locked by another run: pid 1 on elsewhere")
    with refused, taker.lock("sitegen render"):
        pass
    # ... and is once it is older than stale_seconds.
    monkeypatch.setattr(S3Store, "stale_seconds", -1.0)
    with taker.lock("sitegen render"):
        pass
    assert "pid 1 on elsewhere" in messages[-1] and "(not renewed for" in messages[-1]


def test_the_lock_is_renewed_and_a_broken_one_is_left_alone(
        store: Callable[..., S3Store], s3: Any, bucket: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(S3Store, "heartbeat_seconds", 0.05)
    holder = store()
    messages: list[str] = []
    holder.warn = messages.append
    with holder.lock("sitegen render"):
        time.sleep(0.3)  # a few renewals: still ours
        assert not messages
        s3.put_object(Bucket=bucket, Key="renders/.lock", Body=lock_body(1, "elsewhere"))
        time.sleep(0.3)
    assert messages and "was broken by another run" in messages[0]
    taken = s3.get_object(Bucket=bucket, Key="renders/.lock")["Body"].read()
    assert taken == lock_body(1, "elsewhere")  # not released: not ours any more


class IgnoresConditions:
    """An S3 client that drops If-Match and If-None-Match, as some endpoints do."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def put_object(self, **kwargs: Any) -> Any:
        kwargs.pop("IfMatch", None)
        kwargs.pop("IfNoneMatch", None)
        return self.client.put_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def test_an_endpoint_without_conditional_writes_is_refused(
        store: Callable[..., S3Store], s3: Any, bucket: str) -> None:
    careless = store(client=IgnoresConditions(s3))
    refused = pytest.raises(SitegenError, match="ignored If-None-Match: a render store needs "
                            "S3 conditional writes")
    with refused, careless.lock("sitegen render"):
        pass
    assert "renders/.lock" not in keys(s3, bucket)


# -- blobs and rebuild --------------------------------------------------------------------


def test_blobs_are_stored_once_and_fetched_checked(
        store: Callable[..., S3Store], s3: Any, bucket: str, tmp_path: Path) -> None:
    source = tmp_path / "kino.blend"
    source.write_bytes(b"BLENDER-v500 kino")
    sha = hashlib.sha256(source.read_bytes()).hexdigest()
    host = store()
    host.put_blob(source, sha)
    first = s3.head_object(Bucket=bucket, Key=f"renders/_blobs/{sha}")
    host.put_blob(source, sha)  # already there: not uploaded again
    assert s3.head_object(Bucket=bucket, Key=f"renders/_blobs/{sha}")["ETag"] == first["ETag"]

    worker = store()
    cache = tmp_path / "worker-cache"
    assert worker.fetch_blob(sha, cache).read_bytes() == source.read_bytes()
    s3.delete_object(Bucket=bucket, Key=f"renders/_blobs/{sha}")
    assert worker.fetch_blob(sha, cache) == cache / sha  # from the cache, no request
    with pytest.raises(SitegenError, match=f"input file {'0' * 64} is not in s3://"):
        worker.fetch_blob("0" * 64, cache)
    s3.put_object(Bucket=bucket, Key=f"renders/_blobs/{'1' * 64}", Body=b"tampered")
    with pytest.raises(SitegenError, match="is not the file expected"):
        worker.fetch_blob("1" * 64, cache)
    assert not list(cache.glob(f"*{'1' * 64}*"))  # no partial file left


def test_rebuild_indexes_the_pictures_in_the_bucket(
        store: Callable[..., S3Store], s3: Any, bucket: str, tmp_path: Path) -> None:
    run = store()
    shas = {a: render_into(run, a) for a in (FRONT, SIDE, OTHER)}
    blob = tmp_path / "blob"
    blob.write_bytes(b"texture")
    run.put_blob(blob, hashlib.sha256(b"texture").hexdigest())
    run.close()
    by_hand = "preview/kino/side/frame-1140_top-1140.png"  # no sha256 metadata
    s3.put_object(Bucket=bucket, Key=f"renders/{by_hand}", Body=png(by_hand))
    s3.put_object(Bucket=bucket, Key=f"renders/_receipts/{FRONT}.json", Body=b"{}")
    s3.delete_object(Bucket=bucket, Key=f"renders/{OTHER}")  # indexed, but gone

    rebuilt = store()
    with rebuilt.lock("sitegen index rebuild"):
        assert rebuilt.rebuild_index("5.0.1") == 3
    index = bucket_index(s3, bucket)
    assert set(index["rows"]) == {FRONT, SIDE, by_hand}
    assert {a: r[1] for a, r in index["rows"].items()} == {
        FRONT: shas[FRONT], SIDE: shas[SIDE], by_hand: hashlib.sha256(png(by_hand)).hexdigest()}
    assert {r[2] for r in index["rows"].values()} == {None}  # fingerprints unknown
    assert index["qualities"] == {"preview": '{"samples": 4}'}


# -- the commands -------------------------------------------------------------------------


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def catalog_dir(make_catalog: Callable[..., Path]) -> Path:
    return make_catalog({"catalog.yaml": base_catalog()})


def synthetic(catalog_dir: Path) -> list[str]:
    """Every other wanted picture of the test catalog, with each product's defaults."""
    catalog, _ = load_catalog(catalog_dir)
    wanted = list(wanted_renders(catalog))
    return sorted({w.address for n, w in enumerate(wanted) if n % 2 == 0 or w.default})


def fill(stores: list[Any], addresses: list[str]) -> None:
    for s in stores:
        for address in addresses:
            render_into(s, address, fingerprint="not the catalog's")
        s.close()


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_build_status_validate_and_rebuild_from_an_s3_store(
        catalog_dir: Path, aws: Path, bucket: str) -> None:
    addresses = synthetic(catalog_dir)
    location = f"s3://{bucket}/renders"
    fill([FolderStore(Path("renders")), open_store(location)], addresses)
    cat = ["--catalog", str(catalog_dir)]

    for out, renders in (("site-folder", "renders"), ("site-s3", location),
                         ("site-empty", "nothing")):
        built = invoke(*cat, "build", "--out", out, "--renders", renders)
        assert built.exit_code == 0, built.output
    assert tree(Path("site-s3")) == tree(Path("site-folder")) != tree(Path("site-empty"))

    folder = invoke(*cat, "status", "--json", "--renders", "renders")
    from_s3 = invoke(*cat, "status", "--json", "--renders", location)
    assert from_s3.exit_code == 0, from_s3.output
    assert from_s3.output == folder.output
    totals = json.loads(from_s3.output.splitlines()[-1])["totals"]
    assert totals["stale"] == len(addresses) and totals["missing"] > 0

    # The synthetic pictures were recorded with other quality settings: both refuse.
    folder, from_s3 = (CliRunner().invoke(cli, [*cat, "validate", "--renders", r])
                       for r in ("renders", location))
    assert from_s3.exit_code == folder.exit_code == 1
    assert from_s3.output == folder.output and "preview" in from_s3.output
    rebuilt = invoke("index", "rebuild", "--renders", location)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert f"indexed {len(addresses)} picture(s) in {location}" in rebuilt.output
    totals = json.loads(invoke(*cat, "status", "--json", "--renders", location)
                        .output.splitlines()[-1])["totals"]
    assert (totals["unknown"], totals["ready"], totals["stale"]) == (
        len(addresses), len(addresses), 0)


def test_a_locked_s3_store_refuses_render_and_rebuild(
        catalog_dir: Path, aws: Path, bucket: str) -> None:
    location = f"s3://{bucket}/renders"
    with open_store(location).lock("pytest holding it"):
        for args in (("--catalog", str(catalog_dir), "render", "--workers", "1"),
                     ("index", "rebuild")):
            result = CliRunner().invoke(cli, [*args, "--renders", location])
            assert result.exit_code == 1
            assert (f"{location}/ is locked by another run: pid {os.getpid()} on "
                    in result.output), result.output


@pytest.mark.parametrize("case", ["no such bucket", "no credentials", "unreachable"])
def test_s3_failures_say_what_to_do(case: str, catalog_dir: Path, aws: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    location = "s3://sg-missing-bucket/renders"
    expected = "bucket 'sg-missing-bucket' does not exist at http://127.0.0.1:"
    if case == "no credentials":
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
        expected = f"no AWS credentials found for {location}/: set AWS_ACCESS_KEY_ID"
    elif case == "unreachable":
        with socket.socket() as free:  # a port nothing listens on
            free.bind(("127.0.0.1", 0))
            port = free.getsockname()[1]
        monkeypatch.setenv("SITEGEN_S3_ENDPOINT_URL", f"http://127.0.0.1:{port}")
        expected = f"cannot reach http://127.0.0.1:{port} while reading {location}/index.sqlite"
    result = CliRunner().invoke(cli, ["--catalog", str(catalog_dir), "status", "--renders",
                                      location])
    assert result.exit_code == 1, result.output
    assert expected in result.output and "Traceback" not in result.output


def test_publish_from_an_s3_store_once_its_pictures_are_fetched(
        catalog_dir: Path, aws: Path, bucket: str, s3: Any, endpoint: str) -> None:
    addresses = synthetic(catalog_dir)
    location = f"s3://{bucket}/renders"
    fill([open_store(location)], addresses)
    shutil.rmtree(aws)  # publish from another machine: nothing in the local cache
    cat = ["--catalog", str(catalog_dir)]
    assert invoke(*cat, "build", "--out", "site", "--renders", location).exit_code == 0
    # What `sitegen publish` must do first with an S3 store (see the module's docstring).
    assert open_store(location).fetch_pictures(addresses) == len(addresses)
    site_bucket = f"sg-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=site_bucket)
    published = invoke(*cat, "publish", "--bucket", site_bucket, "--endpoint-url", endpoint,
                       "--out", "site", "--renders", location)
    assert published.exit_code == 0, published.output
    held = keys(s3, site_bucket, "renders/")
    assert held == set(addresses) | {thumb_address(a) for a in addresses}
    for address in addresses:
        got = s3.get_object(Bucket=site_bucket, Key=f"renders/{address}")["Body"].read()
        assert got == png(address)


def test_publish_from_an_s3_store_with_a_cold_cache(
        catalog_dir: Path, aws: Path, bucket: str, s3: Any, endpoint: str) -> None:
    addresses = synthetic(catalog_dir)
    location = f"s3://{bucket}/renders"
    fill([open_store(location)], addresses)
    shutil.rmtree(aws)
    cat = ["--catalog", str(catalog_dir)]
    assert invoke(*cat, "build", "--out", "site", "--renders", location).exit_code == 0
    site_bucket = f"sg-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=site_bucket)
    published = CliRunner().invoke(cli, [*cat, "publish", "--bucket", site_bucket,
                                         "--endpoint-url", endpoint, "--out", "site",
                                         "--renders", location])
    assert published.exit_code == 0, published.output


def test_publish_delete_refuses_to_remove_the_store_it_reads(
        catalog_dir: Path, aws: Path, bucket: str, s3: Any, endpoint: str) -> None:
    addresses = synthetic(catalog_dir)
    location = f"s3://{bucket}/renders"
    fill([open_store(location)], addresses)
    cat = ["--catalog", str(catalog_dir)]
    assert invoke(*cat, "build", "--out", "site", "--renders", location).exit_code == 0
    published = CliRunner().invoke(cli, [*cat, "publish", "--bucket", bucket, "--delete",
                                         "--endpoint-url", endpoint, "--out", "site",
                                         "--renders", location])
    assert published.exit_code == 1
    assert "--delete would remove its index" in published.output
    assert "index.sqlite" in keys(s3, bucket, "renders/")


# -- real renders -------------------------------------------------------------------------


@pytest.mark.blender
def test_render_into_an_s3_store_with_blender(
        blender_scenes: Path, tmp_path: Path, aws: Path, s3: Any, bucket: str) -> None:
    from test_render import ALL, by_event, events, make_project

    project = make_project(tmp_path / "project", blender_scenes)
    location = f"s3://{bucket}/renders"
    command = [sys.executable, "-m", "sitegen", "--catalog", str(project.cat)]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*command, *args, "--renders", location], capture_output=True,
                              text=True, timeout=300, env=project.env(), cwd=project.root,
                              check=False)

    result = run("render", "--workers", "2", "--threads", "1", "--device", "cpu", "--json")
    assert result.returncode == 0, result.stderr
    assert {e["address"] for e in by_event(events(result), "rendered")} == ALL
    held = keys(s3, bucket, "renders/")
    assert held == ALL | {thumb_address(a) for a in ALL} | {"index.sqlite"}  # no lock left
    rows = bucket_index(s3, bucket)["rows"]
    assert set(rows) == ALL
    for address, row in rows.items():
        data = s3.get_object(Bucket=bucket, Key=f"renders/{address}")["Body"].read()
        assert hashlib.sha256(data).hexdigest() == row[1]
    status = run("status", "--json")
    totals = json.loads(status.stdout.splitlines()[-1])["totals"]
    assert (totals["wanted"], totals["ready"], totals["missing"]) == (14, 14, 0)
    again = run("render", "--device", "cpu", "--json")
    assert again.returncode == 0, again.stderr
    assert events(again)[0]["render"] == 0
