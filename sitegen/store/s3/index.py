"""The S3 store's index: an SQLite database in memory, read from the bucket, written back
conditionally, and merged with what other runs wrote in between.

Each write is conditional (If-Match the ETag read, or If-None-Match: * for the first one).
When another run wrote in between, the write is refused; the bucket's index is read again,
this store's unwritten changes are applied onto it (per address the later `rendered_at`
wins; a quality keeps the settings written first; a rebuild replaces the rows older than
itself) and the write is tried again: no update is lost, lock or not.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Mapping
from typing import Any

from sitegen.errors import SitegenError
from sitegen.store.folder import INDEX_NAME, SCHEMA, insert_record
from sitegen.store.s3.objects import BucketObjects, Conflict

INDEX_TYPE = "application/vnd.sqlite3"
WRITE_ATTEMPTS = 10  # conditional index writes refused in a row before giving up


class BucketIndex:
    """The index of an S3 store, with the changes not yet written to the bucket."""

    def __init__(self, objects: BucketObjects) -> None:
        self.objects = objects
        self._db: sqlite3.Connection | None = None
        self._etag: str | None = None  # of the bucket's index as last read or written
        # Changes not yet written to the bucket, to apply again onto a newer index.
        self._changed: dict[str, tuple[str, tuple[Any, ...]]] = {}  # address -> (at, row)
        self._new_qualities: dict[str, tuple[Any, ...]] = {}
        self._replaced_since: str | None = None  # a rebuild replaced the rows older than this

    @property
    def is_open(self) -> bool:
        """Whether the index was read (and may hold changes)."""
        return self._db is not None

    @property
    def db(self) -> sqlite3.Connection:
        """The index, read from the bucket on first use."""
        if self._db is None:
            data, etag = self._read()
            self._db = self._open(data)
            self._etag = etag
        return self._db

    def exists(self) -> bool:
        """Whether there is an index: in the bucket, or changes made here."""
        self.db  # noqa: B018 - read it
        return self._etag is not None or self.has_changes()

    def has_changes(self) -> bool:
        return bool(self._changed or self._new_qualities or self._replaced_since)

    def _read(self) -> tuple[bytes | None, str | None]:
        answer = self.objects.get(INDEX_NAME)
        if answer is None:
            return None, None
        with self.objects.errors(f"reading {self.objects.url}{INDEX_NAME}"):
            return answer["Body"].read(), str(answer["ETag"])

    def _open(self, data: bytes | None) -> sqlite3.Connection:
        url = self.objects.url
        db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        if data:
            if not data.startswith(b"SQLite format 3\0"):
                raise SitegenError(f"{url}{INDEX_NAME} is not an SQLite database: move "
                                   "it away and run `sitegen index rebuild`")
            if data[18:20] == b"\2\2":  # WAL (an index copied from a folder): not in memory
                data = data[:18] + b"\1\1" + data[20:]
            try:
                db.deserialize(data)
            except sqlite3.DatabaseError as exc:
                raise SitegenError(f"{url}{INDEX_NAME} is not a usable index ({exc}): "
                                   "move it away and run `sitegen index rebuild`") from None
        db.executescript(SCHEMA)
        return db

    # -- changes -------------------------------------------------------------------------

    def insert(self, address: str, fingerprint: str | None, inputs: Mapping[str, str],
               sha256: str, size: int, seconds: float | None, blender: str | None) -> None:
        """Index one picture, as FolderStore.record writes it, and remember the change."""
        insert_record(self.db, address, fingerprint, inputs, sha256, size, seconds, blender)
        self._remember_row(address)

    def _remember_row(self, address: str) -> None:
        row = self.db.execute("SELECT rendered_at, * FROM renders WHERE address = ?",
                              (address,)).fetchone()
        self._changed[address] = (str(row[0]), tuple(row[1:]))

    def add_quality(self, quality: str, settings: Mapping[str, Any]) -> None:
        """Keep a quality's settings, unless it has some already."""
        cursor = self.db.execute("INSERT OR IGNORE INTO qualities VALUES (?, ?)",
                                 (quality, json.dumps(dict(settings), sort_keys=True)))
        if cursor.rowcount:
            row = self.db.execute("SELECT * FROM qualities WHERE id = ?", (quality,)).fetchone()
            self._new_qualities[quality] = tuple(row)

    def replace_all(self, pictures: list[tuple[str, str, int]], blender: str | None,
                    since: str) -> None:
        """A rebuild: these (address, sha256, bytes) rows replace every row; onto a newer
        index, the rows older than `since` go."""
        db = self.db
        db.execute("BEGIN")
        db.execute("DELETE FROM renders")
        for address, sha, size in pictures:
            insert_record(db, address, None, {}, sha, size, None, blender)
        db.execute("COMMIT")
        self._changed.clear()
        for address, _, _ in pictures:
            self._remember_row(address)
        self._replaced_since = since

    # -- the bucket ----------------------------------------------------------------------

    def write(self) -> None:
        """Write the changes to the bucket, onto whatever other runs wrote there."""
        if self._db is None or not self.has_changes():
            return
        for attempt in range(WRITE_ATTEMPTS):
            try:
                self._etag = self.objects.put(
                    INDEX_NAME, self._db.serialize(), if_match=self._etag,
                    if_none_match=self._etag is None, ContentType=INDEX_TYPE)
            except Conflict:
                time.sleep(random.uniform(0, 0.2 * 2 ** min(attempt, 4)))
                self.pull()
                continue
            self._changed.clear()
            self._new_qualities.clear()
            self._replaced_since = None
            return
        raise SitegenError(f"the index of {self.objects.url} changed {WRITE_ATTEMPTS} times "
                           "while this run merged its changes into it; run again")

    def pull(self) -> None:
        """Read the bucket's index again, and apply this store's unwritten changes onto it."""
        data, etag = self._read()
        if etag is not None and etag == self._etag:
            return
        fresh = self._open(data)
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

    def close(self) -> None:
        """Let go of the database in memory (unwritten changes are lost)."""
        if self._db is not None:
            self._db.close()
            self._db = None


def _marks(row: tuple[Any, ...]) -> str:
    return ",".join("?" * len(row))
