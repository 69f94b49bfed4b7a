"""The catalog: YAML files loaded into typed entities, validated as CATALOG_FORMAT.md says."""

import hashlib

from sitegen.catalog.load import load_catalog
from sitegen.catalog.models import Catalog

__all__ = ["Catalog", "file_hashes", "load_catalog"]


def file_hashes(catalog: Catalog) -> dict[str, str]:
    """SHA-256 of every file the catalog names (blend files, textures), by absolute path."""
    hashes = {}
    for path in set(catalog.files.values()):
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        hashes[str(path)] = digest.hexdigest()
    return hashes
