"""The render store in an S3 bucket (`--renders s3://bucket/prefix`): FolderStore's interface.

Under the prefix, the names of a store folder:

    <quality>/<model>/<view>/<key>.<ext>   pictures (metadata x-amz-meta-sha256: their SHA-256)
    <quality>/<model>/<view>/<key>.thumb.webp   thumbnails (the same metadata)
    _blobs/<sha256>                        input files by content hash, for farm workers
    index.sqlite                           the index (FolderStore's schema)
    .lock                                  the write lock, while a run holds it

Pictures are written here first. `path_of(address)` is a path in a local folder, the
store's cache (`$SITEGEN_CACHE_DIR`, else `$XDG_CACHE_HOME/sitegen`, else
`~/.cache/sitegen`; then `s3/<endpoint host or aws>/<bucket>/<prefix>`): a worker writes its
picture there and the host its thumbnail, as into a store folder. `record()` then uploads
the picture and its thumbnail (in background threads) and indexes the picture once both
are in the bucket, so that an index row always has its object and callers do not change.
A picture rendered elsewhere and put into the bucket with `put_file()` (a farm worker)
is not uploaded again: `record()` checks the bucket holds it, with that SHA-256. The
local copies stay as a cache for `fetch_pictures` (which a publish from the bucket needs);
the cache folder may be deleted whenever no run uses it.

The index is an SQLite database in memory, read from the bucket on first use and written
back by `sync()`: every SYNC_SECONDS or SYNC_RECORDS records, when the lock is released,
on `close()`, and at exit. Each write is conditional (If-Match the ETag read, or
If-None-Match: * for the first one). When another run wrote in between, the write is
refused; the bucket's index is read again, this store's unwritten changes are applied
onto it (per address the later `rendered_at` wins; a quality keeps the settings written
first; a rebuild replaces the rows older than itself) and the write is tried again: no
update is lost, lock or not. The endpoint must honour conditional writes (AWS S3 does
since 2024; MinIO and Cloudflare R2 do too): taking the lock checks it, and refuses to go
on where they are ignored.

The lock is an object created with If-None-Match: *, holding who and since when, renewed
by a thread every HEARTBEAT_SECONDS. A lock not renewed for STALE_SECONDS, or held by a
process of this machine that is gone, is broken with a message; otherwise a second run
gets a SitegenError naming the holder.

Which S3: the endpoint is `$SITEGEN_S3_ENDPOINT_URL`, else `$AWS_ENDPOINT_URL_S3` or
`$AWS_ENDPOINT_URL`, else AWS; the region `$AWS_DEFAULT_REGION` (else the AWS
configuration); the credentials are the usual AWS ones. The index is trusted for what is
stored (no request per picture): after objects were deleted by hand, run
`sitegen index rebuild`.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import datetime as dt
import email.utils
import hashlib
import json
import os
import random
import re
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sitegen.errors import SitegenError
from sitegen.plan import Stored
from sitegen.store import (
    BLOBS,
    INDEX_NAME,
    LOCK_NAME,
    SCHEMA,
    TEMP_MARK,
    FolderStore,
    Record,
    insert_record,
    is_picture_name,
    select_quality,
    select_records,
    select_stored,
    thumb_address,
)

SHA_META = "sha256"  # x-amz-meta-sha256, as publish writes it
INDEX_TYPE = "application/vnd.sqlite3"
CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp",
                 "json": "application/json"}
SYNC_SECONDS = 60.0  # the index is written at least this often while records arrive
SYNC_RECORDS = 1000  # ... and after this many records
UPLOAD_THREADS = 8
IN_FLIGHT = 64  # uploads queued before `record()` waits for the oldest
WRITE_ATTEMPTS = 10  # conditional index writes refused in a row before giving up
# Codes of a refused conditional write: 412, 409 (a concurrent conditional write), and
# NoSuchKey (If-Match on an object deleted meanwhile).
CONFLICTS = ("PreconditionFailed", "412", "ConditionalRequestConflict", "409", "NoSuchKey")
MISSING = ("NoSuchKey", "404", "NotFound")
BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


CREDENTIALS_HELP = ("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN "
                    "for temporary credentials), or AWS_PROFILE naming a profile of "
                    "~/.aws/credentials")
STORE_CHECK = "the store location and SITEGEN_S3_ENDPOINT_URL (or AWS_ENDPOINT_URL)"
STORE_PERMISSIONS = "s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject"


@contextlib.contextmanager
def s3_errors(what: str, bucket: str, endpoint_url: str | None, *, check: str = STORE_CHECK,
              permissions: str = STORE_PERMISSIONS) -> Iterator[None]:
    """Turn boto3's failures into SitegenErrors that say what to do.

    `check` names what the user should look at (options, variables), `permissions` what
    the credentials need.
    """
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
        ReadTimeoutError,
    )

    where = endpoint_url or "AWS S3"
    try:
        yield
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise SitegenError(f"no usable AWS credentials ({exc}): {CREDENTIALS_HELP}") from None
    except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError) as exc:
        raise SitegenError(f"cannot reach {where} while {what}: {exc}; check {check} and the "
                           "network") from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "?"))
        message = str(error.get("Message", "")) or code
        if code == "NoSuchBucket" or (code == "404" and what.startswith("listing")):
            raise SitegenError(f"bucket {bucket!r} does not exist at {where}: create it, or "
                               f"check {check}") from None
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken",
                    "ExpiredToken", "InvalidClientTokenId"):
            raise SitegenError(f"{where} refused the credentials ({code}: {message}) while "
                               f"{what}: {CREDENTIALS_HELP}") from None
        if code in ("AccessDenied", "403", "AllAccessDisabled"):
            raise SitegenError(f"access denied to s3://{bucket} while {what}: the credentials "
                               f"need {permissions} on it") from None
        raise SitegenError(f"S3 error while {what} (s3://{bucket}): {code}: {message}") from None
    except BotoCoreError as exc:
        raise SitegenError(f"S3 error while {what} (s3://{bucket} at {where}): {exc}") from None


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


def default_cache() -> Path:
    """Where local copies of S3 stores live."""
    if os.environ.get("SITEGEN_CACHE_DIR"):
        return Path(os.environ["SITEGEN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sitegen"


def open_s3_store(location: str) -> S3Store:
    """The S3 store at `s3://bucket/prefix`, with the endpoint and region of the environment."""
    bucket, prefix = parse_location(location)
    return S3Store(bucket, prefix, endpoint_url=endpoint_from_env(),
                   region=os.environ.get("AWS_DEFAULT_REGION") or None)


_LOADERS: list[Any] = []


def _botocore_session() -> Any:
    """A fresh botocore session sharing one loader of service models (read once, slowly)."""
    import botocore.loaders
    import botocore.session

    if not _LOADERS:
        _LOADERS.append(botocore.loaders.create_loader())
    session = botocore.session.get_session()
    session.register_component("data_loader", _LOADERS[0])
    return session


def _code(exc: Any) -> str:
    """The error code of a botocore ClientError."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class _Conflict(Exception):
    """A conditional write was refused: someone else wrote first."""


@dataclass
class _HeldLock:
    body: bytes
    etag: str
    lost: bool = False


class S3Store:
    """Pictures, thumbnails, blobs, index and lock in a bucket; `root` is the local cache.

    Not a FolderStore: `path_of` is where a picture is written before it goes to the
    bucket, not where the store keeps it (the farm tells the two apart by this).
    """

    # Class attributes, so that a test can shorten them.
    heartbeat_seconds = 120.0
    stale_seconds = 1800.0

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None,
                 region: str | None = None, cache: Path | None = None,
                 client: Any = None) -> None:
        where = urlsplit(endpoint_url).netloc.replace(":", "_") if endpoint_url else "aws"
        self.root = (cache or default_cache()) / "s3" / where / bucket / prefix
        self._db: sqlite3.Connection | None = None
        self.bucket = bucket
        self.prefix = prefix
        self.endpoint_url = endpoint_url
        self.region = region
        self.warn: Callable[[str], None] = _to_stderr  # messages for the user (broken locks)
        self._client = client
        self._client_lock = threading.Lock()
        self._etag: str | None = None  # of the bucket's index as last read or written
        # Changes not yet written to the bucket, to apply again onto a newer index.
        self._changed: dict[str, tuple[str, tuple[Any, ...]]] = {}  # address -> (at, row)
        self._new_qualities: dict[str, tuple[Any, ...]] = {}
        self._replaced_since: str | None = None  # a rebuild replaced the rows older than this
        # Uploads in order; each entry's function indexes its picture once it is uploaded.
        self._queue: collections.deque[tuple[Future[None] | None, Callable[[], None]]] = (
            collections.deque())
        self._pool: ThreadPoolExecutor | None = None
        self._last_sync = time.monotonic()
        self._since_sync = 0
        self._at_exit = False
        self._conditions_checked = False

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def __repr__(self) -> str:
        return f"S3Store({self.url!r})"

    # -- the bucket ----------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """A boto3 S3 client, made on first use (credentials are read then)."""
        with self._client_lock:  # the upload threads may ask first
            if self._client is None:
                self._client = self._make_client()
        return self._client

    def _make_client(self) -> Any:
        import boto3
        from botocore.config import Config

        session = boto3.session.Session(botocore_session=_botocore_session(),
                                        region_name=self.region)
        if session.get_credentials() is None:
            raise SitegenError(f"no AWS credentials found for {self.url}: set "
                               "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE")
        # Other endpoints (MinIO, R2, a test server): path-style addresses, and checksum
        # headers only where S3 requires them (as publish does).
        other = {"s3": {"addressing_style": "path"},
                 "request_checksum_calculation": "when_required"} if self.endpoint_url else {}
        config = Config(retries={"max_attempts": 5, "mode": "standard"},
                        connect_timeout=10, read_timeout=60,
                        max_pool_connections=UPLOAD_THREADS + 4, **other)
        try:
            return session.client("s3", endpoint_url=self.endpoint_url, config=config)
        except ValueError as exc:
            raise SitegenError(f"invalid S3 endpoint URL {self.endpoint_url!r}: {exc} "
                               "(from SITEGEN_S3_ENDPOINT_URL or AWS_ENDPOINT_URL)") from None

    def _errors(self, what: str) -> contextlib.AbstractContextManager[None]:
        """Turn boto3's failures into SitegenErrors that say what to do."""
        return s3_errors(what, self.bucket, self.endpoint_url)

    def _key(self, name: str) -> str:
        return self.prefix + name

    def _head(self, name: str) -> dict[str, Any] | None:
        """An object's HEAD answer, or None when it does not exist."""
        from botocore.exceptions import ClientError

        with self._errors(f"reading the metadata of {self.url}{name}"):
            try:
                return self.client.head_object(  # type: ignore[no-any-return]
                    Bucket=self.bucket, Key=self._key(name))
            except ClientError as exc:
                if _code(exc) in MISSING:
                    return None
                raise

    def _get(self, name: str) -> dict[str, Any] | None:
        """An object's GET answer (Body unread), or None when it does not exist."""
        from botocore.exceptions import ClientError

        with self._errors(f"reading {self.url}{name}"):
            try:
                return self.client.get_object(  # type: ignore[no-any-return]
                    Bucket=self.bucket, Key=self._key(name))
            except ClientError as exc:
                if _code(exc) in MISSING:
                    return None
                raise

    def _put(self, name: str, body: Any, *, if_match: str | None = None,
             if_none_match: bool = False, **extra: Any) -> str:
        """Write an object, conditionally if asked; its ETag. Raises _Conflict when refused."""
        from botocore.exceptions import ClientError

        condition: dict[str, str] = {}
        if if_match is not None:
            condition["IfMatch"] = if_match
        elif if_none_match:
            condition["IfNoneMatch"] = "*"
        with self._errors(f"writing {self.url}{name}"):
            try:
                answer = self.client.put_object(Bucket=self.bucket, Key=self._key(name),
                                                Body=body, **condition, **extra)
            except ClientError as exc:
                if condition and _code(exc) in CONFLICTS:
                    raise _Conflict(_code(exc)) from None
                raise
        return str(answer["ETag"])

    def _delete(self, name: str, if_match: str) -> None:
        """Delete an object if its ETag is still this one. Raises _Conflict when it is not."""
        from botocore.exceptions import ClientError

        with self._errors(f"deleting {self.url}{name}"):
            try:
                self.client.delete_object(Bucket=self.bucket, Key=self._key(name),
                                          IfMatch=if_match)
                return
            except ClientError as exc:
                if _code(exc) in CONFLICTS:
                    raise _Conflict(_code(exc)) from None
                if _code(exc) not in ("NotImplemented", "InvalidArgument", "501", "400"):
                    raise
            # An endpoint without conditional deletes: compare, then delete (a narrow race).
            answer = self._get(name)
            if answer is None or answer["ETag"] != if_match:
                raise _Conflict("changed")
            self.client.delete_object(Bucket=self.bucket, Key=self._key(name))

    def _list(self) -> dict[str, int]:
        """Every object under the prefix: name (without the prefix) -> size."""
        found = {}
        with self._errors(f"listing {self.url}"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix)
            for page in pages:
                for item in page.get("Contents", []):
                    found[item["Key"][len(self.prefix):]] = int(item["Size"])
        return found

    def _download(self, name: str, target: Path, sha256: str | None = None) -> str | None:
        """Download an object to a local file atomically; its SHA-256 (None: no such object).

        With `sha256`, bytes that do not match are refused (and nothing is written).
        """
        answer = self._get(name)
        if answer is None:
            return None
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}{TEMP_MARK}{os.getpid()}-"
                               f"{threading.get_ident()}")
        digest = hashlib.sha256()
        try:
            with self._errors(f"downloading {self.url}{name}"), tmp.open("wb") as out:
                for chunk in answer["Body"].iter_chunks(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
            if sha256 is not None and digest.hexdigest() != sha256:
                raise SitegenError(f"{self.url}{name} is not the file expected: its SHA-256 "
                                   f"is {digest.hexdigest()}, not {sha256} (changed by hand? "
                                   "for a picture, `sitegen index rebuild` reads it again)")
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return digest.hexdigest()

    # -- files ---------------------------------------------------------------------------

    def path_of(self, address: str) -> Path:
        """The local path of an address: where a picture is written, then uploaded from."""
        return self.root / address

    def exists(self, address: str) -> bool:
        """Whether the bucket holds this object (one request)."""
        return self._head(address) is not None

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
            sha256 = _sha256_of(source)
            with source.open("rb") as body:
                self._put(name, body, Metadata={SHA_META: sha256},
                          ContentType=CONTENT_TYPES.get(ext, "application/octet-stream"))
        except OSError as exc:
            raise SitegenError(f"cannot read {source}: {exc.strerror}") from None

    def read_file(self, name: str) -> bytes | None:
        """The bytes under a name in the store; None when there is nothing."""
        answer = self._get(name)
        if answer is None:
            return None
        with self._errors(f"reading {self.url}{name}"):
            return answer["Body"].read()  # type: ignore[no-any-return]

    def stored_sha256(self, name: str) -> str | None:
        """The SHA-256 kept in an object's metadata; None when there is no object."""
        answer = self._head(name)
        return None if answer is None else answer.get("Metadata", {}).get(SHA_META)

    def fetch_pictures(self, addresses: Iterable[str], jobs: int = UPLOAD_THREADS) -> int:
        """Local copies at `path_of()` of indexed pictures and their thumbnails; how many
        were downloaded (a copy matching the index's SHA-256 is kept)."""
        self._settle()
        wanted = {}
        for address in addresses:
            row = self.db.execute("SELECT sha256 FROM renders WHERE address = ?",
                                  (address,)).fetchone()
            if row is None:
                raise SitegenError(f"{address} is not in the index of {self.url}")
            wanted[address] = str(row[0])

        def fetch(address: str) -> int:
            path, thumb = self.path_of(address), self.path_of(thumb_address(address))
            if path.is_file() and _sha256_of(path) == wanted[address]:
                if thumb.is_file():
                    return 0
            elif self._download(address, path, wanted[address]) is None:
                raise SitegenError(f"{self.url}{address} is missing, though indexed: run "
                                   "`sitegen index rebuild`")
            else:
                thumb.unlink(missing_ok=True)  # an older picture's
            self._download(thumb_address(address), thumb)
            return 1

        with ThreadPoolExecutor(jobs) as pool:
            return sum(pool.map(fetch, wanted))

    # -- blobs ---------------------------------------------------------------------------

    def put_blob(self, path: Path, sha256: str) -> None:
        """Keep a copy of an input file under its content hash in the bucket (once)."""
        name = f"{BLOBS}/{sha256}"
        if self._head(name) is not None:
            return
        try:
            with path.open("rb") as body:
                self._put(name, body, if_none_match=True, Metadata={SHA_META: sha256})
        except _Conflict:
            pass  # someone else put it meanwhile: the same bytes
        except OSError as exc:
            raise SitegenError(f"cannot read {path}: {exc.strerror}") from None

    def fetch_blob(self, sha256: str, cache: Path) -> Path:
        """A local copy of a blob, in `cache` (kept there for the next job), checked."""
        target = cache / sha256
        if not target.is_file() and self._download(f"{BLOBS}/{sha256}", target, sha256) is None:
            raise SitegenError(f"input file {sha256} is not in {self.url}{BLOBS}/: the run "
                               "that queued the job stores it first (put_blob)")
        return target

    # -- uploads, then rows --------------------------------------------------------------

    def _uploads(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(UPLOAD_THREADS, thread_name_prefix="sitegen-s3")
        return self._pool

    def _upload_picture(self, address: str, sha256: str) -> None:
        """Upload the picture at `path_of(address)` and its thumbnail when it is the one
        being indexed; else (rendered elsewhere and put there) check the bucket holds it."""
        picture = self.path_of(address)
        thumb_name = thumb_address(address)
        thumb = self.path_of(thumb_name)
        try:
            if picture.is_file() and _sha256_of(picture) == sha256:
                # The thumbnail first: once the picture is there, so is its thumbnail.
                if thumb.is_file():
                    self.put_file(thumb_name, thumb)
                self.put_file(address, picture)
                return
        except OSError as exc:
            raise SitegenError(f"cannot read {exc.filename}: {exc.strerror}") from None
        head = self._head(address)
        if head is None:
            raise SitegenError(f"cannot index {address}: no such picture at {picture} or in "
                               f"{self.url}")
        held = head.get("Metadata", {}).get(SHA_META)
        if held is not None and held != sha256:
            raise SitegenError(f"cannot index {address}: {self.url} holds another picture "
                               f"there (SHA-256 {held}, not {sha256})")

    def _drain(self, keep: int | None) -> None:
        """Index the pictures whose upload finished, in order; with `keep`, first wait
        until at most that many uploads are left. An upload's failure is raised here."""
        while self._queue:
            future, apply = self._queue[0]
            if (future is not None and not future.done()
                    and (keep is None or len(self._queue) <= keep)):
                break
            self._queue.popleft()
            if future is not None:
                future.result()
            apply()

    def _settle(self) -> None:
        """Wait for every upload and index what was uploaded; then raise the first failure."""
        first: SitegenError | None = None
        while self._queue:
            try:
                self._drain(0)
            except SitegenError as exc:
                first = first or exc
        if first is not None:
            raise first

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

        def apply() -> None:
            self._insert(address, fingerprint, inputs, sha256, size, seconds, blender)
            self._remember_row(address)

        self._changed_now()
        self._queue.append((self._uploads().submit(self._upload_picture, address, sha256),
                            apply))
        self._since_sync += 1
        self._drain(IN_FLIGHT)
        if (self._since_sync >= SYNC_RECORDS
                or time.monotonic() - self._last_sync >= SYNC_SECONDS):
            # With this picture too: after a slow render, a killed run keeps it.
            self.flush()

    def _insert(self, address: str, fingerprint: str | None, inputs: Mapping[str, str],
                sha256: str, size: int, seconds: float | None, blender: str | None) -> None:
        """One row, as FolderStore.record writes it."""
        insert_record(self.db, address, fingerprint, inputs, sha256, size, seconds, blender)

    def _remember_row(self, address: str) -> None:
        row = self.db.execute("SELECT rendered_at, * FROM renders WHERE address = ?",
                              (address,)).fetchone()
        self._changed[address] = (str(row[0]), tuple(row[1:]))

    def remember_quality(self, quality: str, settings: Mapping[str, Any]) -> None:
        """Record a quality's settings when its first render is stored (in upload order)."""
        settings = dict(settings)

        def apply() -> None:
            cursor = self.db.execute("INSERT OR IGNORE INTO qualities VALUES (?, ?)",
                                     (quality, json.dumps(settings, sort_keys=True)))
            if cursor.rowcount:
                row = self.db.execute("SELECT * FROM qualities WHERE id = ?",
                                      (quality,)).fetchone()
                self._new_qualities[quality] = tuple(row)

        self._queue.append((None, apply))
        self._drain(None)

    # -- the index -----------------------------------------------------------------------

    @property
    def db(self) -> sqlite3.Connection:
        """The index, read from the bucket on first use."""
        if self._db is None:
            data, etag = self._read_index()
            self._db = self._open_index(data)
            self._etag = etag
        return self._db

    def _read_index(self) -> tuple[bytes | None, str | None]:
        answer = self._get(INDEX_NAME)
        if answer is None:
            return None, None
        with self._errors(f"reading {self.url}{INDEX_NAME}"):
            return answer["Body"].read(), str(answer["ETag"])

    def _open_index(self, data: bytes | None) -> sqlite3.Connection:
        db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        if data:
            if not data.startswith(b"SQLite format 3\0"):
                raise SitegenError(f"{self.url}{INDEX_NAME} is not an SQLite database: move "
                                   "it away and run `sitegen index rebuild`")
            if data[18:20] == b"\2\2":  # WAL (an index copied from a folder): not in memory
                data = data[:18] + b"\1\1" + data[20:]
            try:
                db.deserialize(data)
            except sqlite3.DatabaseError as exc:
                raise SitegenError(f"{self.url}{INDEX_NAME} is not a usable index ({exc}): "
                                   "move it away and run `sitegen index rebuild`") from None
        db.executescript(SCHEMA)
        return db

    def _has_changes(self) -> bool:
        return bool(self._changed or self._new_qualities or self._replaced_since)

    def has_index(self) -> bool:
        self._settle()
        self.db  # noqa: B018 - read it
        return self._etag is not None or self._has_changes()

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
        self._drain(None)
        self._last_sync, self._since_sync = time.monotonic(), 0
        if self._db is None or not self._has_changes():
            return
        for attempt in range(WRITE_ATTEMPTS):
            try:
                self._etag = self._put(INDEX_NAME, self._db.serialize(), if_match=self._etag,
                                       if_none_match=self._etag is None, ContentType=INDEX_TYPE)
            except _Conflict:
                time.sleep(random.uniform(0, 0.2 * 2 ** min(attempt, 4)))
                self._pull()
                continue
            self._changed.clear()
            self._new_qualities.clear()
            self._replaced_since = None
            return
        raise SitegenError(f"the index of {self.url} changed {WRITE_ATTEMPTS} times while this "
                           "run merged its changes into it; run again")

    def _pull(self) -> None:
        """Read the bucket's index again, and apply this store's unwritten changes onto it."""
        data, etag = self._read_index()
        if etag is not None and etag == self._etag:
            return
        fresh = self._open_index(data)
        if self._replaced_since is not None:
            fresh.execute("DELETE FROM renders WHERE rendered_at < ?", (self._replaced_since,))
        for address, (at, row) in self._changed.items():
            held = fresh.execute("SELECT rendered_at FROM renders WHERE address = ?",
                                 (address,)).fetchone()
            if held is None or str(held[0]) <= at:  # the later render wins
                fresh.execute(f"INSERT OR REPLACE INTO renders VALUES ({_marks(row)})", row)
        for row in self._new_qualities.values():  # the settings written first stay
            fresh.execute(f"INSERT OR IGNORE INTO qualities VALUES ({_marks(row)})", row)
        old, self._db, self._etag = self._db, fresh, etag
        if old is not None:
            old.close()

    def flush(self) -> None:
        """Wait for the uploads, index them, and write the index to the bucket."""
        try:
            self._settle()
        finally:
            self.sync()

    def close(self) -> None:
        """Flush, then let go of the index and the upload threads."""
        try:
            if self._db is not None or self._queue:
                self.flush()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
            if self._db is not None:
                self._db.close()
                self._db = None
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
        self._settle()
        listed = self._list()
        pictures = sorted(name for name in listed
                          if name.count("/") == 3 and not name.startswith(("_", "."))
                          and is_picture_name(name.rsplit("/", 1)[1]))

        def sha_of(name: str) -> str:
            meta = (self._head(name) or {}).get("Metadata", {})
            if re.fullmatch(r"[0-9a-f]{64}", meta.get(SHA_META, "")):
                return str(meta[SHA_META])
            answer = self._get(name)
            if answer is None:
                raise SitegenError(f"{self.url}{name} went away during the rebuild: run again")
            digest = hashlib.sha256()
            with self._errors(f"reading {self.url}{name}"):
                for chunk in answer["Body"].iter_chunks(1 << 20):
                    digest.update(chunk)
            return digest.hexdigest()

        with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
            shas = list(pool.map(sha_of, pictures))
        since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        db = self.db
        db.execute("BEGIN")
        db.execute("DELETE FROM renders")
        for name, sha in zip(pictures, shas, strict=True):
            self._insert(name, None, {}, sha, listed[name], None, blender)
        db.execute("COMMIT")
        self._changed.clear()
        for name in pictures:
            self._remember_row(name)
        self._replaced_since = since
        self._changed_now()
        self.sync()
        return len(pictures)

    # -- lock ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, what: str) -> Iterator[None]:
        """Hold the store's write lock; a second holder is refused with who holds it.

        On release, the uploads are waited for and the index is written.
        """
        held = self._acquire(what)
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(held, stop), daemon=True,
                                name="sitegen-s3-lock")
        beat.start()
        try:
            if self._db is not None:  # read before the lock: what another run added since
                self._pull()
            yield
        finally:
            stop.set()
            beat.join()
            try:
                self.flush()
            finally:
                self._release(held)

    def _acquire(self, what: str) -> _HeldLock:
        since = dt.datetime.now().isoformat(timespec="seconds")
        body = json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                           "pidns": _pid_namespace(), "what": what, "since": since}).encode()
        for _ in range(3):
            try:
                etag = self._put(LOCK_NAME, body, if_none_match=True,
                                 ContentType="application/json")
            except _Conflict:
                pass
            else:
                held = _HeldLock(body, etag)
                self._check_conditions(held)
                return held
            holder, etag_, age = self._read_lock()
            if holder is None:
                continue  # released meanwhile
            stale = self._stale(holder, age)
            if stale is None:
                raise SitegenError(
                    f"{self.url} is locked by another run: {_describe(holder)}; wait for it "
                    f"to finish (a lock not renewed for {self.stale_seconds / 60:g} min is "
                    f"broken by the next run; if that run is gone, delete "
                    f"{self.url}{LOCK_NAME})")
            self.warn(f"breaking the lock of {self.url}: {_describe(holder)} {stale}")
            with contextlib.suppress(_Conflict):  # taken or released meanwhile: try again
                self._delete(LOCK_NAME, etag_)
        raise SitegenError(f"could not take the lock of {self.url}: it changed hands "
                           "several times; run again")

    def _check_conditions(self, held: _HeldLock) -> None:
        """Refuse an endpoint that ignores conditional writes: the index would be unsafe."""
        if self._conditions_checked:
            return
        for name, if_match in (("If-None-Match", None), ("If-Match", '"0"')):
            try:  # both must be refused: the lock exists, and its ETag is not "0"
                self._put(LOCK_NAME, held.body, if_match=if_match,
                          if_none_match=if_match is None, ContentType="application/json")
            except _Conflict:
                continue
            with contextlib.suppress(_Conflict):
                self._delete(LOCK_NAME, held.etag)
            raise SitegenError(f"{self.endpoint_url or 'this S3 endpoint'} ignored {name}: "
                               "a render store needs S3 conditional writes to keep its index "
                               "and lock safe; use a folder store, or an endpoint with "
                               "them (AWS S3, MinIO, Cloudflare R2)")
        self._conditions_checked = True

    def _read_lock(self) -> tuple[dict[str, Any] | None, str, float]:
        """The lock's holder, ETag and age in seconds by the server's clock (None: no lock)."""
        answer = self._get(LOCK_NAME)
        if answer is None:
            return None, "", 0.0
        with self._errors(f"reading {self.url}{LOCK_NAME}"):
            raw = answer["Body"].read()
        try:
            holder = json.loads(raw)
            if not isinstance(holder, dict):
                raise ValueError
        except ValueError:
            holder = {"raw": raw.decode(errors="replace")[:200]}
        date = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
        now = (email.utils.parsedate_to_datetime(date) if date
               else dt.datetime.now(dt.UTC))
        age = (now - answer["LastModified"]).total_seconds()
        return holder, str(answer["ETag"]), age

    def _stale(self, holder: dict[str, Any], age: float) -> str | None:
        """Why a lock may be broken, or None."""
        if age > self.stale_seconds:
            return f"(not renewed for {age / 60:.0f} min)"
        if (holder.get("host") == socket.gethostname() and holder.get("pidns") == _pid_namespace()
                and isinstance(holder.get("pid"), int) and not _alive(holder["pid"])):
            return "(that process is gone)"
        return None

    def _heartbeat(self, held: _HeldLock, stop: threading.Event) -> None:
        """Renew the lock (its time) until stopped; say so if another run took it."""
        while not stop.wait(self.heartbeat_seconds):
            try:
                held.etag = self._put(LOCK_NAME, held.body, if_match=held.etag,
                                      ContentType="application/json")
            except _Conflict:
                held.lost = True
                self.warn(f"warning: the lock of {self.url} was broken by another run; the "
                          "index stays safe, but both runs may render the same pictures")
                return
            except SitegenError:
                continue  # the network: try again at the next beat

    def _release(self, held: _HeldLock) -> None:
        if held.lost:
            return
        try:
            self._delete(LOCK_NAME, held.etag)
        except _Conflict:
            self.warn(f"warning: the lock of {self.url} was taken over by another run "
                      "before this one released it")


def _sha256_of(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _marks(row: tuple[Any, ...]) -> str:
    return ",".join("?" * len(row))


def _describe(holder: dict[str, Any]) -> str:
    if "raw" in holder:
        return str(holder["raw"]) or "?"
    return (f"pid {holder.get('pid', '?')} on {holder.get('host', '?')} "
            f"({holder.get('what', '?')}, since {holder.get('since', '?')})")


def _pid_namespace() -> str:
    """This process's PID namespace: pids of another one (a container) mean nothing here."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
