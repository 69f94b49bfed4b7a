"""The catalog: YAML files loaded into typed entities, validated as CATALOG_FORMAT.md says.

`sitegen.catalog.load.load_catalog` loads one; this package's own import stays light (the
models), so that expansion, which the loader's last checks use, can import them.
"""

from sitegen.cache import file_sha256
from sitegen.catalog.models import Catalog

__all__ = ["Catalog", "file_hashes"]


def file_hashes(catalog: Catalog) -> dict[str, str]:
    """SHA-256 of every file the catalog names (blend files, textures), by absolute path."""
    return {str(path): file_sha256(path) for path in set(catalog.files.values())}
