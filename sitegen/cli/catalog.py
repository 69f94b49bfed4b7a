"""Commands over the catalog: `validate`, `variants`, `products`."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

from sitegen.catalog.models import Catalog
from sitegen.cli.options import State, check_qualities, open_store, pass_state, renders_option
from sitegen.cli.output import print_table
from sitegen.errors import SitegenError

if TYPE_CHECKING:
    from sitegen.expand import KindPlan


@click.command()
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit status 1).")
@renders_option(help="The render store whose qualities must not have changed.")
@click.option("--blender", type=click.Path(exists=True, dir_okay=False),
              help="Check the model files with this Blender executable or Python with bpy "
                   "[default: the bpy module].")
@pass_state
def validate(state: State, strict: bool, renders: str, blender: str | None) -> None:
    """Check the catalog against CATALOG_FORMAT.md.

    Every problem is printed as `file:line: field: message`, all of them in one run;
    warnings as `file:line: warning: ...`. Exit status 1 when the catalog is invalid, or
    when a quality that already has renders in the store changed its settings. Every
    model file is opened in Blender: it must open, have every object models.yaml names
    and a camera per view (answers are cached by the file's content, so an unchanged
    model costs nothing the next time; without the bpy module or --blender, a warning
    says the models were not checked).

    \b
    Example:
      sitegen --catalog catalog validate --strict
    """
    catalog, warnings = state.load(strict=strict)
    check_qualities(catalog, open_store(renders))
    _check_models(catalog, blender)
    kinds = sum(len(p.kinds) for p in catalog.products.values())
    click.echo(f"catalog valid: {len(catalog.products)} products, {kinds} kinds, "
               f"{len(catalog.finishes)} finishes, {len(catalog.models)} models"
               + (f", {len(warnings)} warning(s)" if warnings else ""))


@click.command()
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
        count_union,
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
        n = count_colourings(plans[0]) if len(plans) == 1 else count_union(plans)
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


def _colouring_json(plan: KindPlan, values: tuple[int, ...] | None) -> dict[str, Any]:
    return {
        "kind": plan.kind,
        "parts": dict(zip(plan.part_names, values, strict=True)) if values is not None else None,
        "key": plan.key(values) if values is not None else None,
    }


@click.command()
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
    from sitegen.expand import summarize_product

    catalog, _ = state.load()
    rows = [("PRODUCT", "KINDS", "SKETCHBOOK ENTRIES", "VIEWS", "COLOURINGS")]
    for product in catalog.products.values():
        summary = summarize_product(catalog, product)
        kinds = ", ".join(f"{kind} ({n})" for kind, n in summary.kinds)
        entries = "; ".join(
            " + ".join(e.kinds) + (" [switch]" if e.style_switch else " [follows]"
                                   if len(e.kinds) > 1 else "")
            for e in summary.entries
        )
        rows.append((product.id, kinds, entries, str(summary.views), str(summary.colourings)))
    print_table(rows)


def _check_models(catalog: Catalog, blender: str | None) -> None:
    """Open every model file in Blender (cached): refuse a model that fails, with places.

    Without a Blender here (no bpy module, no --blender), or with the bpy module's workers
    unable to start, a warning says the models were not checked; a --blender that cannot
    run is an error.
    """
    from sitegen.errors import CatalogError
    from sitegen.modelcheck import check_models
    from sitegen.render.blender import find_blender

    try:
        problems = check_models(catalog, list(catalog.models), find_blender(blender))
    except SitegenError as exc:
        if blender is not None:
            raise
        click.echo(f"warning: model files not checked: {exc.format_message()}", err=True)
        return
    found = sorted(p for model in problems.values() for p in model)
    if found:
        raise CatalogError(found)


