"""Layered qualities (pure): presence patterns, layer names, and counting ready colourings.

A layered quality does not render colourings: it renders, per view,

- a backdrop per *presence* (which meshes of the model are present, value != 0): the floor
  and what the present parts cast on it, the parts themselves unseen;
- a part layer per presence, part (its meshes) and finish: that part alone on transparent
  pixels, every other present mesh a holdout.

The browser stacks the backdrop and one layer per present part. docs/layers.md has the
names, the compositing rule and the limits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass

from sitegen.catalog.models import Catalog, Product
from sitegen.constraints import allowed, count_solutions, marginal
from sitegen.expand import KindPlan, count_union, count_union_by, expand_product, kind_factors

# A present mesh that is not the layer's own: it renders in the neutral material (it is a
# holdout or unseen, but its colour still bounces onto what the layer shows), so a layer
# does not depend on the other parts' finishes. Light grey: the light the demo's finishes
# bounce onto their neighbours is closer to it than to a mid grey (docs/layers.md).
NEUTRAL = -1
NEUTRAL_MATERIAL = {"color": "#b0b0b0", "diffuse": None, "normal": None, "roughness": None}

# Neighbours' light (a quality's `bounce: true`, docs/layers.md): a layer's bounce image
# holds, one strip per neighbouring part, the light that part adds when white instead of
# the neutral grey it is in the layer (the page scales it by (c - g) / (1 - g)).
WHITE_MATERIAL = {"color": "#ffffff", "diffuse": None, "normal": None, "roughness": None}
# The materials layers use besides finishes: by their value in a layer's mesh values, their
# name in the worker's messages and what they are (the white one is only in `open`).
SPECIAL_MATERIALS: dict[int, tuple[str, dict[str, str | None]]] = {
    NEUTRAL: ("neutral", NEUTRAL_MATERIAL)}
WHITE_KEY = "white"
# A bounce image's strips are 1/BOUNCE_SCALE of the frame's width and height, rendered with
# the quality's samples (docs/layers.md, "Measured: neighbours' light").
BOUNCE_SCALE = 8
BOUNCE_VERSION = "3"  # the worker's way of making bounce images (an input of each)
# Neighbour numbers in a bounce image's name, one character per mesh.
BOUNCE_DIGITS = "123456789abcdefghijklmnopqrstuvwxyz"

PREFIX = "layer-"
BACKDROP = "base"  # the backdrop with its parts as holdouts (until 2026-12: "backdrop")
BOUNCE = ".from-"  # `<layer name>.from-<code>` (`bounce_name`)


def presence_of(mesh_values: Sequence[int]) -> str:
    """`1` for each present mesh (value != 0), `0` for each absent one, in model order."""
    return "".join("1" if v else "0" for v in mesh_values)


def backdrop_name(presence: str) -> str:
    """`layer-<presence>-base`."""
    return f"{PREFIX}{presence}-{BACKDROP}"


def part_layer_name(presence: str, meshes: Sequence[str], finish: int) -> str:
    """`layer-<presence>-<mesh ids joined by .>-<finish>`, e.g. `layer-11101-pads.padend-4031`."""
    return f"{PREFIX}{presence}-{'.'.join(meshes)}-{finish}"


def bounce_name(layer: str, code: str) -> str:
    """A layer's bounce image: `<layer>.from-<code>`, the code one character per mesh of
    the model: `0` for a mesh that is not a neighbour (absent, or the layer's own), else
    the number (1-9, a-z) of its neighbour, neighbours numbered by their first mesh in
    model order, which is also the order of the strips. `layer-111111-bar-7006.from-122340`:
    plinth 1, crate and lid 2, post 3, orb 4."""
    return f"{layer}{BOUNCE}{code}"


def is_bounce_name(name: str) -> bool:
    """Whether a store key (or file name) is a bounce image's."""
    return name.startswith(PREFIX) and BOUNCE in name


def neighbours_of(plan: KindPlan, own: Collection[str], present: Sequence[int]
                  ) -> list[int]:
    """The neighbours of a stacked layer (its own mesh ids; none for the backdrop): the
    other present parts (indices into the kind's parts), in strip order."""
    found = [i for i in present
             if not {plan.mesh_ids[m] for m in plan.parts[i].meshes} & set(own)]
    return sorted(found, key=lambda i: min(plan.parts[i].meshes))


def bounce_code(plan: KindPlan, neighbours: Sequence[int]) -> str:
    """The code of `bounce_name` for neighbours in strip order."""
    if len(neighbours) > len(BOUNCE_DIGITS):
        raise ValueError(f"{len(neighbours)} neighbours: a bounce image has at most "
                         f"{len(BOUNCE_DIGITS)}")
    code = ["0"] * len(plan.mesh_ids)
    for n, i in enumerate(neighbours):
        for m in plan.parts[i].meshes:
            code[m] = BOUNCE_DIGITS[n]
    return "".join(code)


def is_layer_name(name: str) -> bool:
    """Whether a store key (file name without extension) is a layer's, not a colouring's.

    Keys never contain two dashes without an underscore: `<mesh>-<value>` joined by `_`.
    """
    return name.startswith(PREFIX) and "_" not in name and name.count("-") >= 2


@dataclass(frozen=True)
class LayerName:
    """A parsed layer name: the backdrop (`meshes` empty) or a part layer."""

    presence: str
    meshes: tuple[str, ...]
    finish: int


def parse_layer_name(name: str) -> LayerName | None:
    """The inverse of `backdrop_name` / `part_layer_name`; None for anything else."""
    if not is_layer_name(name) or is_bounce_name(name):
        return None
    _, presence, rest = name.split("-", 2)
    if not presence or set(presence) - {"0", "1"}:
        return None
    if rest == BACKDROP:
        return LayerName(presence, (), 0)
    group, _, finish = rest.rpartition("-")
    if not group or not finish.isdigit() or "-" in group:
        return None
    return LayerName(presence, tuple(group.split(".")), int(finish))


# --- presence patterns -------------------------------------------------------------------

@dataclass(frozen=True)
class PresencePattern:
    """The allowed colourings of a kind with one presence: which parts are there, and the
    values each part takes in them (0 alone for an absent part)."""

    present: tuple[bool, ...]  # per part of the kind
    presence: str  # per mesh of the model
    values: tuple[tuple[int, ...], ...]  # per part, in the part's domain order

    def layers(self, plan: KindPlan) -> Iterator[tuple[int, int, str]]:
        """(part index, finish, layer name) of every part layer of this pattern."""
        for i, part in enumerate(plan.parts):
            group = [plan.mesh_ids[m] for m in part.meshes]
            for value in self.values[i] if self.present[i] else ():
                yield i, value, part_layer_name(self.presence, group, value)


def kind_patterns(catalog: Catalog, product: Product, plan: KindPlan
                  ) -> tuple[PresencePattern, ...]:
    """Every presence pattern the kind's allowed colourings produce, all parts present
    first; exact (each pattern and each value checked against the kind's rules)."""
    memo_key = ("patterns", product.id, plan.kind)
    cached = catalog.memo.get(memo_key)
    if cached is None:
        cached = catalog.memo[memo_key] = tuple(_patterns(plan))
    return cached


def _patterns(plan: KindPlan) -> Iterator[PresencePattern]:
    parts = plan.parts
    base = kind_factors(plan, range(len(parts)))
    zeroable = [i for i, p in enumerate(parts) if 0 in p.domain]

    def feasible(fixed: Mapping[int, Collection[int]]) -> bool:
        return count_solutions(base + [allowed(i, v) for i, v in fixed.items()]) > 0

    def restrict(present: Mapping[int, bool]) -> dict[int, tuple[int, ...]]:
        return {i: tuple(v for v in parts[i].domain if (v != 0) == on)
                for i, on in present.items()}

    def walk(k: int, present: dict[int, bool]) -> Iterator[PresencePattern]:
        fixed = restrict(present)
        if not feasible(fixed):
            return
        if k < len(zeroable):
            for on in (True, False):
                yield from walk(k + 1, {**present, zeroable[k]: on})
            return
        flags = tuple(present.get(i, True) for i in range(len(parts)))
        # Each present part's values: those with a solution (one elimination per part).
        pinned = base + [allowed(i, v) for i, v in restrict(dict(enumerate(flags))).items()]
        values = []
        for i, part in enumerate(parts):
            found = marginal(pinned, i) if flags[i] else {0: 1}
            values.append(tuple(v for v in part.domain if v in found))
        yield PresencePattern(flags, presence_of(plan.mesh_values([int(on) for on in flags])),
                      tuple(values))

    yield from walk(0, {})


def colouring_layers(plan: KindPlan, values: Sequence[int]) -> list[str]:
    """The layer names a colouring of the kind is stacked from: backdrop, then its parts."""
    return [picture.name for picture in colouring_layer_pictures(plan, values)]


# --- layer pictures ----------------------------------------------------------------------

@dataclass(frozen=True)
class LayerPicture:
    """One layer to render: its name and what each mesh of the model shows in it."""

    name: str
    # per mesh, in model order: a finish, 0 (absent) or NEUTRAL
    mesh_values: tuple[int, ...]
    meshes: tuple[str, ...]  # the part layer's own meshes; () for the backdrop
    bounce: tuple[tuple[str, ...], ...] | None = None  # a bounce image: its neighbours' meshes


def backdrop_picture(presence: str) -> LayerPicture:
    """The backdrop of a presence: every present mesh neutral (and held out)."""
    return LayerPicture(backdrop_name(presence), tuple(NEUTRAL if c == "1" else 0
                                                       for c in presence), ())


def part_layer_picture(plan: KindPlan, presence: str, part: int, finish: int) -> LayerPicture:
    """The layer of part `part` (an index into the kind's parts) in `finish`, at a presence:
    the part's meshes in the finish, the other present meshes neutral."""
    meshes = plan.parts[part].meshes
    group = tuple(plan.mesh_ids[m] for m in meshes)
    mesh_values = [NEUTRAL if c == "1" else 0 for c in presence]
    for m in meshes:
        mesh_values[m] = finish
    return LayerPicture(part_layer_name(presence, group, finish), tuple(mesh_values), group)


def bounce_picture(plan: KindPlan, layer: LayerPicture, present: Sequence[int]
                   ) -> LayerPicture | None:
    """The bounce image of a layer (made with `bounce`), given the present parts (indices
    into the kind's parts): its neighbours' meshes in strip order; None without one."""
    neighbours = neighbours_of(plan, layer.meshes, present)
    if not neighbours:
        return None
    groups = tuple(tuple(plan.mesh_ids[m] for m in plan.parts[i].meshes) for i in neighbours)
    return LayerPicture(bounce_name(layer.name, bounce_code(plan, neighbours)),
                        layer.mesh_values, layer.meshes, groups)


def _with_bounce(plan: KindPlan, base: list[LayerPicture], present: Sequence[int]
                 ) -> list[LayerPicture]:
    found = (bounce_picture(plan, layer, present) for layer in base)
    return base + [b for b in found if b is not None]


def colouring_layer_pictures(plan: KindPlan, values: Sequence[int], bounce: bool = False
                             ) -> list[LayerPicture]:
    """The layers a colouring of the kind is stacked from: the backdrop of its presence,
    then one layer per present part, in kind order; with `bounce`, then each one's bounce
    images (layer by layer)."""
    presence = presence_of(plan.mesh_values(values))
    present = [i for i, value in enumerate(values) if value]
    base = [backdrop_picture(presence)] + [
        part_layer_picture(plan, presence, i, values[i]) for i in present]
    return _with_bounce(plan, base, present) if bounce else base


def colouring_bounces(plan: KindPlan, values: Sequence[int]
                      ) -> list[tuple[int, str, list[int]]]:
    """The bounce images of a colouring's stack, in `colouring_layer_pictures` order: (the
    stacked layer's index, 0 for the backdrop; the image's name; its neighbours' finishes,
    in strip order)."""
    pictures = colouring_layer_pictures(plan, values)
    present = [i for i, value in enumerate(values) if value]
    out = []
    for k, layer in enumerate(pictures):
        neighbours = neighbours_of(plan, layer.meshes, present)
        if neighbours:
            out.append((k, bounce_name(layer.name, bounce_code(plan, neighbours)),
                        [values[i] for i in neighbours]))
    return out


def pattern_layer_pictures(plan: KindPlan, pattern: PresencePattern, bounce: bool = False
                           ) -> list[LayerPicture]:
    """Every layer of a presence pattern: its backdrop, then every part layer; with
    `bounce`, then every bounce image."""
    base = [backdrop_picture(pattern.presence)] + [
        part_layer_picture(plan, pattern.presence, i, value)
        for i, value, _ in pattern.layers(plan)]
    present = [i for i, on in enumerate(pattern.present) if on]
    return _with_bounce(plan, base, present) if bounce else base


# --- counting ready colourings -----------------------------------------------------------

def count_ready_from_layers(catalog: Catalog, product: Product, ready: Collection[str],
                            restrict: Mapping[str, Collection[int]] | None = None,
                            kinds: Collection[str] | None = None) -> int:
    """How many distinct colourings of a product (of `kinds`, default all) have every layer
    in `ready` (layer names of one view), matching `restrict` (part name -> values).

    Structural, never listing colourings: per mesh presence, each kind's present parts may
    only take the finishes whose layer is ready (absent parts only 0), and kinds that share
    the presence are united by inclusion-exclusion (`count_union`), as the catalog's counts.
    The browser's `count()` follows the same steps.
    """
    return sum(count_union([p for p, _ in group], restrict, [v for _, v in group])
               for group in _ready_groups(catalog, product, ready, kinds))


def count_ready_from_layers_by(catalog: Catalog, product: Product, ready: Collection[str],
                               part: str) -> Counter[int | None]:
    """`count_ready_from_layers` restricted to each finish of one part (by name), all in one
    go: finish -> ready colourings with that finish on the part."""
    total: Counter[int | None] = Counter()
    for group in _ready_groups(catalog, product, ready, None):
        total.update(count_union_by([p for p, _ in group], part, None, [v for _, v in group]))
    return total


def _ready_groups(catalog: Catalog, product: Product, ready: Collection[str],
                  kinds: Collection[str] | None
                  ) -> Iterator[list[tuple[KindPlan, dict[int, tuple[int, ...]]]]]:
    """Per mesh presence whose backdrop is ready: the kinds that produce it, each with the
    values its parts may take (present: finishes whose layer is ready; absent: 0)."""
    plans = [p for p in expand_product(catalog, product) if kinds is None or p.kind in kinds]
    by_presence: dict[str, list[tuple[KindPlan, dict[int, tuple[int, ...]]]]] = {}
    for plan in plans:
        for pattern in kind_patterns(catalog, product, plan):
            if backdrop_name(pattern.presence) not in ready:
                continue
            only: dict[int, tuple[int, ...]] = {
                i: () if on else (0,) for i, on in enumerate(pattern.present)}
            for i, value, name in pattern.layers(plan):
                if name in ready:
                    only[i] += (value,)
            by_presence.setdefault(pattern.presence, []).append((plan, only))
    yield from by_presence.values()
