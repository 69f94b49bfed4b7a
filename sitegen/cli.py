"""The command line: thin click commands over the stages, errors turned into clean messages."""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from sitegen.catalog.load import load_catalog
from sitegen.catalog.models import Catalog
from sitegen.errors import Problem, SitegenError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class State:
    """Options of the `sitegen` group, shared with its commands."""

    def __init__(self, catalog: Path, debug: bool) -> None:
        self.catalog_dir = catalog
        self.debug = debug

    def load(self, *, strict: bool = False) -> tuple[Catalog, list[Problem]]:
        """Load the catalog; warnings are printed to stderr."""
        catalog, warnings = load_catalog(self.catalog_dir, strict=strict)
        for warning in warnings:
            click.echo(str(warning), err=True)
        return catalog, warnings


pass_state = click.make_pass_decorator(State)


@click.group(context_settings=CONTEXT)
@click.option("--catalog", "catalog", type=click.Path(path_type=Path), default=Path("catalog"),
              show_default=True, help="The catalog folder (YAML files, read recursively).")
@click.option("--debug", is_flag=True, help="Show the Python traceback of a failure.")
@click.version_option(package_name="sitegen")
@click.pass_context
def cli(ctx: click.Context, catalog: Path, debug: bool) -> None:
    """sitegen: pre-rendered furniture sketchbooks from a YAML catalog.

    Validate the catalog, expand each product into every allowed colouring, render the
    missing pictures in Blender, and build a static sketchbook site.

    \b
    Examples:
      sitegen validate
      sitegen variants kino-stool --count
      sitegen --catalog path/to/catalog products
    """
    ctx.obj = State(catalog, debug)


@cli.command()
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit status 1).")
@pass_state
def validate(state: State, strict: bool) -> None:
    """Check the catalog against CATALOG_FORMAT.md.

    Every problem is printed as `file:line: field: message`, all of them in one run;
    warnings as `file:line: warning: ...`. Exit status 1 when the catalog is invalid.

    \b
    Example:
      sitegen --catalog catalog validate --strict
    """
    catalog, warnings = state.load(strict=strict)
    kinds = sum(len(p.kinds) for p in catalog.products.values())
    click.echo(f"catalog valid: {len(catalog.products)} products, {kinds} kinds, "
               f"{len(catalog.finishes)} finishes, {len(catalog.models)} models"
               + (f", {len(warnings)} warning(s)" if warnings else ""))


@cli.command()
@click.argument("product")
@click.option("--kind", "kind_id", help="Only this kind of the product.")
@click.option("--count", is_flag=True, help="Print only the number of distinct render keys.")
@click.option("--default", "defaults", is_flag=True,
              help="Print each kind's default colouring as `<kind> <key>` (`<kind> -` if none).")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object per colouring (kind, part values, key), one per line.")
@pass_state
def variants(state: State, product: str, kind_id: str | None, count: bool, defaults: bool,
             as_json: bool) -> None:
    """List the allowed colourings of PRODUCT, whatever its render policy.

    By default: the product's distinct render keys, one per line, sorted.

    \b
    Examples:
      sitegen variants kino-stool
      sitegen variants kino-stool --kind lino-top --count
      sitegen variants maru-bench --default
      sitegen variants oto-pouf --json
    """
    from sitegen.expand import (
        count_colourings,
        count_product,
        default_colouring,
        expand_product,
        iter_colourings,
        product_keys,
    )

    catalog, _ = state.load()
    if product not in catalog.products:
        raise click.BadParameter(f"unknown product {product!r} (known: "
                                 f"{', '.join(catalog.products)})", param_hint="PRODUCT")
    plans = expand_product(catalog, catalog.products[product])
    if kind_id is not None:
        plans = tuple(p for p in plans if p.kind == kind_id)
        if not plans:
            kinds = ", ".join(k.id for k in catalog.products[product].kinds)
            raise click.BadParameter(f"unknown kind {kind_id!r} of {product} (known: {kinds})",
                                     param_hint="--kind")
    if count:
        n = count_colourings(plans[0]) if len(plans) == 1 else count_product(plans)
        click.echo(json.dumps({"count": n}) if as_json else str(n))
    elif defaults:
        for plan in plans:
            values = default_colouring(plan)
            if as_json:
                click.echo(json.dumps(_colouring_json(plan, values)))
            else:
                click.echo(f"{plan.kind} {plan.key(values) if values is not None else '-'}")
    elif as_json:
        out = sys.stdout
        for plan in plans:
            for values in iter_colourings(plan):
                out.write(json.dumps(_colouring_json(plan, values)) + "\n")
    else:
        sys.stdout.write("".join(key + "\n" for key in product_keys(plans)))


def _colouring_json(plan: Any, values: tuple[int, ...] | None) -> dict[str, Any]:
    return {
        "kind": plan.kind,
        "parts": dict(zip(plan.part_names, values, strict=True)) if values is not None else None,
        "key": plan.key(values) if values is not None else None,
    }


@cli.command()
@pass_state
def products(state: State) -> None:
    """Show every product: kinds, sketchbook entries and allowed colouring counts.

    An entry groups kinds whose part names are equal or nested; "switch" means the page
    shows a style switch (a selection fits several kinds), "follows" that the kind follows
    from the selection.

    \b
    Example:
      sitegen products
    """
    from sitegen.expand import count_colourings, count_product, expand_product, sketchbook_entries

    catalog, _ = state.load()
    rows = [("PRODUCT", "KINDS", "SKETCHBOOK ENTRIES", "VIEWS", "COLOURINGS")]
    for product in catalog.products.values():
        plans = expand_product(catalog, product)
        kinds = ", ".join(f"{p.kind} ({count_colourings(p)})" for p in plans)
        entries = "; ".join(
            " + ".join(e.kinds) + (" [switch]" if e.style_switch else " [follows]"
                                   if len(e.kinds) > 1 else "")
            for e in sketchbook_entries(plans)
        )
        views = str(len(catalog.models[product.model].views))
        rows.append((product.id, kinds, entries, views, str(count_product(plans))))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning failures into messages and exit statuses."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="sitegen", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        if debug:
            traceback.print_exc()
        exc.show()
        sys.exit(exc.exit_code)
    except SitegenError as exc:  # pragma: no cover - SitegenError is a ClickException
        click.echo(str(exc), err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.stderr.close()  # `sitegen variants ... | head` is not an error
        sys.exit(0)
    except Exception as exc:
        if debug:
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc} (this is a bug; run with "
                   "--debug for the traceback)", err=True)
        sys.exit(1)
