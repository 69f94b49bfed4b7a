"""The render store in an S3 bucket (`--renders s3://bucket/prefix`): a RenderStore.

Under the prefix, the names of a store folder:

    <quality>/<model>/<view>/<key>.<ext>   pictures (metadata x-amz-meta-sha256: their SHA-256)
    <quality>/<model>/<view>/<key>.thumb.webp   thumbnails (the same metadata)
    _blobs/<sha256>                        input files by content hash, for farm workers
    index.sqlite                           the index (FolderStore's schema)
    .lock                                  the write lock, while a run holds it

Pictures are written here first. `path_of(address)` is a path in a local folder, the
store's cache (`sitegen.cache.cache_dir()`, then `s3/<endpoint host or aws>/<bucket>/
<prefix>`): a worker writes its picture there and the host its thumbnail, as into a store
folder. `record()` then uploads the picture and its thumbnail (in background threads) and
indexes the picture once both are in the bucket, so that an index row always has its
object and callers do not change.
A picture rendered elsewhere and put into the bucket with `put_file()` (a farm worker)
is not uploaded again: `record()` checks the bucket holds it, with that SHA-256. The
local copies stay as a cache for `fetch_pictures` (which a publish from the bucket needs);
the cache folder may be deleted whenever no run uses it.

The index is an SQLite database in memory, read from the bucket on first use and written
back by `sync()`: every SYNC_SECONDS or SYNC_RECORDS records, when the lock is released,
on `close()`, and at exit. Each write is conditional, and merged with what another run
wrote in between: no update is lost, lock or not (index.py). The endpoint must honour
conditional writes (AWS S3 does since 2024; MinIO and Cloudflare R2 do too): taking the
lock checks it, and refuses to go on where they are ignored.

The lock is an object created with If-None-Match: *, holding who and since when, renewed
by a thread every `heartbeat_seconds`; one not renewed for `stale_seconds`, or held by a
process of this machine that is gone, is broken with a message (lock.py).

The parts: objects.py (conditional object I/O under the prefix), uploads.py (the upload
queue), index.py (the index and its merge), lock.py (the lock); the client and its error
mapping are sitegen/s3_client.py, shared with publish.

Which S3: the endpoint is `$SITEGEN_S3_ENDPOINT_URL`, else `$AWS_ENDPOINT_URL_S3` or
`$AWS_ENDPOINT_URL`, else AWS; the region `$AWS_DEFAULT_REGION` (else the AWS
configuration); the credentials are the usual AWS ones. The index is trusted for what is
stored (no request per picture): after objects were deleted by hand, run
`sitegen index rebuild`.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import os
import re
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sitegen.cache import cache_dir, file_sha256
from sitegen.errors import SitegenError
from sitegen.store.folder import (
    BLOBS,
    FolderStore,
    companion_addresses,
    companion_files,
    is_picture_name,
    select_quality,
    select_records,
    select_stored,
)
from sitegen.store.protocol import RenderStore
from sitegen.store.records import Record, Stored
from sitegen.store.s3.index import BucketIndex
from sitegen.store.s3.lock import BucketLock
from sitegen.store.s3.objects import SHA_META, BucketObjects, Conflict
from sitegen.store.s3.uploads import UploadQueue

CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp",
                 "avif": "image/avif", "json": "application/json"}
SYNC_SECONDS = 60.0  # the index is written at least this often while records arrive
SYNC_RECORDS = 1000  # ... and after this many records
UPLOAD_THREADS = 8
IN_FLIGHT = 64  # uploads queued before `record()` waits for the oldest
BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def parse_location(location: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` -> ("bucket", "some/prefix/"); `s3://bucket` -> ("bucket", "")."""
    parts = urlsplit(location)
    if parts.scheme != "s3" or parts.query or parts.fragment:
        raise SitegenError(f"unsupported store location {location!r}: give a folder or "
                           "s3://bucket/prefix")
    if not BUCKET_RE.fullmatch(parts.netloc):
        raise SitegenError(f"store location {location!r}: {parts.netloc!r} is not a bucket "
                           "name (3-63 characters: lower-case letters, digits, '.', '-')")
    stripped = parts.path.strip("/")
    if not stripped:
        return parts.netloc, ""
    if any(p in ("", ".", "..") for p in stripped.split("/")):
        raise SitegenError(f"store location {location!r}: the prefix must be plain folder "
                           "names joined by '/' (no '.', '..' or '//')")
    return parts.netloc, stripped + "/"


def endpoint_from_env() -> str | None:
    """The S3 endpoint the environment names, if any (else AWS)."""
    for name in ("SITEGEN_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"):
        if os.environ.get(name):
            return os.environ[name]
    return None


def open_s3_store(location: str) -> S3Store:
    """The S3 store at `s3://bucket/prefix`, with the endpoint and region of the environment."""
    bucket, prefix = parse_location(location)
    return S3Store(bucket, prefix, endpoint_url=endpoint_from_env(),
                   region=os.environ.get("AWS_DEFAULT_REGION") or None)


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class S3Store:
    """Pictures, thumbnails, blobs, index and lock in a bucket; `root` is the local cache.

    A remote store: `path_of` is where a picture is written before it goes to the bucket,
    not where the store keeps it.
    """

    remote = True
    # Class attributes, so that a test can shorten them.
    heartbeat_seconds = 120.0
    stale_seconds = 1800.0

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None,
                 region: str | None = None, cache: Path | None = None,
                 client: Any = None) -> None:
        where = urlsplit(endpoint_url).netloc.replace(":", "_") if endpoint_url else "aws"
        self.root = (cache or cache_dir()) / "s3" / where / bucket / prefix
        self.bucket = bucket
        self.prefix = prefix
        self.endpoint_url = endpoint_url
        self.region = region
        self.warn: Callable[[str], None] = _to_stderr  # messages for the user (broken locks)
        self._objects = BucketObjects(bucket, prefix, endpoint_url=endpoint_url, region=region,
                                      connections=UPLOAD_THREADS + 4, client=client)
        self._index = BucketIndex(self._objects)
        self._uploads = UploadQueue(UPLOAD_THREADS)
        self._last_sync = time.monotonic()
        self._since_sync = 0
        self._at_exit = False
        self._conditions_checked = False

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def __repr__(self) -> str:
        return f"S3Store({self.url!r})"

    @property
    def client(self) -> Any:
        """A boto3 S3 client, made on first use (credentials are read then)."""
        return self._objects.client

    @property
    def db(self) -> sqlite3.Connection:
        """The index, read from the bucket on first use."""
        return self._index.db

    # -- files ---------------------------------------------------------------------------

    def path_of(self, address: str) -> Path:
        """The local path of an address: where a picture is written, then uploaded from."""
        return self.root / address

    def exists(self, address: str) -> bool:
        """Whether the bucket holds this object (one request)."""
        return self._objects.head(address) is not None

    def remove_temporaries(self, folders: Iterable[Path]) -> int:
        """Delete leftover temporary files (from a killed render) in these local folders."""
        return FolderStore(self.root).remove_temporaries(list(folders))

    def check_space(self, folder: Path | None = None) -> None:
        """Raise EnvironmentFailure when the local folder pictures are written into before
        their upload cannot take one now."""
        FolderStore(self.root).check_space(folder)

    def remove_unindexed(self, addresses: Iterable[str]) -> int:
        """Nothing is removed from the bucket: an object whose row a crash lost is only
        overwritten when it is rendered again (or adopted by `sitegen index rebuild`)."""
        return 0

    def put_file(self, name: str, source: Path) -> None:
        """Put a local file under a name in the store (one PUT: all or nothing)."""
        ext = name.rsplit(".", 1)[-1]
        try:
            sha256 = file_sha256(source)
            with source.open("rb") as body:
                self._objects.put(name, body, Metadata={SHA_META: sha256},
                                  ContentType=CONTENT_TYPES.get(ext, "application/octet-stream"))
        except OSError as exc:
            raise SitegenError(f"cannot read {source}: {exc.strerror}") from None

    def read_file(self, name: str) -> bytes | None:
        """The bytes under a name in the store; None when there is nothing."""
        return self._objects.read(name)

    def stored_sha256(self, name: str) -> str | None:
        """The SHA-256 kept in an object's metadata; None when there is no object."""
        answer = self._objects.head(name)
        return None if answer is None else answer.get("Metadata", {}).get(SHA_META)

    def fetch_pictures(self, addresses: Iterable[str], jobs: int = UPLOAD_THREADS,
                       widths: Sequence[int] = ()) -> int:
        """Local copies at `path_of()` of indexed pictures and their companions (thumbnail,
        copies at `widths`: those the bucket holds); how many pictures were downloaded (a
        copy matching the index's SHA-256 is kept, with its companions)."""
        self._uploads.settle()
        wanted = {}
        for address in addresses:
            row = self.db.execute("SELECT sha256 FROM renders WHERE address = ?",
                                  (address,)).fetchone()
            if row is None:
                raise SitegenError(f"{address} is not in the index of {self.url}")
            wanted[address] = str(row[0])

        def fetch(address: str) -> int:
            path = self.path_of(address)
            companions = companion_addresses(address, widths)
            if path.is_file() and file_sha256(path) == wanted[address]:
                if all(self.path_of(name).is_file() for name in companions):
                    return 0
                fetched = 0
            elif self._objects.download(address, path, wanted[address]) is None:
                raise SitegenError(f"{self.url}{address} is missing, though indexed: run "
                                   "`sitegen index rebuild`")
            else:
                fetched = 1
                for name in companions:
                    self.path_of(name).unlink(missing_ok=True)  # an older picture's
            for name in companions:
                if not self.path_of(name).is_file():
                    self._objects.download(name, self.path_of(name))
            return fetched

        with ThreadPoolExecutor(jobs) as pool:
            return sum(pool.map(fetch, wanted))

    # -- blobs ---------------------------------------------------------------------------

    def put_blob(self, path: Path, sha256: str) -> None:
        """Keep a copy of an input file under its content hash in the bucket (once)."""
        name = f"{BLOBS}/{sha256}"
        if self._objects.head(name) is not None:
            return
        try:
            with path.open("rb") as body:
                self._objects.put(name, body, if_none_match=True, Metadata={SHA_META: sha256})
        except Conflict:
            pass  # someone else put it meanwhile: the same bytes
        except OSError as exc:
            raise SitegenError(f"cannot read {path}: {exc.strerror}") from None

    def fetch_blob(self, sha256: str, cache: Path) -> Path:
        """A local copy of a blob, in `cache` (kept there for the next job), checked."""
        target = cache / sha256
        if (not target.is_file()
                and self._objects.download(f"{BLOBS}/{sha256}", target, sha256) is None):
            raise SitegenError(f"input file {sha256} is not in {self.url}{BLOBS}/: the run "
                               "that queued the job stores it first (put_blob)")
        return target

    # -- uploads, then rows --------------------------------------------------------------

    def _upload_picture(self, address: str, sha256: str) -> None:
        """Upload the picture at `path_of(address)` and its companions when it is the one
        being indexed; else (rendered elsewhere and put there) check the bucket holds it."""
        picture = self.path_of(address)
        try:
            if picture.is_file() and file_sha256(picture) == sha256:
                # Its companions first: once the picture is there, so are its thumbnail
                # and sized copies.
                for name, path in companion_files(address, self.path_of).items():
                    self.put_file(name, path)
                self.put_file(address, picture)
                return
        except OSError as exc:
            raise SitegenError(f"cannot read {exc.filename}: {exc.strerror}") from None
        head = self._objects.head(address)
        if head is None:
            raise SitegenError(f"cannot index {address}: no such picture at {picture} or in "
                               f"{self.url}")
        held = head.get("Metadata", {}).get(SHA_META)
        if held is not None and held != sha256:
            raise SitegenError(f"cannot index {address}: {self.url} holds another picture "
                               f"there (SHA-256 {held}, not {sha256})")

    def _changed_now(self) -> None:
        if not self._at_exit:
            atexit.register(self._close_at_exit)
            self._at_exit = True

    def record(self, address: str, fingerprint: str | None, inputs: Mapping[str, str],
               sha256: str, size: int, seconds: float | None, blender: str | None) -> None:
        """Upload the picture at `path_of(address)` and its thumbnail, then index it.

        The upload runs in the background; the row is added once it is done (at a later
        call, or `flush()` / `close()`), so an index row always has its object. Every
        SYNC_SECONDS or SYNC_RECORDS, the uploads are waited for and the index written.
        """
        if address.count("/") != 3:  # what FolderStore.record would refuse, before uploading
            raise SitegenError(f"not a store address: {address!r}")
        inputs = dict(inputs)

        def then() -> None:
            self._index.insert(address, fingerprint, inputs, sha256, size, seconds, blender)

        self._changed_now()
        self._uploads.submit(lambda: self._upload_picture(address, sha256), then)
        self._since_sync += 1
        self._uploads.drain(IN_FLIGHT)
        if (self._since_sync >= SYNC_RECORDS
                or time.monotonic() - self._last_sync >= SYNC_SECONDS):
            # With this picture too: after a slow render, a killed run keeps it.
            self.flush()

    def remember_quality(self, quality: str, settings: Mapping[str, Any]) -> None:
        """Record a quality's settings when its first render is stored (in upload order)."""
        settings = dict(settings)
        self._uploads.after_all(lambda: self._index.add_quality(quality, settings))
        self._uploads.drain(None)

    # -- the index -----------------------------------------------------------------------

    def has_index(self) -> bool:
        self._uploads.settle()
        return self._index.exists()

    def stored(self, quality: str | None = None) -> dict[str, Stored]:
        """address -> what the index holds (the index is trusted: no request per picture)."""
        if not self.has_index():
            return {}
        return select_stored(self.db, quality)

    def records(self) -> Iterator[Record]:
        """Every indexed picture."""
        if not self.has_index():
            return iter(())
        return iter(select_records(self.db))

    def quality_settings(self, quality: str) -> dict[str, Any] | None:
        """The settings a quality's renders were made with, if it has any."""
        if not self.has_index():
            return None
        return select_quality(self.db, quality)

    def sync(self) -> None:
        """Write the index's changes to the bucket, onto whatever other runs wrote there."""
        self._uploads.drain(None)
        self._last_sync, self._since_sync = time.monotonic(), 0
        self._index.write()

    def flush(self) -> None:
        """Wait for the uploads, index them, and write the index to the bucket."""
        try:
            self._uploads.settle()
        finally:
            self.sync()

    def close(self) -> None:
        """Flush, then let go of the index and the upload threads."""
        try:
            if self._index.is_open or self._uploads:
                self.flush()
        finally:
            self._uploads.shutdown()
            self._index.close()
            if self._at_exit:
                atexit.unregister(self._close_at_exit)
                self._at_exit = False

    def _close_at_exit(self) -> None:
        try:
            self.close()
        except SitegenError as exc:
            self.warn(f"error: could not write the index of {self.url} at exit: {exc}")

    def rebuild_index(self, blender: str | None = None) -> int:
        """Recreate the index from the pictures in the bucket; fingerprints become unknown.

        A picture's SHA-256 comes from its metadata, or from its bytes when it has none.
        """
        self._uploads.settle()
        listed = self._objects.list()
        pictures = sorted(name for name in listed
                          if name.count("/") == 3 and not name.startswith(("_", "."))
                          and is_picture_name(name.rsplit("/", 1)[1]))

        def sha_of(name: str) -> str:
            sha = self._objects.sha256_of(name)
            if sha is None:
                raise SitegenError(f"{self.url}{name} went away during the rebuild: run again")
            return sha

        with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
            shas = list(pool.map(sha_of, pictures))
        since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self._index.replace_all([(name, sha, listed[name])
                                 for name, sha in zip(pictures, shas, strict=True)],
                                blender, since)
        self._changed_now()
        self.sync()
        return len(pictures)

    # -- lock ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, what: str) -> Iterator[None]:
        """Hold the store's write lock; a second holder is refused with who holds it.

        On release, the uploads are waited for and the index is written.
        """
        lock = BucketLock(self._objects, stale_seconds=self.stale_seconds,
                          heartbeat_seconds=self.heartbeat_seconds,
                          warn=lambda message: self.warn(message),
                          conditions_checked=self._conditions_checked)
        with lock.hold(what, before_release=self.flush):
            self._conditions_checked = True  # taking the lock checked them
            if self._index.is_open:  # read before the lock: what another run added since
                self._index.pull()
            yield


_: type[RenderStore] = S3Store  # mypy checks that the S3 store is a RenderStore
