"""Cross-entity checks of a loaded catalog that need no expansion: references, charts, files."""

from __future__ import annotations

from collections import Counter
from typing import Any

import networkx as nx
from PIL import features

from sitegen.catalog.checker import Checker, Locator, listing
from sitegen.catalog.models import MAPS, Catalog, Kind, Product
from sitegen.errors import Problem


def validate_catalog(catalog: Catalog, locator: Locator, loaded: bool) -> list[Problem]:
    """Every check of CATALOG_FORMAT.md that spans entities; warnings included.

    `loaded` says whether every file and entry loaded without error; if not, checks that
    would only repeat those errors (a missing entity) are left out. The checks that need
    the products expanded come after these, in `check_expansion`.
    """
    check = Checker(catalog, locator, loaded)
    _check_materials(check)
    _check_qualities(check, locator)
    _check_models(check)
    for product in catalog.products.values():
        _check_product(check, product)
    return check.problems


def _check_materials(check: Checker) -> None:
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


def _check_qualities(check: Checker, locator: Locator) -> None:
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
        names = listing(q.id for q in primaries) if primaries else "none"
        check.error(primaries[1] if primaries else qualities[0], "primary",
                    message=f"exactly one quality must be primary: true (primary now: {names})")
    for q in qualities:
        width = q.resolution[0]
        too_wide = [w for w in q.sizes if w >= width]
        twice = sorted({w for w in q.sizes if q.sizes.count(w) > 1})
        if too_wide:
            check.error(q, "sizes", message=f"sizes {listing(map(str, too_wide))} not smaller "
                        f"than the resolution's width ({width}): a size is a downscaled copy")
        if twice:
            check.error(q, "sizes", message=f"sizes {listing(map(str, twice))} given twice")
        if q.transparent and q.format == "jpeg":
            check.error(q, "transparent", message="jpeg has no transparency: use png or webp, "
                        "or transparent: false")
        if q.format == "avif" and (q.transparent or q.layers):
            check.error(q, "format", message="avif is for opaque pictures: browsers decode "
                        "its alpha differently from Pillow (Chromium by up to 20 levels), "
                        "so transparent pictures and layers need png or webp "
                        "(docs/catalog-readings.md)")
        elif q.format == "avif" and not features.check("avif"):
            check.error(q, "format", message="this Python's Pillow does not write AVIF "
                        "(Pillow 11.3 or later, built with libavif, writes the sizes): use "
                        "webp, or install such a Pillow")
        if q.bounce and not q.layers:
            check.error(q, "bounce", message="bounce images belong to part layers: use "
                        "layers: true, or bounce: false")
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


def _check_models(check: Checker) -> None:
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
        # A spin's id is a view id like any other: `{id: front, frames: 8}` next to
        # `front` is the same view twice (its frames never clash: a view id has no dash).
        first: dict[str, int] = {}
        for i, camera in enumerate(model.cameras):
            if camera in first:
                check.error(model, "views", i, message=f"view {camera!r} appears twice "
                            f"(also views[{first[camera]}])")
            first.setdefault(camera, i)


def _check_product(check: Checker, product: Product) -> None:
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


def _check_kind(check: Checker, product: Product, k: int, kind: Kind,
                mesh_ids: list[str] | None) -> None:
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
                            f"'{product.model}' (known: {listing(mesh_ids)})")
            elif mesh in used_meshes:
                check.error(product, *at, "meshes", m, message=f"mesh {mesh!r} is coloured twice "
                            f"in this kind (also by part {used_meshes[mesh]!r})")
            used_meshes.setdefault(mesh, part.part)
        for c, n in enumerate(part.covered):
            check.known("natures", "nature", n, product, *at, "covered", c)
        if part.limited is not None:
            check.known("limitations", "limitation", part.limited, product, *at, "limited")
        if part.colorchart is not None:
            check.known("colorcharts", "colorchart", part.colorchart, product, *at, "colorchart")
            if part.source is not None:
                if part.source not in names:
                    check.error(product, *at, "source", message=f"unknown source part "
                                f"{part.source!r} (parts of this kind: {listing(names)})")
                else:
                    graph.add_edge(part.part, part.source)
            elif i == 0:
                check.error(product, *at, "colorchart", message="a colorcharted part needs a "
                            "source: name one with source, or put the part after its source "
                            "(the default source is the part just before)")
        elif part.source is not None:
            check.error(product, *at, "source", message="source is only allowed with "
                        "colorchart")
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
