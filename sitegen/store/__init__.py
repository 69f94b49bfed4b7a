"""The render store: pictures under their addresses, thumbnails, an index and a lock.

`RenderStore` (protocol.py) is the interface every caller takes; `FolderStore` (folder.py)
and `S3Store` (s3/) implement it, and `open_store` picks one for a location.
"""

from __future__ import annotations

from pathlib import Path

from sitegen.errors import SitegenError
from sitegen.store.folder import (
    BLOBS,
    INDEX_NAME,
    LOCK_NAME,
    SCHEMA,
    TEMP_MARK,
    THUMB_SIZE,
    THUMB_SUFFIX,
    FolderStore,
    check_writable,
    companion_addresses,
    companion_files,
    index_errors,
    insert_record,
    is_companion_name,
    is_picture_name,
    make_companions,
    make_thumbnail,
    remove_picture,
    select_quality,
    select_records,
    select_stored,
    thumb_address,
)
from sitegen.store.protocol import RenderStore
from sitegen.store.records import Record, Stored

__all__ = [
    "BLOBS", "INDEX_NAME", "LOCK_NAME", "SCHEMA", "TEMP_MARK", "THUMB_SIZE", "THUMB_SUFFIX",
    "FolderStore", "Record", "RenderStore", "Stored", "check_writable", "companion_addresses",
    "companion_files", "index_errors", "insert_record", "is_companion_name", "is_picture_name",
    "make_companions", "make_thumbnail", "open_store", "remove_picture", "select_quality",
    "select_records", "select_stored", "thumb_address",
]


def open_store(location: str) -> RenderStore:
    """The store at a location given on the command line: a folder, or s3://bucket/prefix
    (an S3Store, sitegen/store/s3/)."""
    if location.startswith("s3://"):
        from sitegen.store.s3 import open_s3_store  # boto3 only for an S3 store

        return open_s3_store(location)
    if "://" in location:
        raise SitegenError(f"unsupported store location {location!r}: give a folder or "
                           "s3://bucket/prefix")
    return FolderStore(Path(location))
