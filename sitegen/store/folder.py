"""The folder store: pictures under their addresses, thumbnails, an SQLite index and a lock.

Also the pieces the S3 store shares with it: the addresses of thumbnails and temporary
files, the index's schema and queries, the check that a folder takes a picture now.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import os
import shutil
import socket
import sqlite3
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from sitegen import sizes
from sitegen.cache import file_sha256
from sitegen.errors import EnvironmentFailure, SitegenError, environment_failure
from sitegen.layers import is_bounce_name
from sitegen.protocol import PICTURE_EXTENSIONS
from sitegen.store.protocol import RenderStore
from sitegen.store.records import Record, Stored

INDEX_NAME = "index.sqlite"
BLOBS = "_blobs"  # input files by content hash (not a quality id: ids have no underscore)
LOCK_NAME = ".lock"
THUMB_SUFFIX = ".thumb.webp"
THUMB_SIZE = (240, 180)
TEMP_MARK = ".tmp-"  # temporary files are `.<name>.tmp-<pid>.<ext>`: never a picture

SCHEMA = """
CREATE TABLE IF NOT EXISTS renders (
    address TEXT PRIMARY KEY,     -- <quality>/<model>/<view>/<key>.<ext>
    quality TEXT NOT NULL,
    model TEXT NOT NULL,
    view TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT,             -- NULL: unknown (index rebuilt from the files)
    inputs TEXT NOT NULL,         -- JSON: input name -> hash
    sha256 TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    seconds REAL,
    rendered_at TEXT NOT NULL,
    blender TEXT
);
CREATE TABLE IF NOT EXISTS qualities (
    id TEXT PRIMARY KEY,
    settings TEXT NOT NULL        -- JSON: the settings its renders were made with
);
"""


def thumb_address(address: str) -> str:
    """The thumbnail of a picture: `<quality>/<model>/<view>/<key>.thumb.webp`."""
    return address.rsplit(".", 1)[0] + THUMB_SUFFIX


def companion_addresses(address: str, widths: Iterable[int] = ()) -> list[str]:
    """The files made from a picture: its thumbnail, then its copy at each width
    (`sitegen.sizes`); none for a layer's bounce image (the page upsamples it anyway)."""
    if is_bounce_name(address.rsplit("/", 1)[-1]):
        return []
    return [thumb_address(address), *sizes.sized_addresses(address, widths)]


def is_picture_name(name: str) -> bool:
    """Whether a file name in the store is a picture (not a thumbnail, a sized copy or a
    temporary file)."""
    return (not name.startswith(".") and not name.endswith(THUMB_SUFFIX)
            and name.rsplit(".", 1)[-1] in PICTURE_EXTENSIONS
            and not sizes.is_sized_name(name))


def is_companion_name(name: str) -> bool:
    """Whether a file name in the store is a picture's thumbnail or sized copy."""
    return not name.startswith(".") and (name.endswith(THUMB_SUFFIX)
                                         or sizes.is_sized_name(name))


def insert_record(db: sqlite3.Connection, address: str, fingerprint: str | None,
                  inputs: Mapping[str, str], sha256: str, size: int, seconds: float | None,
                  blender: str | None) -> None:
    """Index one picture in an index database (replacing what was there)."""
    quality, model, view, name = address.split("/")
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    db.execute(
        "INSERT OR REPLACE INTO renders VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (address, quality, model, view, name.rsplit(".", 1)[0], fingerprint,
         json.dumps(dict(inputs), sort_keys=True), sha256, size, seconds, now, blender))


def select_stored(db: sqlite3.Connection, quality: str | None) -> dict[str, Stored]:
    """address -> fingerprint and inputs, from an index database."""
    query = "SELECT address, fingerprint, inputs FROM renders"
    rows = db.execute(query + (" WHERE quality = ?" if quality else ""),
                      (quality,) if quality else ())
    return {address: Stored(fp, json.loads(inputs)) for address, fp, inputs in rows}


def select_records(db: sqlite3.Connection) -> list[Record]:
    """Every picture of an index database, by address."""
    rows = db.execute("SELECT address, fingerprint, inputs, sha256, bytes, seconds, "
                      "rendered_at, blender FROM renders ORDER BY address").fetchall()
    return [Record(r[0], r[1], json.loads(r[2]), *r[3:]) for r in rows]


def select_quality(db: sqlite3.Connection, quality: str) -> dict[str, Any] | None:
    """The settings kept for a quality in an index database."""
    row = db.execute("SELECT settings FROM qualities WHERE id = ?", (quality,)).fetchone()
    return json.loads(row[0]) if row else None


class FolderStore:
    """Pictures in a folder: `<root>/<quality>/<model>/<view>/<key>.<ext>`, index beside."""

    remote = False  # `path_of` is where the store keeps a picture

    def __init__(self, root: Path) -> None:
        self.root = root
        self._db: sqlite3.Connection | None = None

    # -- files ---------------------------------------------------------------------------

    def path_of(self, address: str) -> Path:
        """The local path of an address."""
        return self.root / address

    def exists(self, address: str) -> bool:
        return self.path_of(address).is_file()

    def check_space(self, folder: Path | None = None) -> None:
        """Raise EnvironmentFailure when a picture cannot be written into `folder` (default:
        the store) now: no space left, a read-only file system, no permission."""
        check_writable(folder or self.root)

    def remove_unindexed(self, addresses: Iterable[str]) -> int:
        """Delete the pictures (and thumbnails) of these addresses that are on disk but not
        in the index: what a crash or a full disk left between writing and indexing."""
        indexed = set(select_stored(self.db, None)) if self.has_index() else set()
        removed = 0
        for address in addresses:
            if address not in indexed and self.exists(address):
                remove_picture(self, address)
                removed += 1
        return removed

    def remove_temporaries(self, folders: Iterable[Path]) -> int:
        """Delete leftover temporary files (from a killed render) in these folders."""
        removed = 0
        for folder in folders:
            if not folder.is_dir():
                continue
            for path in folder.iterdir():
                if path.name.startswith(".") and TEMP_MARK in path.name:
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed

    def put_file(self, name: str, source: Path) -> None:
        """Put a local file under a name in the store, atomically (all or nothing)."""
        target = self.path_of(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}{TEMP_MARK}{os.getpid()}{target.suffix}")
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def read_file(self, name: str) -> bytes | None:
        """The bytes under a name in the store; None when there is nothing."""
        try:
            return self.path_of(name).read_bytes()
        except FileNotFoundError:
            return None

    def stored_sha256(self, name: str) -> str | None:
        """The SHA-256 of what the store holds under a name; None when there is nothing."""
        try:
            return file_sha256(self.path_of(name))
        except FileNotFoundError:
            return None

    def fetch_pictures(self, addresses: Iterable[str], jobs: int = 8,
                       widths: Sequence[int] = ()) -> int:
        """Nothing to download: `path_of()` is where the store keeps its pictures."""
        return 0

    # -- blobs: input files (blend, textures) by content hash, for workers elsewhere -------

    def put_blob(self, path: Path, sha256: str) -> None:
        """Keep a copy of an input file under its content hash (once)."""
        target = self.root / BLOBS / sha256
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{sha256}{TEMP_MARK}{os.getpid()}")
            shutil.copyfile(path, tmp)
            os.replace(tmp, target)

    def fetch_blob(self, sha256: str, cache: Path) -> Path:
        """A local copy of a blob, in `cache` (kept there for the next job)."""
        target = cache / sha256
        if not target.is_file():
            cache.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{sha256}{TEMP_MARK}{os.getpid()}")
            shutil.copyfile(self.root / BLOBS / sha256, tmp)
            os.replace(tmp, target)
        return target

    # -- index ---------------------------------------------------------------------------

    @property
    def index_path(self) -> Path:
        return self.root / INDEX_NAME

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            path = self.index_path
            with index_errors(path):
                if path.is_file() and not os.access(self.root, os.W_OK):
                    # A read-only store (a read-only mount, another user's folder) is read
                    # as it is: SQLite cannot make a WAL index's shared-memory file there.
                    uri = f"file:{urllib.parse.quote(str(path.resolve()))}?immutable=1"
                    self._db = sqlite3.connect(uri, uri=True, isolation_level=None)
                    return self._db
                self.root.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(path, timeout=30, isolation_level=None)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.executescript(SCHEMA)
            self._db = db
        return self._db

    def has_index(self) -> bool:
        return (self.root / INDEX_NAME).is_file()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def stored(self, quality: str | None = None) -> dict[str, Stored]:
        """address -> what the index holds, for pictures whose file exists."""
        if not self.has_index():
            return {}
        return {address: held for address, held in select_stored(self.db, quality).items()
                if self.exists(address)}

    def records(self) -> Iterator[Record]:
        """Every indexed picture."""
        if not self.has_index():
            return
        yield from select_records(self.db)

    def record(self, address: str, fingerprint: str | None, inputs: Mapping[str, str],
               sha256: str, size: int, seconds: float | None, blender: str | None) -> None:
        """Index one picture (replacing what was there)."""
        with index_errors(self.index_path):
            insert_record(self.db, address, fingerprint, inputs, sha256, size, seconds, blender)

    def quality_settings(self, quality: str) -> dict[str, Any] | None:
        """The settings a quality's renders were made with, if it has any."""
        if not self.has_index():
            return None
        return select_quality(self.db, quality)

    def remember_quality(self, quality: str, settings: Mapping[str, Any]) -> None:
        """Record a quality's settings when its first render is stored."""
        with index_errors(self.index_path):
            self.db.execute("INSERT OR IGNORE INTO qualities VALUES (?, ?)",
                            (quality, json.dumps(dict(settings), sort_keys=True)))

    # -- lock ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, what: str) -> Iterator[None]:
        """Hold the store's write lock; a second holder is refused with who holds it."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 4096, 0).decode(errors="replace").strip()
                raise SitegenError(f"{self.root} is locked by another run: {holder or '?'}; "
                                   "wait for it to finish") from None
            since = dt.datetime.now().isoformat(timespec="seconds")
            info = (f"pid {os.getpid()} on {socket.gethostname()} ({what}, since {since})")
            os.ftruncate(fd, 0)
            os.pwrite(fd, info.encode(), 0)
            yield
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing releases the lock, also when the process dies

    # -- rebuild -------------------------------------------------------------------------

    def rebuild_index(self, blender: str | None = None) -> int:
        """Recreate the index from the picture files; fingerprints become unknown."""
        found = 0
        db = self.db
        with index_errors(self.index_path):
            db.execute("BEGIN")
            try:
                db.execute("DELETE FROM renders")
                for path in sorted(self.root.glob("*/*/*/*")):
                    if not path.is_file() or not is_picture_name(path.name):
                        continue
                    address = path.relative_to(self.root).as_posix()
                    self.record(address, None, {}, file_sha256(path), path.stat().st_size,
                                None, blender)
                    found += 1
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")  # the old index stays whole
                raise
        return found


@contextlib.contextmanager
def index_errors(path: Path) -> Iterator[None]:
    """SQLite's and the file system's refusals (a full disk, a read-only folder) as an
    EnvironmentFailure that names the index."""
    try:
        yield
    except (OSError, sqlite3.OperationalError) as exc:
        failure = environment_failure(exc, path)
        if failure is None:
            raise
        if isinstance(exc, sqlite3.OperationalError) and _free_bytes(path) < MIN_FREE:
            failure = EnvironmentFailure(path, errno.ENOSPC)  # SQLite says "I/O error"
        raise failure from None


def _existing(path: Path) -> Path:
    """`path`, or its nearest parent that exists (a store not made yet)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _free_bytes(path: Path) -> int:
    """Bytes free to this user on `path`'s file system (MIN_FREE when it cannot tell)."""
    try:
        stats = os.statvfs(_existing(path))
    except OSError:
        return MIN_FREE
    return stats.f_bavail * stats.f_frsize if stats.f_blocks else MIN_FREE


PROBE_BYTES = 64 * 1024  # written and removed to see that a folder takes a picture now
MIN_FREE = 256 * 1024  # less free space than this counts as a full disk


def check_writable(folder: Path) -> None:
    """Raise EnvironmentFailure when `folder` (or, not made yet, its nearest existing
    parent) cannot take a picture now: no space, read-only, no permission."""
    place = _existing(folder)
    if _free_bytes(place) < MIN_FREE:
        raise EnvironmentFailure(place, errno.ENOSPC)
    probe = place / f".space{TEMP_MARK}{os.getpid()}"
    try:
        with open(probe, "wb") as f:
            f.write(b"\0" * PROBE_BYTES)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        raise environment_failure(exc, place) or exc from None
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()


def companion_files(address: str, path_of: Callable[[str], Path]) -> dict[str, Path]:
    """The companions of a picture that exist beside it: address -> path (its thumbnail,
    its sized copies by the names `sitegen.sizes` gives them)."""
    thumb = thumb_address(address)
    found = {thumb: path_of(thumb)} if path_of(thumb).is_file() else {}
    picture = path_of(address)
    stem, ext = picture.name.rsplit(".", 1)  # (ids have no glob characters)
    folder = address.rsplit("/", 1)[0]
    for sized in sorted(picture.parent.glob(f"{stem}.w*.{ext}")):
        if sized.name[len(stem):].count(".") == 2 and sizes.is_sized_name(sized.name):
            found[f"{folder}/{sized.name}"] = sized
    return found


def remove_picture(store: RenderStore, address: str) -> None:
    """Delete a picture's local file, its thumbnail and its sized copies (of a picture that
    is not, or cannot be, indexed), so the index and the files agree."""
    for path in companion_files(address, store.path_of).values():
        path.unlink(missing_ok=True)
    store.path_of(address).unlink(missing_ok=True)


def _write_downscaled(image: Any, out: Path, size: tuple[int, int], ext: str,
                      quality: int) -> None:
    tmp = out.with_name(f".{out.name}{TEMP_MARK}{os.getpid()}.{ext}")
    try:
        sizes.encode(sizes.downscale(image, size) if size != image.size else image,
                     tmp, ext, quality)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def _thumbnail(image: Any, thumb: Path) -> None:
    w, h = image.size
    scale = min(1.0, THUMB_SIZE[0] / w, THUMB_SIZE[1] / h)
    _write_downscaled(image, thumb, (max(1, round(w * scale)), max(1, round(h * scale))),
                      "webp", 80)


def make_thumbnail(picture: Path, thumb: Path) -> None:
    """A small WebP of a picture (within THUMB_SIZE), written atomically."""
    from PIL import Image

    with Image.open(picture) as image:
        _thumbnail(image, thumb)


def make_companions(picture: Path, address: str, path_of: Callable[[str], Path],
                    widths: Iterable[int] = (), quality: int = 90) -> list[str]:
    """Write a picture's thumbnail and its copy at each width (in its own format at
    `quality`: CATALOG_FORMAT.md's `sizes`), from one decode, each atomically, by the same
    downscaling (`sitegen.sizes.downscale`: linear light, premultiplied alpha). Returns
    their addresses, the thumbnail first. A picture that does not decode raises OSError."""
    from PIL import Image

    names = companion_addresses(address, widths)
    if not names:
        return names
    ext = address.rsplit(".", 1)[1]
    with Image.open(picture) as image:
        image.load()
        _thumbnail(image, path_of(names[0]))
        w, h = image.size
        for name, width in zip(names[1:], sorted(set(widths)), strict=True):
            _write_downscaled(image, path_of(name), (width, sizes.sized_height(w, h, width)),
                              ext, quality)
    return names


_: type[RenderStore] = FolderStore  # mypy checks that the folder store is a RenderStore
