"""Cross-entity checks of a loaded catalog: references, charts, files, and the format's warnings."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import networkx as nx

from sitegen.catalog.load import Locator
from sitegen.catalog.models import MAPS, Catalog, Entity, Kind, Order, Product
from sitegen.errors import Problem


def _listing(values: Iterable[Any], limit: int = 12) -> str:
    items = [str(v) for v in values]
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")


class _Checker:
    def __init__(self, catalog: Catalog, locator: Locator, loaded: bool) -> None:
        self.catalog = catalog
        self.locator = locator
        self.loaded = loaded
        self.problems: list[Problem] = []

    def error(self, entity: Entity, *sub: str | int, message: str) -> None:
        self.problems.append(self.locator.at(entity, *sub, message=message))

    def warn(self, entity: Entity, *sub: str | int, message: str) -> None:
        self.problems.append(self.locator.at(entity, *sub, message=message, warning=True))

    def known(self, section: str, what: str, value: Any, entity: Entity, *sub: str | int) -> bool:
        """Whether `value` names an entity of `section`; an error if it does not."""
        ids = self.catalog.section(section)
        if value in ids:
            return True
        if self.broken(section, value):
            return False
        hint = f" (known: {_listing(sorted(ids, key=str))})" if ids else f" (no {section} defined)"
        self.error(entity, *sub, message=f"unknown {what} {value!r}{hint}")
        return False

    def broken(self, section: str, value: Any) -> bool:
        """Whether `value` names an entry of `section` that failed to load."""
        return value in self.catalog.broken.get(section, ())

    @property
    def failed(self) -> bool:
        """Whether an error was found, here or while loading the files."""
        return not self.loaded or any(not p.warning for p in self.problems)


def validate_catalog(catalog: Catalog, locator: Locator, loaded: bool) -> list[Problem]:
    """Every check of CATALOG_FORMAT.md that spans entities; warnings included.

    `loaded` says whether every file and entry loaded without error; if not, checks that
    would only repeat those errors (a missing entity, an expansion) are left out.
    """
    check = _Checker(catalog, locator, loaded)
    _check_materials(check)
    _check_qualities(check, locator)
    _check_models(check)
    for product in catalog.products.values():
        _check_product(check, product)
    if not check.failed:
        for order in catalog.orders.values():
            _check_order(check, order)
    if not check.failed:
        for product in catalog.products.values():
            _warn_product(check, product)
    return check.problems


def _check_materials(check: _Checker) -> None:
    cat = check.catalog
    for pattern in cat.patterns.values():
        check.known("natures", "nature", pattern.nature, pattern, "nature")
    for finish in cat.finishes.values():
        check.known("patterns", "pattern", finish.pattern, finish, "pattern")
    for lim in cat.limitations.values():
        for i, pid in enumerate(lim.patterns):
            check.known("patterns", "pattern", pid, lim, "patterns", i)
        for i, fid in enumerate(lim.finishes):
            check.known("finishes", "finish", fid, lim, "finishes", i)
    for chart in cat.colorcharts.values():
        for source, targets in chart.map.items():
            check.known("finishes", "finish", source, chart, "map", str(source))
            for i, fid in enumerate(targets):
                check.known("finishes", "finish", fid, chart, "map", str(source), i)
    # Map modes: `pattern` needs the pattern's texture; `finish` needs every unarchived
    # finish's own texture as soon as one finish of the pattern has one.
    by_pattern: dict[str, list[Any]] = {}
    for finish in cat.finishes.values():
        by_pattern.setdefault(finish.pattern, []).append(finish)
    for pattern in cat.patterns.values():
        finishes = by_pattern.get(pattern.id, [])
        for map_name in MAPS:
            mode = getattr(pattern.maps, map_name)
            if mode == "pattern" and getattr(pattern.textures, map_name) is None:
                check.error(pattern, "maps", map_name, message=f"map mode 'pattern' needs the "
                            f"pattern's own texture: add textures.{map_name}")
            elif mode == "finish" and any(getattr(f.textures, map_name) for f in finishes):
                for f in finishes:
                    if not f.archived and getattr(f.textures, map_name) is None:
                        check.error(f, "textures", message=f"finish {f.id}: pattern "
                                    f"'{pattern.id}' takes its {map_name} map from each finish "
                                    f"(map mode 'finish'), and finish {f.id} has no "
                                    f"textures.{map_name}")


def _check_qualities(check: _Checker, locator: Locator) -> None:
    qualities = list(check.catalog.qualities.values())
    primaries = [q for q in qualities if q.primary]
    if not qualities and check.failed:
        return  # the qualities may be in a file or entry that failed to load
    if not qualities:
        site = check.catalog.site
        first = next(iter(locator.docs.values()))
        where = site if site._where[0] else None
        message = "no quality defined: define at least one, exactly one with primary: true"
        if where is not None:
            check.error(where, message=message)
        else:
            check.problems.append(first.place(("qualities",), message))
    elif len(primaries) != 1 and not check.catalog.broken.get("qualities"):
        names = _listing(q.id for q in primaries) if primaries else "none"
        check.error(primaries[1] if primaries else qualities[0], "primary",
                    message=f"exactly one quality must be primary: true (primary now: {names})")
    for q in qualities:
        if q.transparent and q.format == "jpeg":
            check.error(q, "transparent", message="jpeg has no transparency: use png or webp, "
                        "or transparent: false")
        if q.layers:  # docs/layers.md
            if q.format == "jpeg":
                check.error(q, "format", message="a layered quality needs an alpha channel "
                            "for its part layers: use png or webp (jpeg_quality: 100 makes "
                            "webp lossless)")
            if q.engine != "cycles":
                check.error(q, "engine", message="layers are rendered with Cycles holdouts; "
                            f"{q.engine} is not supported for layers: use engine: cycles")
            if q.transparent:
                check.error(q, "transparent", message="a layered quality's backdrop is the "
                            "picture's background: use transparent: false")


def _check_models(check: _Checker) -> None:
    for model in check.catalog.models.values():
        owner: dict[str, str] = {}
        seen: set[str] = set()
        for i, mesh in enumerate(model.meshes):
            if mesh.id in seen:
                check.error(model, "meshes", i, message=f"mesh id {mesh.id!r} appears twice")
            seen.add(mesh.id)
            for obj in mesh.object_names:
                if obj in owner and owner[obj] != mesh.id:
                    check.error(model, "meshes", i, message=f"Blender object {obj!r} belongs to "
                                f"mesh {owner[obj]!r} already; an object is in one mesh only")
                owner[obj] = mesh.id
        for view, n in Counter(model.views).items():
            if n > 1:
                check.error(model, "views", message=f"view {view!r} appears twice")


def _check_product(check: _Checker, product: Product) -> None:
    cat = check.catalog
    model = cat.models.get(product.model)
    if not check.known("models", "model", product.model, product, "model"):
        model = None
    kind_ids = [kind.id for kind in product.kinds]
    for kind_id, count in Counter(kind_ids).items():
        if count > 1:
            check.error(product, "kinds", kind_ids.index(kind_id), "id",
                        message=f"kind id {kind_id!r} appears twice in this product")
    for k, kind in enumerate(product.kinds):
        _check_kind(check, product, k, kind, model.mesh_ids if model else None)


def _check_kind(check: _Checker, product: Product, k: int, kind: Kind,
                mesh_ids: list[str] | None) -> None:
    from sitegen.expand import offered_finishes

    cat = check.catalog
    names = [p.part for p in kind.parts]
    used_meshes: dict[str, str] = {}
    graph: nx.DiGraph[str] = nx.DiGraph()
    for i, part in enumerate(kind.parts):
        at = ("kinds", k, "parts", i)
        if names.index(part.part) != i:
            check.error(product, *at, "part", message=f"part name {part.part!r} is used twice "
                        "in this kind")
        for m, mesh in enumerate(part.meshes):
            if mesh_ids is not None and mesh not in mesh_ids:
                check.error(product, *at, "meshes", m, message=f"unknown mesh {mesh!r} of model "
                            f"'{product.model}' (known: {_listing(mesh_ids)})")
            elif mesh in used_meshes:
                check.error(product, *at, "meshes", m, message=f"mesh {mesh!r} is coloured twice "
                            f"in this kind (also by part {used_meshes[mesh]!r})")
            used_meshes.setdefault(mesh, part.part)
        natures_ok = all([check.known("natures", "nature", n, product, *at, "covered", c)
                          for c, n in enumerate(part.covered)])
        limited_ok = part.limited is None or check.known(
            "limitations", "limitation", part.limited, product, *at, "limited")
        if part.colorchart is not None:
            check.known("colorcharts", "colorchart", part.colorchart, product, *at, "colorchart")
            if part.source is not None:
                if part.source not in names:
                    check.error(product, *at, "source", message=f"unknown source part "
                                f"{part.source!r} (parts of this kind: {_listing(names)})")
                else:
                    graph.add_edge(part.part, part.source)
            elif i == 0:
                check.error(product, *at, "colorchart", message="a colorcharted part needs a "
                            "source: name one with source, or put the part after its source "
                            "(the default source is the part just before)")
        elif part.source is not None:
            check.error(product, *at, "source", message="source is only allowed with "
                        "colorchart")
        if (part.default is not None and natures_ok and limited_ok
                and not check.broken("finishes", part.default)
                and part.default not in offered_finishes(cat, part)):
            known = part.default in cat.finishes
            why = "is not offered by this part" if known else "is not a known finish"
            check.error(product, *at, "default", message=f"default {part.default} {why} "
                        f"(offered: {_listing(offered_finishes(cat, part))})")
    # Each cycle starts at its earliest part in kind order, so the message is stable.
    cycles = []
    for cycle in nx.simple_cycles(graph):
        start = min(range(len(cycle)), key=lambda c: names.index(cycle[c]))
        cycles.append(cycle[start:] + cycle[:start])
    in_cycle = {name for cycle in cycles for name in cycle}
    for cycle in cycles:
        i = names.index(cycle[0])
        chain = " -> ".join([*cycle, cycle[0]])
        check.error(product, "kinds", k, "parts", i, "source",
                    message=f"colorchart cycle: {chain} (each part reads the one after the arrow)")
    for i, part in enumerate(kind.parts):
        if part.source in names and part.part not in in_cycle and names.index(part.source) > i:
            check.error(product, "kinds", k, "parts", i, "source", message=f"source "
                        f"{part.source!r} comes after {part.part!r}; a source must come before "
                        "the parts that read it")


def _check_order(check: _Checker, order: Order) -> None:
    from sitegen.expand import expand_product

    cat = check.catalog
    if not check.known("products", "product", order.product, order, "product"):
        return
    product = cat.products[order.product]
    if order.quality is not None:
        check.known("qualities", "quality", order.quality, order, "quality")
    views = cat.models[product.model].views
    for i, view in enumerate(order.views or []):
        if view not in views:
            check.error(order, "views", i, message=f"unknown view {view!r} of model "
                        f"'{product.model}' (known: {_listing(views)})")
    # What each part name can take, over all kinds that have it.
    domains: dict[str, set[int]] = {}
    for kind_plan in expand_product(cat, product):
        for plan in kind_plan.parts:
            domains.setdefault(plan.name, set()).update(plan.domain)
    for name, selector in order.select.items():
        if name not in domains:
            check.error(order, "select", name, message=f"unknown part {name!r} of product "
                        f"'{product.id}' (parts: {_listing(domains)})")
            continue
        for i, fid in enumerate(selector.finishes):
            if fid not in domains[name]:
                check.error(order, "select", name, "finishes", i, message=f"part {name!r} never "
                            f"offers finish {fid} (it offers: {_listing(sorted(domains[name]))})")
        for i, pid in enumerate(selector.patterns):
            if check.known("patterns", "pattern", pid, order, "select", name, "patterns", i) and (
                not any(cat.finishes[f].pattern == pid for f in domains[name] if f)
            ):
                check.error(order, "select", name, "patterns", i, message=f"part {name!r} never "
                            f"offers a finish of pattern {pid!r}")


def _warn_product(check: _Checker, product: Product) -> None:
    from sitegen.expand import count_colourings, expand_product, offered_finishes

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
                           f"finishes that part {part.part!r} never offers: {_listing(never)}")
            source = plan.parts[i].source
            assert source is not None
            unmapped = [f for f in plan.parts[source].domain if f and f not in chart.map]
            if unmapped:
                check.warn(product, *at, "colorchart", message=f"chart '{chart.id}' does not "
                           f"mention source finish(es) {_listing(unmapped)} of part "
                           f"{plan.parts[source].name!r}: part {part.part!r} then has no choice")
            if part.default is not None:
                check.warn(product, *at, "default", message="a colorcharted part takes the first "
                           "finish its chart gives by default; this default is ignored")
