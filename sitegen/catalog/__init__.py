"""The catalog: YAML files loaded into typed entities, validated as CATALOG_FORMAT.md says."""

from sitegen.cache import file_sha256
from sitegen.catalog.load import load_catalog
from sitegen.catalog.models import Catalog

__all__ = ["Catalog", "file_hashes", "load_catalog"]


def file_hashes(catalog: Catalog) -> dict[str, str]:
    """SHA-256 of every file the catalog names (blend files, textures), by absolute path."""
    return {str(path): file_sha256(path) for path in set(catalog.files.values())}
