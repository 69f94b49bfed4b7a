"""What the commands share: the group's State and the option declarations, and the checks
of the options against the catalog and the store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from sitegen.catalog.load import load_catalog
from sitegen.catalog.models import Catalog
from sitegen.errors import Problem

if TYPE_CHECKING:
    from sitegen.store import RenderStore

F = TypeVar("F", bound=Callable[..., Any])

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


RENDERS_HELP = "The render store: a folder, or s3://bucket/prefix, of pictures with their index."


def renders_option(help: str = RENDERS_HELP, **settings: Any) -> Callable[[F], F]:
    """--renders: where the render store is (a folder or s3://BUCKET/PREFIX), default
    `renders`; a command says what it does with the store in `help`."""
    return click.option("--renders", "renders", **{"default": "renders", "show_default": True,
                                                   "help": help, **settings})


def blender_worker_options(command: F) -> F:
    """--threads, --recycle-after, --blender, --device: how each Blender worker runs, for the
    commands that start them (`render` and the farm's `worker`)."""
    options = [
        click.option("--threads", type=click.IntRange(min=0), default=0,
                     help="Render threads per Blender worker [default: the cores divided "
                          "among them]."),
        click.option("--recycle-after", type=click.IntRange(min=1), default=100,
                     show_default=True, help="Restart a Blender worker after this many renders."),
        click.option("--blender", type=click.Path(exists=True, dir_okay=False),
                     help="Run the Blender workers in this Blender executable, or this Python "
                          "with bpy, instead of the bpy module (its version is an input of "
                          "every picture)."),
        click.option("--device", type=click.Choice(["auto", "cpu"]), default="auto",
                     show_default=True, help="auto: Cycles on a GPU when one is present (OptiX, "
                     "CUDA, HIP, oneAPI)."),
    ]
    for option in reversed(options):  # listed in --help in this order
        command = option(command)
    return command


def open_store(location: str) -> RenderStore:
    """The render store at LOCATION (its modules, boto3 for S3, imported on first use)."""
    from sitegen.store import open_store

    return open_store(location)


def check_qualities(catalog: Catalog, store: RenderStore) -> None:
    """Refuse a quality whose settings changed since its renders were made."""
    from sitegen.plan import check_quality_unchanged

    for quality in catalog.qualities.values():
        check_quality_unchanged(quality, store.quality_settings(quality.id))


def check_choices(catalog: Catalog, quality: str | None, products: tuple[str, ...],
                  order: str | None, view: str | None) -> None:
    """Refuse an unknown quality, product, order or view as a bad option."""
    def known(value: str | None, ids: Any, hint: str) -> None:
        if value is not None and value not in ids:
            raise click.BadParameter(f"unknown {value!r} (known: {', '.join(ids)})",
                                     param_hint=hint)

    known(quality, catalog.qualities, "--quality")
    for product in products:
        known(product, catalog.products, "--product")
    known(order, catalog.orders, "--order")
    if view is not None and not any(m.views_of(view) for m in catalog.models.values()):
        # a view, a spin's frame or a spin id (all its frames); spins listed as spans
        choices = sorted({v for m in catalog.models.values() for v in m.view_choices})
        raise click.BadParameter(f"unknown {view!r} (known: {', '.join(choices)})",
                                 param_hint="--view")


