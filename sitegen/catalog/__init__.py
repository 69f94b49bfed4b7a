"""The catalog: YAML files loaded into typed entities, validated as CATALOG_FORMAT.md says."""

from sitegen.catalog.load import load_catalog
from sitegen.catalog.models import Catalog

__all__ = ["Catalog", "load_catalog"]
