"""sitegen's cache folder, and a small cache of input checks keyed by content hash.

The folder is `$SITEGEN_CACHE_DIR`, else `$XDG_CACHE_HOME/sitegen`, else `~/.cache/sitegen`.
Checks (is this file an image? does this .blend open with these objects and cameras?) cost
a decode or a Blender start; their results are kept as one small JSON file each, named by a
hash of everything the answer depends on, so a second `validate` costs a hash per file.
A cache that cannot be written (read-only home, full disk) only makes checks slower.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def cache_dir() -> Path:
    """sitegen's cache folder (not created)."""
    if os.environ.get("SITEGEN_CACHE_DIR"):
        return Path(os.environ["SITEGEN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sitegen"


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's content, read in blocks."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def check_key(*parts: Any) -> str:
    """A stable key over JSON-able parts (content hashes, names, versions)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class CheckCache:
    """Results of input checks, one JSON file per key, under `<cache>/checks/<kind>/`."""

    def __init__(self, kind: str, root: Path | None = None) -> None:
        self.folder = (root or cache_dir()) / "checks" / kind

    def get(self, key: str) -> Any | None:
        try:
            return json.loads((self.folder / f"{key}.json").read_text())
        except (OSError, ValueError):
            return None

    def put(self, key: str, value: Any) -> None:
        with contextlib.suppress(OSError):
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
            try:
                with os.fdopen(fd, "w") as f:
                    json.dump(value, f)
                os.replace(tmp, self.folder / f"{key}.json")
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
