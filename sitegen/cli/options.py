"""What the commands share: the group's State and the option declarations, and the checks
of the options against the catalog and the store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sitegen.catalog.load import load_catalog
from sitegen.catalog.models import Catalog
from sitegen.errors import Problem

if TYPE_CHECKING:
    from sitegen.store import RenderStore

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class State:
    """Options of the `sitegen` group, shared with its commands."""

    def __init__(self, catalog: Path) -> None:
        self.catalog_dir = catalog

    def load(self, *, strict: bool = False) -> tuple[Catalog, list[Problem]]:
        """Load the catalog; warnings are printed to stderr."""
        catalog, warnings = load_catalog(self.catalog_dir, strict=strict)
        for warning in warnings:
            click.echo(str(warning), err=True)
        return catalog, warnings


pass_state = click.make_pass_decorator(State)


RENDERS_OPTION = click.option(
    "--renders", "renders", default="renders", show_default=True,
    help="The render store: a folder, or s3://bucket/prefix, of pictures with their index.")


def open_store(location: str) -> RenderStore:
    from sitegen.store import open_store

    return open_store(location)


def check_qualities(catalog: Catalog, store: RenderStore) -> None:
    """Refuse a quality whose settings changed since its renders were made."""
    from sitegen.plan import check_quality_unchanged

    for quality in catalog.qualities.values():
        check_quality_unchanged(quality, store.quality_settings(quality.id))



def check_choices(catalog: Catalog, quality: str | None, products: tuple[str, ...],
                   order: str | None, view: str | None) -> None:
    def known(value: str | None, ids: Any, hint: str) -> None:
        if value is not None and value not in ids:
            raise click.BadParameter(f"unknown {value!r} (known: {', '.join(ids)})",
                                     param_hint=hint)

    known(quality, catalog.qualities, "--quality")
    for product in products:
        known(product, catalog.products, "--product")
    known(order, catalog.orders, "--order")
    known(view, sorted({v for m in catalog.models.values() for v in m.views}), "--view")


