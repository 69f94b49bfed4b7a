"""The site's data (pure): page data per product, the ready-set encoding, counts.

docs/site.md describes the format the browser reads.
"""

from __future__ import annotations

import base64
import bisect
import struct
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from sitegen import layers
from sitegen.albedo import finish_albedo, neutral_light
from sitegen.catalog.models import Catalog, Product
from sitegen.expand import (
    KindPlan,
    SketchbookEntry,
    count_colourings,
    count_union,
    count_union_by,
    default_colouring,
    expand_product,
    parse_key,
    sketchbook_entries,
)
from sitegen.layers import backdrop_name, kind_patterns, pattern_layer_pictures
from sitegen.protocol import KindData, PageData, PresenceLayers

Row = tuple[int, ...]


def colouring_of_key(plan: KindPlan, key: str) -> tuple[int, ...] | None:
    """The kind's colouring whose render key is `key`, if the key is one of its colourings."""
    pairs = parse_key(key)
    if [mesh for mesh, _ in pairs] != list(plan.mesh_ids):
        return None
    return plan.colouring_of([value for _, value in pairs])


def site_renders(catalog: Catalog, quality: str, addresses: Iterable[str]) -> list[str]:
    """The store addresses the site shows: the quality's pictures of a product's colouring,
    or at a layered quality the layers of a product's presence patterns (and their bounce
    images)."""
    plans: dict[str, list[KindPlan]] = {}
    layer_names: dict[str, set[str]] = {}  # model -> layer names
    layered = catalog.qualities[quality].layers
    bounce = catalog.qualities[quality].bounce
    for product in catalog.products.values():
        plans.setdefault(product.model, []).extend(expand_product(catalog, product))
        for plan in expand_product(catalog, product) if layered else ():
            for pattern in kind_patterns(catalog, product, plan):
                names = layer_names.setdefault(product.model, set())
                names.update(p.name for p in pattern_layer_pictures(plan, pattern, bounce))
    ext = "." + catalog.qualities[quality].ext
    shown = []
    for address in addresses:
        parts = address.split("/")
        if len(parts) != 4:
            continue
        q, model, view, name = parts
        if (q != quality or model not in plans or view not in catalog.models[model].views
                or not name.endswith(ext)):
            continue
        key = name[: -len(ext)]
        if layered:
            if key in layer_names[model]:
                shown.append(address)
            continue
        try:
            if any(colouring_of_key(plan, key) is not None for plan in plans[model]):
                shown.append(address)
        except ValueError:  # not a render key at all
            continue
    return sorted(shown)


@dataclass(frozen=True)
class ReadySet:
    """The ready colourings of one kind in one view, as palette-index rows, sorted."""

    rows: list[Row]
    duplicate: list[bool]  # the row's key belongs to an earlier kind of the entry


def ready_rows(plans: Sequence[KindPlan], entries: Sequence[SketchbookEntry],
               ready_keys: Collection[str]) -> dict[str, ReadySet]:
    """For each kind (by id), its ready colourings among `ready_keys` (one view)."""
    mesh_ids = list(plans[0].mesh_ids) if plans else []
    parsed: list[tuple[str, list[int]]] = []
    for key in ready_keys:
        pairs = parse_key(key)
        if [mesh for mesh, _ in pairs] == mesh_ids:
            parsed.append((key, [value for _, value in pairs]))
    out: dict[str, ReadySet] = {}
    by_id = {p.kind: p for p in plans}
    for entry in entries:
        seen: set[str] = set()  # keys of the entry's earlier kinds
        for kind_id in entry.kinds:
            plan = by_id[kind_id]
            palettes = [{v: i for i, v in enumerate(p.domain)} for p in plan.parts]
            found: list[tuple[Row, bool]] = []
            keys: list[str] = []
            for key, mesh_values in parsed:
                values = plan.colouring_of(mesh_values)
                if values is not None:
                    found.append((tuple(palettes[i][v] for i, v in enumerate(values)),
                                  key in seen))
                    keys.append(key)
            seen.update(keys)
            found.sort()
            out[kind_id] = ReadySet([r for r, _ in found], [d for _, d in found])
    return out


def encode_rows(rows: Sequence[Row]) -> str:
    """Rows of palette indices as base64 of little-endian uint16 (2 bytes per part)."""
    flat = [index for row in rows for index in row]
    return base64.b64encode(struct.pack(f"<{len(flat)}H", *flat)).decode("ascii")


def decode_rows(text: str, parts: int) -> list[Row]:
    """The inverse of `encode_rows`."""
    data = base64.b64decode(text)
    flat = struct.unpack(f"<{len(data) // 2}H", data)
    return [tuple(flat[i:i + parts]) for i in range(0, len(flat), parts)]


def encode_bits(bits: Sequence[bool]) -> str:
    """A bitset (bit i of byte i >> 3, least significant first), base64."""
    data = bytearray((len(bits) + 7) // 8)
    for i, bit in enumerate(bits):
        if bit:
            data[i >> 3] |= 1 << (i & 7)
    return base64.b64encode(bytes(data)).decode("ascii")


def is_ready(ready: ReadySet, row: Row) -> bool:
    """Whether a row is in a (sorted) ready set."""
    i = bisect.bisect_left(ready.rows, row)
    return i < len(ready.rows) and ready.rows[i] == row


def count_ready_from_rows(plans: Sequence[KindPlan], entry: SketchbookEntry,
                ready: Mapping[str, ReadySet], flt: Mapping[str, Collection[int]]) -> int:
    """How many ready pictures of an entry match a filter (part name -> finish ids).

    A part left out is unconstrained; a kind lacking a filtered part matches only if the
    list holds 0. The same rule as the browser's `count()`.
    """
    total = 0
    by_id = {p.kind: p for p in plans}
    for kind_id in entry.kinds:
        plan = by_id[kind_id]
        if any(name not in plan.part_names and 0 not in values for name, values in flt.items()):
            continue
        masks = [set(flt[p.name]) if p.name in flt else None for p in plan.parts]
        for row, dup in zip(ready[kind_id].rows, ready[kind_id].duplicate, strict=True):
            if dup:
                continue
            if all(m is None or plan.parts[i].domain[row[i]] in m for i, m in enumerate(masks)):
                total += 1
    return total


def product_data(catalog: Catalog, product: Product, quality: str,
                 ready_keys: Mapping[str, Collection[str]], renders_url: str,
                 swatches: Mapping[int, str]) -> PageData:
    """The page data of a product (docs/site.md), given the ready keys per view.

    `renders_url` and `swatches` are as the page must use them (relative to the page).
    """
    model = catalog.models[product.model]
    plans = expand_product(catalog, product)
    entries = sketchbook_entries(plans)
    layered = catalog.qualities[quality].layers
    ready = {view: ready_rows(plans, entries, () if layered else ready_keys.get(view, ()))
             for view in model.views}
    used: dict[int, None] = {}
    for plan in plans:
        for part in plan.parts:
            used.update(dict.fromkeys(v for v in part.domain if v))
    finishes = [f for f in catalog.finishes.values() if f.id in used]
    patterns = dict.fromkeys(f.pattern for f in finishes)
    kinds: dict[str, KindData] = {}
    entry_of = {k: i for i, e in enumerate(entries) for k in e.kinds}
    names = {k.id: k.label for k in product.kinds}
    for plan in plans:
        default = default_colouring(plan)
        kind: KindData = {
            "name": names[plan.kind],
            "entry": entry_of[plan.kind],
            "parts": [{
                "name": p.name,
                "meshes": list(p.meshes),
                "optional": p.optional,
                "source": p.source,
                "choices": list(p.plain),
                "chart": {str(k): list(v) for k, v in p.chart.items()} if p.source is not None
                else None,
                "missing": [0] if p.optional else [],
                "palette": list(p.domain),
            } for p in plan.parts],
            "default": list(default) if default is not None else None,
            "allowed": count_colourings(plan),
        }
        if not layered:
            kind["ready"] = {view: encode_rows(ready[view][plan.kind].rows)
                             for view in model.views}
            duplicates = {view: encode_bits(ready[view][plan.kind].duplicate)
                          for view in model.views if any(ready[view][plan.kind].duplicate)}
            if duplicates:
                kind["duplicate"] = duplicates
        kinds[plan.kind] = kind
    data: PageData = {
        "version": 1,
        "product": {"id": product.id, "name": product.label},
        "model": model.id,
        "quality": quality,
        "ext": catalog.qualities[quality].ext,
        "renders_url": renders_url,
        "thumb_suffix": ".thumb.webp",
        "resolution": list(catalog.qualities[quality].resolution),
        "sizes": sorted(catalog.qualities[quality].sizes),
        "views": list(model.views),
        "meshes": list(model.mesh_ids),
        "patterns": {pid: {"name": catalog.patterns[pid].name or pid,
                           "nature": catalog.patterns[pid].nature} for pid in patterns},
        "finishes": {str(f.id): {"name": f.label, "pattern": f.pattern, "color": f.color,
                                 "swatch": swatches[f.id]} for f in finishes},
        "entries": [{"label": " / ".join(names[k] for k in e.kinds), "kinds": list(e.kinds),
                     "parts": list(e.parts), "style_switch": e.style_switch} for e in entries],
        "kinds": kinds,
    }
    if model.spins:  # a spin's frames are views; the page turns them (docs/site.md)
        data["spins"] = {spin.id: spin.frames for spin in model.spins.values()}
    if layered:
        bounce = catalog.qualities[quality].bounce
        data["layers"] = {view: ready_layers(catalog, product, ready_keys.get(view, ()), bounce)
                          for view in model.views}
        if bounce:  # each finish as light, and the neutral's: the weights of bounce images
            data["bounce"] = {"neutral": list(neutral_light())}
            for f in finishes:
                data["finishes"][str(f.id)]["light"] = list(finish_albedo(catalog, f.id))
    return data


def ready_layers(catalog: Catalog, product: Product, ready: Collection[str],
                 bounce: bool = False) -> dict[str, PresenceLayers]:
    """The ready layers of a product in one view (docs/layers.md, "Page data"):
    presence -> {"backdrop": ready?, "parts": {"<meshes joined by .>": [ready finishes]}},
    for every presence pattern of the product's kinds; with `bounce`, also "bounce": the
    ready bounce images' names without `layer-<presence>-`, sorted."""
    out: dict[str, PresenceLayers] = {}
    for plan in expand_product(catalog, product):
        for pattern in kind_patterns(catalog, product, plan):
            entry = out.setdefault(pattern.presence, {
                "backdrop": backdrop_name(pattern.presence) in ready, "parts": {}})
            if bounce:
                head = len(f"{layers.PREFIX}{pattern.presence}-")
                tails = set(entry.get("bounce", ()))
                tails.update(p.name[head:] for p in pattern_layer_pictures(plan, pattern, True)
                             if p.bounce is not None and p.name in ready)
                entry["bounce"] = sorted(tails)
            for i, value, name in pattern.layers(plan):
                group = ".".join(plan.mesh_ids[m] for m in plan.parts[i].meshes)
                finishes = entry["parts"].setdefault(group, [])
                if name in ready and value not in finishes:
                    finishes.append(value)
    for entry in out.values():
        for finishes in entry["parts"].values():
            finishes.sort()
    return out


@dataclass(frozen=True)
class Coverage:
    """How much of a product is ready."""

    allowed: int  # distinct colourings (keys)
    ready: int  # of those, ready in every view
    parts: list[tuple[str, list[tuple[int, int, int]]]]  # part -> [(finish, ready, allowed)]


def product_coverage(catalog: Catalog, product: Product,
                     ready_keys: Mapping[str, Collection[str]],
                     layered: bool = False) -> Coverage:
    """Allowed and ready colourings of a product, overall and per part and finish.

    A colouring counts as ready when its picture exists in every view of the model.
    """
    model = catalog.models[product.model]
    plans = expand_product(catalog, product)
    views = [set(ready_keys.get(v, ())) for v in model.views]
    everywhere = set.intersection(*views) if views else set()
    names = dict.fromkeys(name for plan in plans for name in plan.part_names)
    if layered:
        # A layered quality: a colouring is ready in every view when its layers are (a
        # layer's name is the same in every view). Per part, every finish in one go.
        rows = []
        for name in names:
            ready_by = layers.count_ready_from_layers_by(catalog, product, everywhere, name)
            allowed_by = count_union_by(plans, name)
            rows.append((name, [(f, ready_by[f], allowed_by[f])
                                for f in _part_finishes(plans, name)]))
        return Coverage(count_union(plans),
                        layers.count_ready_from_layers(catalog, product, everywhere), rows)
    # One pass over the ready keys: each counts once (for the first kind that has it) in
    # every (part, finish) it shows.
    ready_counts: dict[tuple[str, int], int] = {}
    ready = 0
    for key in everywhere:
        pairs = parse_key(key)
        if [mesh for mesh, _ in pairs] != list(model.mesh_ids):
            continue
        mesh_values = [value for _, value in pairs]
        for plan in plans:
            values = plan.colouring_of(mesh_values)
            if values is not None:
                ready += 1
                for name, value in zip(plan.part_names, values, strict=True):
                    ready_counts[(name, value)] = ready_counts.get((name, value), 0) + 1
                break
    parts: list[tuple[str, list[tuple[int, int, int]]]] = []
    for name in names:
        parts.append((name, [(finish, ready_counts.get((name, finish), 0),
                              count_union(plans, {name: (finish,)}))
                             for finish in _part_finishes(plans, name)]))
    return Coverage(count_union(plans), ready, parts)


def _part_finishes(plans: Sequence[KindPlan], name: str) -> list[int]:
    """The finishes a part (by name) can take in some kind, in palette order."""
    return list(dict.fromkeys(v for plan in plans for p in plan.parts if p.name == name
                              for v in p.domain if v))
