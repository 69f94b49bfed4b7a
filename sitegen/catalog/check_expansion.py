"""The catalog's checks that need its products expanded: part defaults, orders' selections,
and the warnings about kinds and charts. They run after `validate_catalog`, in
`load_catalog`, which reports their problems with the others."""

from __future__ import annotations

from sitegen.catalog.checker import Checker, Locator, listing
from sitegen.catalog.models import Catalog, Order, Product
from sitegen.errors import Problem
from sitegen.expand import count_colourings, expand_product, offered_finishes


def check_expansion(catalog: Catalog, locator: Locator, failed: bool) -> list[Problem]:
    """Every check of CATALOG_FORMAT.md that needs expansion; warnings included.

    `failed` says whether loading or `validate_catalog` found an error: the defaults are
    checked anyway (as far as their natures and limitation are known), the orders and the
    warnings only on a catalog without error, as they would repeat those errors.
    """
    check = Checker(catalog, locator, not failed)
    for product in catalog.products.values():
        _check_defaults(check, product)
    if not check.failed:
        for order in catalog.orders.values():
            _check_order(check, order)
    if not check.failed:
        for product in catalog.products.values():
            _warn_product(check, product)
    return check.problems


def _check_defaults(check: Checker, product: Product) -> None:
    """A part's default must be one of the finishes it offers (rule 1)."""
    cat = check.catalog
    for k, kind in enumerate(product.kinds):
        for i, part in enumerate(kind.parts):
            # Unknown natures or limitation are errors of validate_catalog already.
            natures_ok = all(n in cat.section("natures") for n in part.covered)
            limited_ok = part.limited is None or part.limited in cat.section("limitations")
            if (part.default is not None and natures_ok and limited_ok
                    and not check.broken("finishes", part.default)
                    and part.default not in offered_finishes(cat, part)):
                known = part.default in cat.finishes
                why = "is not offered by this part" if known else "is not a known finish"
                check.error(product, "kinds", k, "parts", i, "default",
                            message=f"default {part.default} {why} "
                            f"(offered: {listing(offered_finishes(cat, part))})")


def _check_order(check: Checker, order: Order) -> None:
    cat = check.catalog
    if not check.known("products", "product", order.product, order, "product"):
        return
    product = cat.products[order.product]
    if order.quality is not None:
        check.known("qualities", "quality", order.quality, order, "quality")
    model = cat.models[product.model]
    for i, view in enumerate(order.views or []):
        if not model.views_of(view):  # a view, a spin (all its frames) or one frame
            check.error(order, "views", i, message=f"unknown view {view!r} of model "
                        f"'{product.model}' (known: {listing(model.view_choices)})")
    # What each part name can take, over all kinds that have it.
    domains: dict[str, set[int]] = {}
    for kind_plan in expand_product(cat, product):
        for plan in kind_plan.parts:
            domains.setdefault(plan.name, set()).update(plan.domain)
    for name, selector in order.select.items():
        if name not in domains:
            check.error(order, "select", name, message=f"unknown part {name!r} of product "
                        f"'{product.id}' (parts: {listing(domains)})")
            continue
        for i, fid in enumerate(selector.finishes):
            if fid not in domains[name]:
                check.error(order, "select", name, "finishes", i, message=f"part {name!r} never "
                            f"offers finish {fid} (it offers: {listing(sorted(domains[name]))})")
        for i, pid in enumerate(selector.patterns):
            if check.known("patterns", "pattern", pid, order, "select", name, "patterns", i) and (
                not any(cat.finishes[f].pattern == pid for f in domains[name] if f)
            ):
                check.error(order, "select", name, "patterns", i, message=f"part {name!r} never "
                            f"offers a finish of pattern {pid!r}")


def _warn_product(check: Checker, product: Product) -> None:
    cat = check.catalog
    for k, (kind, plan) in enumerate(zip(product.kinds, expand_product(cat, product),
                                         strict=True)):
        if count_colourings(plan) == 0:
            check.warn(product, "kinds", k, message=f"kind '{kind.id}' has no allowed colouring "
                       "(some part has no finish to choose)")
        for i, part in enumerate(kind.parts):
            if part.colorchart is None:
                continue
            at = ("kinds", k, "parts", i)
            chart = cat.colorcharts[part.colorchart]
            offered = set(offered_finishes(cat, part))
            never = sorted({f for targets in chart.map.values() for f in targets} - offered)
            if never:
                check.warn(product, *at, "colorchart", message=f"chart '{chart.id}' maps to "
                           f"finishes that part {part.part!r} never offers: {listing(never)}")
            source = plan.parts[i].source
            assert source is not None
            unmapped = [f for f in plan.parts[source].domain if f and f not in chart.map]
            if unmapped:
                check.warn(product, *at, "colorchart", message=f"chart '{chart.id}' does not "
                           f"mention source finish(es) {listing(unmapped)} of part "
                           f"{plan.parts[source].name!r}: part {part.part!r} then has no choice")
            if part.default is not None:
                check.warn(product, *at, "default", message="a colorcharted part takes the first "
                           "finish its chart gives by default; this default is ignored")
