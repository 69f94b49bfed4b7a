"""Planning (pure): what is wanted, what the store holds, and what to render, with reasons."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from sitegen.catalog.models import (
    MAPS,
    Catalog,
    Finish,
    Order,
    Pattern,
    Product,
    Quality,
    SpinFrame,
)
from sitegen.errors import SitegenError
from sitegen.expand import (
    KindPlan,
    default_colouring,
    expand_product,
    iter_colourings,
)
from sitegen.layers import (
    BOUNCE_SCALE,
    BOUNCE_VERSION,
    SPECIAL_MATERIALS,
    WHITE_MATERIAL,
    colouring_layer_pictures,
    kind_patterns,
    pattern_layer_pictures,
)
from sitegen.protocol import Material
from sitegen.store.records import Stored as Stored  # what the store says; verify imports it here

# Bumped when the way pictures are made changes (the Blender worker, material building):
# every stored picture then becomes stale.
RENDERER_VERSION = "1"
# The input that holds the version of the Blender that made a picture ("5.0.1").
BLENDER_INPUT = "blender"

# The quality settings that change a picture (not `primary`, which only says which one the
# sketchbook shows).
PICTURE_SETTINGS = ("engine", "samples", "resolution", "format", "jpeg_quality", "transparent",
                    "denoise", "layers")


@dataclass(frozen=True)
class Wanted:
    """One picture that should exist."""

    quality: str
    model: str
    view: str
    key: str
    ext: str
    values: tuple[tuple[str, int], ...]  # (mesh id, finish id, 0 or NEUTRAL), model order
    product: str
    default: bool  # a kind's default colouring (or one of its layers): rendered first
    layer: tuple[str, ...] | None = None  # a layer: its meshes, () for the backdrop
    # a layer's bounce image: its neighbours' meshes, in strip order
    bounce: tuple[tuple[str, ...], ...] | None = None
    # a spin's frame (`view` is then `spin-07`): its camera object, frame and frame count
    spin: SpinFrame | None = None

    @property
    def camera(self) -> str:
        """The camera object that sees the picture (a spin's, for one of its frames)."""
        return self.spin.camera if self.spin is not None else self.view

    @property
    def address(self) -> str:
        """`<quality>/<model>/<view>/<key>.<ext>`, the picture's path in the store."""
        return f"{self.quality}/{self.model}/{self.view}/{self.key}.{self.ext}"


@dataclass(frozen=True)
class Job:
    """One render to do, and why."""

    wanted: Wanted
    fingerprint: str
    inputs: Mapping[str, str]
    reason: str  # "missing", "stale: <inputs that changed>", "forced"


@dataclass
class Plan:
    """Every wanted picture sorted into ready, stale and to-render."""

    jobs: list[Job] = field(default_factory=list)
    ready: int = 0
    stale_kept: int = 0  # stale pictures not re-rendered (no --stale)

    def counts(self) -> Counter[tuple[str, str]]:
        """(product, reason) -> number of jobs; reasons shortened to their first word."""
        return Counter((j.wanted.product, j.reason.split(":")[0]) for j in self.jobs)

    def reasons(self) -> dict[str, int]:
        """Reason -> number of jobs, whole reasons ("stale: texture changed"), in the order
        the jobs first give them."""
        return dict(Counter(j.reason for j in self.jobs))


def quality_settings(quality: Quality) -> dict[str, Any]:
    """The settings of a quality that change its pictures."""
    data = quality.model_dump()
    settings = {name: data[name] for name in PICTURE_SETTINGS}
    if quality.sizes:  # (only when given: qualities without sizes keep their fingerprints)
        settings["sizes"] = sorted(quality.sizes)
    if quality.bounce:  # (likewise)
        settings["bounce"] = True
    return settings


def digest(data: Any) -> str:
    """A short stable hash of JSON-able data."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def finish_material(catalog: Catalog, finish: Finish) -> Material:
    """How a finish looks: its colour, and per map the texture file used (or None).

    The pattern's map mode says where each map comes from: the pattern's shared file, or
    the finish's own file.
    """
    pattern = catalog.patterns[finish.pattern]
    maps: dict[str, str | None] = {}
    for map_name in MAPS:
        owner: Finish | Pattern = (pattern if getattr(pattern.maps, map_name) == "pattern"
                                   else finish)
        path = catalog.texture_path(owner, map_name)
        maps[map_name] = str(path) if path is not None else None
    return {"color": finish.color, "diffuse": maps["diffuse"], "normal": maps["normal"],
            "roughness": maps["roughness"]}


def render_inputs(catalog: Catalog, wanted: Wanted, file_hashes: Mapping[str, str],
                  blender: str | None = None) -> dict[str, str]:
    """Everything a picture depends on, each as a short hash (or a version), by name.

    `file_hashes` maps absolute file paths (blend files, textures) to their content hash.
    `blender` is the version of the Blender that renders ("5.0.1"), the input `blender`;
    None (unknown here) leaves it out, and `is_current` then compares without it.
    """
    model = catalog.models[wanted.model]
    quality = catalog.qualities[wanted.quality]
    inputs = {
        "renderer": RENDERER_VERSION,
        "quality": digest(quality_settings(quality)),
        "model": digest([file_hashes[str(catalog.blend_path(model))],
                         [(m.id, m.object_names) for m in model.meshes]]),
    }
    if blender is not None:
        inputs[BLENDER_INPUT] = blender
    if wanted.spin is not None:  # (only for frames: plain views keep their fingerprints)
        # `spin-02` of 12 and of 24 share an address but not a camera angle.
        inputs["spin"] = digest({"frame": wanted.spin.frame, "frames": wanted.spin.frames})
    if wanted.bounce is not None:
        inputs["bounce"] = digest({"version": BOUNCE_VERSION, "scale": BOUNCE_SCALE,
                                   "samples": quality.samples, "white": WHITE_MATERIAL})
    for _, value in wanted.values:
        if value in SPECIAL_MATERIALS:
            name, settings = SPECIAL_MATERIALS[value]
            inputs[name] = digest(settings)
        elif value and f"finish {value}" not in inputs:
            material = finish_material(catalog, catalog.finishes[value])
            hashed: dict[str, str | None] = {"color": material["color"]}
            for map_name in MAPS:
                path = material[map_name]  # type: ignore[literal-required]
                hashed[map_name] = file_hashes[path] if path else None
            inputs[f"finish {value}"] = digest(hashed)
    return inputs


def fingerprint(inputs: Mapping[str, str]) -> str:
    """One hash over all of a picture's inputs."""
    return digest(dict(inputs))


def is_current(held: Stored, inputs: Mapping[str, str]) -> bool:
    """Whether a stored picture was made from these inputs (its fingerprint known).

    Where the Blender version is missing on one side (unknown here: no bpy on a host that
    feeds a farm; or a picture indexed before the version was an input) the two are
    compared without it, rather than calling every picture stale.
    """
    if (BLENDER_INPUT in inputs) == (BLENDER_INPUT in held.inputs):
        return held.fingerprint == fingerprint(inputs)
    return (fingerprint({k: v for k, v in held.inputs.items() if k != BLENDER_INPUT})
            == fingerprint({k: v for k, v in inputs.items() if k != BLENDER_INPUT}))


def _order_matches(order: Order, catalog: Catalog, plan: KindPlan,
                   values: tuple[int, ...]) -> bool:
    for name, selector in order.select.items():
        if name not in plan.part_names:
            return False  # this kind lacks the selected part
        value = values[plan.part_names.index(name)]
        if not value or not (value in selector.finishes
                             or catalog.finishes[value].pattern in selector.patterns):
            return False
    return True


def wanted_renders(catalog: Catalog, *, quality: str | None = None,
                   products: Sequence[str] = (), order: str | None = None,
                   view: str | None = None,
                   colouring: tuple[str, tuple[int, ...]] | None = None) -> Iterator[Wanted]:
    """Every wanted picture: products by their render policy, plus the orders; per view
    (each frame of a spin is a view; an order naming a spin wants all its frames).

    Products are wanted at `quality` (default: the primary one), orders at their own:
    with `quality`, only the orders at that quality, unless `order` names one, which is
    then wanted at `quality` too. `products`, `order` and `view` narrow further (`order`
    alone means: only that order's pictures; `view` is a view, a frame or a spin id).
    Defaults come first, bounce images last; a picture wanted twice is listed once. At a
    layered quality the wanted pictures are layers (docs/layers.md): a colouring's backdrop
    and part layers, or, for a product rendered in full, every layer of every presence
    pattern of its kinds.

    `colouring` (a kind id and an allowed colouring of it, with exactly one of `products`)
    wants only that colouring's pictures at `quality`, per view (`sitegen render
    --colouring`, sitegen/configuration.py); orders and render policies play no part.
    """
    primary = catalog.primary_quality.id
    at = quality or primary
    seen: set[str] = set()
    later: list[Wanted] = []  # bounce images
    chosen = [catalog.products[p] for p in products] or list(catalog.products.values())
    only: dict[str, set[str]] = {}  # model -> the view names `view` stands for there

    def kept(model_id: str, v: str) -> bool:
        if view is None:
            return True
        if model_id not in only:
            only[model_id] = set(catalog.models[model_id].views_of(view))
        return v in only[model_id]

    def emit_wanted(product: Product, q: str, views: Sequence[str], model_id: str, key: str,
                    mesh_values: Sequence[int], is_default: bool,
                    layer: tuple[str, ...] | None,
                    bounce: tuple[tuple[str, ...], ...] | None = None) -> Iterator[Wanted]:
        model = catalog.models[model_id]
        for v in views:
            if not kept(model.id, v):
                continue
            w = Wanted(q, model.id, v, key, catalog.qualities[q].ext,
                       tuple(zip(model.mesh_ids, mesh_values, strict=True)), product.id,
                       is_default, layer, bounce, model.spin_frame(v))
            if w.address not in seen:
                seen.add(w.address)
                if bounce is None:
                    yield w
                else:  # after every base layer: colourings are ready without them
                    later.append(w)

    def emit(product: Product, q: str, views: Sequence[str], plan: KindPlan,
             values: tuple[int, ...], is_default: bool) -> Iterator[Wanted]:
        """The picture of a colouring; at a layered quality, the layers it is stacked from."""
        if not catalog.qualities[q].layers:
            yield from emit_wanted(product, q, views, plan.model, plan.key(values),
                                   plan.mesh_values(values), is_default, None)
            return
        for picture in colouring_layer_pictures(plan, values, catalog.qualities[q].bounce):
            yield from emit_wanted(product, q, views, plan.model, picture.name,
                                   picture.mesh_values, is_default, picture.meshes,
                                   picture.bounce)

    def every_layer(product: Product, q: str, views: Sequence[str], plan: KindPlan
                    ) -> Iterator[Wanted]:
        """Every layer of every presence pattern of a kind: what makes all of it ready."""
        for pattern in kind_patterns(catalog, product, plan):
            for picture in pattern_layer_pictures(plan, pattern, catalog.qualities[q].bounce):
                yield from emit_wanted(product, q, views, plan.model, picture.name,
                                       picture.mesh_values, False, picture.meshes,
                                       picture.bounce)

    if colouring is not None:
        product, plan = _colouring_kind(catalog, products, colouring)
        chosen_values = tuple(colouring[1])
        yield from emit(product, at, catalog.models[product.model].views, plan,
                        chosen_values, chosen_values == default_colouring(plan))
        yield from later
        return

    sources: list[tuple[Product, str, Sequence[str], Order | None]] = []
    if order is None:
        sources += [(p, at, catalog.models[p.model].views, None) for p in chosen]
    chosen_ids = {p.id for p in chosen}
    for item in catalog.orders.values():
        if (order is None or item.id == order) and item.product in chosen_ids:
            product = catalog.products[item.product]
            q = quality if order is not None and quality else item.quality or primary
            if quality is None or q == quality:
                model = catalog.models[product.model]
                sources.append((product, q, model.expand_views(item.views or []) or model.views,
                                item))
    plans = {p.id: expand_product(catalog, p) for p, *_ in sources}
    # First every default colouring, then the rest in expansion order.
    for product, q, views, o in sources:
        for plan in plans[product.id]:
            values = default_colouring(plan)
            if values is not None and (o is None or _order_matches(o, catalog, plan, values)):
                yield from emit(product, q, views, plan, values, True)
    for product, q, views, o in sources:
        if o is None and product.render == "default":
            continue
        for plan in plans[product.id]:
            if o is None and catalog.qualities[q].layers:
                yield from every_layer(product, q, views, plan)
                continue
            for values in iter_colourings(plan):
                if o is None or _order_matches(o, catalog, plan, values):
                    yield from emit(product, q, views, plan, values, False)
    yield from later


def _colouring_kind(catalog: Catalog, products: Sequence[str],
                    colouring: tuple[str, tuple[int, ...]]) -> tuple[Product, KindPlan]:
    """The one product and the kind of a wanted colouring; refuse one it does not allow."""
    if len(products) != 1:
        raise SitegenError("a colouring is wanted of exactly one product, "
                           f"not {len(products)}")
    product = catalog.products.get(products[0])
    if product is None:
        raise SitegenError(f"unknown product '{products[0]}'")
    kind, values = colouring[0], tuple(colouring[1])
    plan = next((p for p in expand_product(catalog, product) if p.kind == kind), None)
    if plan is None:
        raise SitegenError(f"{product.id} has no kind '{kind}'")
    if len(values) != len(plan.parts) or plan.colouring_of(plan.mesh_values(values)) != values:
        raise SitegenError(f"{values} is not an allowed colouring of {product.id} {kind}")
    return product, plan


def plan_renders(catalog: Catalog, wanted: Sequence[Wanted], stored: Mapping[str, Stored],
                 file_hashes: Mapping[str, str], *, stale: bool = False,
                 force: bool = False, blender: str | None = None) -> Plan:
    """Sort the wanted pictures into ready and to-render, each job with its reason.

    `blender`: the version of the Blender that will render (None: unknown here).
    """
    plan = Plan()
    for w in wanted:
        inputs = render_inputs(catalog, w, file_hashes, blender)
        fp = fingerprint(inputs)
        held = stored.get(w.address)
        if force:
            plan.jobs.append(Job(w, fp, inputs, "forced"))
        elif held is None:
            plan.jobs.append(Job(w, fp, inputs, "missing"))
        elif held.fingerprint is None or is_current(held, inputs):
            plan.ready += 1  # unknown fingerprints (a rebuilt index) are trusted
        elif stale:
            plan.jobs.append(Job(w, fp, inputs, "stale: " + changed_inputs(held.inputs, inputs)))
        else:
            plan.stale_kept += 1
    return plan


def changed_inputs(old: Mapping[str, str], new: Mapping[str, str]) -> str:
    """Which inputs differ between two input sets, for a stale reason."""
    names = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return ", ".join(names) or "fingerprint"


def check_quality_unchanged(quality: Quality, stored_settings: Mapping[str, Any] | None) -> None:
    """A quality is immutable once it has renders: refuse changed settings."""
    if stored_settings is None:
        return
    now = quality_settings(quality)
    diffs = [f"{k} {stored_settings.get(k)!r} -> {now.get(k)!r}"
             for k in (*PICTURE_SETTINGS, "sizes") if stored_settings.get(k) != now.get(k)]
    if diffs:
        raise SitegenError(
            f"quality '{quality.id}' already has renders made with other settings "
            f"({'; '.join(diffs)}); a quality is immutable once it has renders: add a new "
            "quality with these settings instead (and make it primary if the site should "
            "show it)")


class StatusRow(TypedDict):
    """`sitegen status` for one product at one quality and view (`--json` prints it as is)."""

    product: str
    quality: str
    view: str
    allowed: int  # the product's allowed colourings
    wanted: int  # pictures, or layers at a layered quality
    ready: int  # the unknown ones included
    missing: int
    stale: int
    unknown: int  # ready, of an unknown fingerprint (an index rebuilt from the files)
    unit: str  # "pictures" or "layers"
    colourings_ready: int
    blender: dict[str, int]  # Blender version -> ready pictures made with it


class StatusTotals(TypedDict):
    """Every wanted picture counted once, even when two products want it."""

    wanted: int
    ready: int
    missing: int
    stale: int
    unknown: int


def status_rows(catalog: Catalog, stored: Mapping[str, Stored],
                made_by: Mapping[str, str | None], file_hashes: Mapping[str, str],
                quality: str | None, blender: str | None
                ) -> tuple[list[StatusRow], StatusTotals]:
    """Per product, quality and view: the wanted pictures missing, ready (or of an unknown
    fingerprint) and stale against what `blender` would render now; then the totals.

    At a layered quality the wanted pictures are layers and `colouring_ready` counts the
    colourings whose every layer is ready; `made_by` gives the Blender version of each
    stored address.
    """
    from sitegen.expand import count_union
    from sitegen.layers import count_ready_from_layers

    rows: list[StatusRow] = []
    counted: dict[str, str] = {}  # address -> missing, unknown, ready or stale
    for product in catalog.products.values():
        allowed = count_union(expand_product(catalog, product))
        groups: dict[tuple[str, str], list[Wanted]] = {}
        for w in wanted_renders(catalog, quality=quality, products=[product.id]):
            groups.setdefault((w.quality, w.view), []).append(w)
        for (q, view), items in sorted(groups.items()):
            states: Counter[str] = Counter()
            for w in items:
                state_of = picture_state(catalog, w, stored, file_hashes, blender)
                states[state_of] += 1
                counted[w.address] = state_of
            ready = [w for w in items if counted[w.address] in ("ready", "unknown")]
            layered = bool(catalog.qualities[q].layers)
            rows.append(StatusRow(
                product=product.id, quality=q, view=view, allowed=allowed, wanted=len(items),
                ready=states["ready"] + states["unknown"], missing=states["missing"],
                stale=states["stale"], unknown=states["unknown"],
                unit="layers" if layered else "pictures",
                colourings_ready=(count_ready_from_layers(catalog, product,
                                                          {w.key for w in ready})
                                  if layered else len(ready)),
                blender=version_counts(made_by.get(w.address) for w in ready)))
    tally = Counter(counted.values())
    totals = StatusTotals(wanted=len(counted), ready=tally["ready"] + tally["unknown"],
                          missing=tally["missing"], stale=tally["stale"],
                          unknown=tally["unknown"])
    return rows, totals


def picture_state(catalog: Catalog, wanted: Wanted, stored: Mapping[str, Stored],
                  file_hashes: Mapping[str, str], blender: str | None) -> str:
    """What the store holds of a wanted picture: "missing", "unknown" (ready, of an unknown
    fingerprint), "ready" (made from its inputs now) or "stale"."""
    held = stored.get(wanted.address)
    if held is None:
        return "missing"
    if held.fingerprint is None:
        return "unknown"
    if is_current(held, render_inputs(catalog, wanted, file_hashes, blender)):
        return "ready"
    return "stale"


def version_counts(versions: Iterable[str | None]) -> dict[str, int]:
    """Blender version -> pictures, oldest version first (pictures of no known version are
    left out)."""
    counts: dict[str, int] = {}
    for v in versions:
        if v:
            counts[v] = counts.get(v, 0) + 1

    def order(v: str) -> tuple[tuple[int, ...], str]:
        return tuple(int(p) for p in v.split(".") if p.isdigit()), v

    return {v: counts[v] for v in sorted(counts, key=order)}


class LayerReadiness(TypedDict):
    """At a layered quality, one product at one view: colourings ready now and after a plan."""

    product: str
    quality: str
    view: str
    colourings_ready: int
    colourings_ready_after: int
    allowed: int  # the product's allowed colourings


def layer_readiness(catalog: Catalog, wanted: Iterable[Wanted], plan: Plan,
                    stored: Collection[str]) -> list[LayerReadiness]:
    """Per product and view of the wanted layers, the colourings ready now and once `plan`
    is rendered (a colouring is ready when all its layers are, whichever product wanted
    them); `stored` holds the store's addresses."""
    from sitegen.expand import count_union
    from sitegen.layers import count_ready_from_layers

    rendering = {job.wanted.address for job in plan.jobs}
    groups: dict[tuple[str, str, str], tuple[set[str], set[str]]] = {}  # now, after
    products: dict[tuple[str, str, str], dict[str, None]] = {}
    for w in wanted:
        if w.layer is None:
            continue
        place = (w.quality, w.model, w.view)
        now, after = groups.setdefault(place, (set(), set()))
        products.setdefault(place, {})[w.product] = None
        if w.address in stored:
            now.add(w.key)
        if w.address in stored or w.address in rendering:
            after.add(w.key)
    rows: list[LayerReadiness] = []
    for place, (now, after) in groups.items():
        q, _, view = place
        for product_id in products[place]:
            product = catalog.products[product_id]
            rows.append(LayerReadiness(
                product=product_id, quality=q, view=view,
                colourings_ready=count_ready_from_layers(catalog, product, now),
                colourings_ready_after=count_ready_from_layers(catalog, product, after),
                allowed=count_union(expand_product(catalog, product))))
    return rows
