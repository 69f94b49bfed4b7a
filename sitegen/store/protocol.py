"""The one interface of a render store, which the folder store and the S3 store implement.

Callers (render, farm, publish, site, the CLI) take a `RenderStore` and never ask which
store they hold; mypy checks both implementations against it (see the end of
sitegen/store/__init__.py and sitegen/store/s3/__init__.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from sitegen.store.records import Record, Stored


class RenderStore(Protocol):
    """Pictures under their addresses `<quality>/<model>/<view>/<key>.<ext>`, with their
    thumbnails, input files by content hash (blobs), an index and a write lock."""

    @property
    def remote(self) -> bool:
        """True when the store keeps its files elsewhere (a bucket): `path_of` is then a
        local copy, written before its upload, not where the store keeps the file."""
        ...

    # -- files
    def path_of(self, address: str) -> Path:
        """The local path of an address: where a picture is written (and read) here."""
        ...

    def exists(self, address: str) -> bool:
        """Whether the store holds a file under this address."""
        ...

    def check_space(self, folder: Path | None = None) -> None:
        """Raise EnvironmentFailure when a picture cannot be written locally now."""
        ...

    def remove_unindexed(self, addresses: Iterable[str]) -> int:
        """Delete what a crash left between writing a picture and indexing it; how many."""
        ...

    def remove_temporaries(self, folders: Iterable[Path]) -> int:
        """Delete leftover temporary files (from a killed render) in these local folders."""
        ...

    def put_file(self, name: str, source: Path) -> None:
        """Put a local file under a name in the store, all or nothing."""
        ...

    def read_file(self, name: str) -> bytes | None:
        """The bytes under a name in the store; None when there is nothing."""
        ...

    def stored_sha256(self, name: str) -> str | None:
        """The SHA-256 of what the store holds under a name; None when there is nothing."""
        ...

    def fetch_pictures(self, addresses: Iterable[str], jobs: int = 8,
                       widths: Sequence[int] = ()) -> int:
        """Make `path_of()` of these indexed pictures (with their thumbnails and copies at
        `widths`) readable here; how many pictures were downloaded."""
        ...

    # -- blobs
    def put_blob(self, path: Path, sha256: str) -> None:
        """Keep a copy of an input file under its content hash (once)."""
        ...

    def fetch_blob(self, sha256: str, cache: Path) -> Path:
        """A local copy of a blob, in `cache` (kept there for the next job)."""
        ...

    # -- index
    def has_index(self) -> bool:
        """Whether the store has an index yet."""
        ...

    def stored(self, quality: str | None = None) -> dict[str, Stored]:
        """address -> what the index holds (of one quality, or all)."""
        ...

    def records(self) -> Iterator[Record]:
        """Every indexed picture."""
        ...

    def record(self, address: str, fingerprint: str | None, inputs: Mapping[str, str],
               sha256: str, size: int, seconds: float | None, blender: str | None) -> None:
        """Index the picture at `path_of(address)` (replacing what was there)."""
        ...

    def quality_settings(self, quality: str) -> dict[str, Any] | None:
        """The settings a quality's renders were made with, if it has any."""
        ...

    def remember_quality(self, quality: str, settings: Mapping[str, Any]) -> None:
        """Record a quality's settings when its first render is stored."""
        ...

    def rebuild_index(self, blender: str | None = None) -> int:
        """Recreate the index from the stored pictures; fingerprints become unknown."""
        ...

    def close(self) -> None:
        """Write what is pending and let go of the index."""
        ...

    # -- lock
    def lock(self, what: str) -> contextlib.AbstractContextManager[None]:
        """Hold the store's write lock; a second holder is refused with who holds it."""
        ...
