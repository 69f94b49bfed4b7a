"""Expansion (pure): a product's kinds -> allowed colourings, render keys, counts, defaults.

The rules are CATALOG_FORMAT.md's "Expansion" section, numbered as there. A colouring is a
tuple with one value per part of the kind, in kind order: a finish id, or 0 for "removed".
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Collection, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import networkx as nx

from sitegen.catalog.models import Catalog, Kind, Part, Product
from sitegen.constraints import Factor, allowed, allowed_pairs, count_solutions, marginal

Colouring = tuple[int, ...]


@dataclass(frozen=True)
class PartPlan:
    """One part of a kind, with its choices worked out."""

    name: str
    meshes: tuple[int, ...]  # indices into the model's mesh list, in model order
    offered: tuple[int, ...]  # rule 1
    optional: bool
    default: int | None
    source: int | None  # index of the source part, for a charted part
    plain: tuple[int, ...]  # rule 2: the choices of a plain part
    chart: dict[int, tuple[int, ...]]  # rule 3: source finish -> choices of a charted part
    domain: tuple[int, ...]  # every value the part takes in some combination (a superset)

    def choices(self, source_value: int = 0) -> tuple[int, ...]:
        """The part's choices, given its source's value (ignored for a plain part)."""
        if self.source is None:
            return self.plain
        if source_value == 0:
            return (0,)
        return self.chart.get(source_value, (0,) if self.optional else ())


@dataclass(frozen=True)
class KindPlan:
    """A kind of a product, ready to expand."""

    product: str
    kind: str
    model: str
    mesh_ids: tuple[str, ...]
    parts: tuple[PartPlan, ...]
    template: str  # str.format template of the render key, one field per part
    part_names: tuple[str, ...]
    hidden: tuple[int, ...]  # meshes of the model that no part of this kind names (always 0)

    def key(self, values: Sequence[int]) -> str:
        """The render key of a colouring: `<mesh>-<value>` for every mesh, in model order."""
        return self.template.format(*values)

    def mesh_values(self, values: Sequence[int]) -> list[int]:
        """The value of every mesh of the model for a colouring of the kind (0: hidden)."""
        mesh_values = [0] * len(self.mesh_ids)
        for part, value in zip(self.parts, values, strict=True):
            for m in part.meshes:
                mesh_values[m] = value
        return mesh_values

    def colouring_of(self, mesh_values: Sequence[int]) -> tuple[int, ...] | None:
        """The kind's allowed colouring that puts these values on the meshes, if any."""
        if any(mesh_values[m] for m in self.hidden):
            return None
        values: list[int] = []
        for part in self.parts:
            value = mesh_values[part.meshes[0]]
            if any(mesh_values[m] != value for m in part.meshes[1:]):
                return None
            source = values[part.source] if part.source is not None else 0
            if value not in part.choices(source):
                return None
            values.append(value)
        return tuple(values)


def offered_finishes(catalog: Catalog, part: Part) -> list[int]:
    """Rule 1: the finishes a part offers, in catalog order."""
    # Many parts share their natures and limitation: each combination is worked out once
    # per catalog (a loaded catalog never changes).
    memo_key = ("offered", tuple(sorted(set(part.covered))), part.limited)
    cached = catalog.memo.get(memo_key)
    if cached is None:
        cached = catalog.memo[memo_key] = _offered(catalog, set(part.covered), part.limited)
    return list(cached)


def _offered(catalog: Catalog, natures: set[str], limited: str | None) -> tuple[int, ...]:
    limitation = catalog.limitations.get(limited) if limited else None
    offered = []
    for finish in catalog.finishes.values():
        pattern = catalog.patterns.get(finish.pattern)
        if pattern is None or pattern.nature not in natures or finish.archived:
            continue
        if limitation is not None and not (
            finish.id in limitation.finishes or finish.pattern in limitation.patterns
        ):
            continue
        offered.append(finish.id)
    return tuple(offered)


def _filtered_chart(catalog: Catalog, chart_id: str, part: Part, offered: tuple[int, ...]
                    ) -> dict[int, tuple[int, ...]]:
    """Rule 3: a chart's lists filtered to the part's offered finishes (+ 0 if optional)."""
    memo_key = ("chart", chart_id, tuple(sorted(set(part.covered))), part.limited,
                part.optional)
    cached = catalog.memo.get(memo_key)
    if cached is None:
        offered_set = set(offered)
        zero = (0,) if part.optional else ()
        cached = catalog.memo[memo_key] = {
            src: tuple(f for f in targets if f in offered_set) + zero
            for src, targets in catalog.colorcharts[chart_id].map.items()
        }
    return cached


def expand_kind(catalog: Catalog, product: Product, kind: Kind) -> KindPlan:
    """Work out every part's choices for one kind of a (valid) product."""
    model = catalog.models[product.model]
    mesh_ids = tuple(model.mesh_ids)
    names = [p.part for p in kind.parts]
    plans: list[PartPlan] = []
    for i, part in enumerate(kind.parts):
        offered = tuple(offered_finishes(catalog, part))
        zero = (0,) if part.optional else ()
        source: int | None = None
        chart: dict[int, tuple[int, ...]] = {}
        if part.colorchart is None:
            plain = offered + zero
            domain = plain
        else:
            source = names.index(part.source) if part.source is not None else i - 1
            chart = _filtered_chart(catalog, part.colorchart, part, offered)
            plain = ()
            seen: dict[int, None] = {}
            for value in plans[source].domain:
                seen.update(dict.fromkeys((0,) if value == 0 else chart.get(value, zero)))
            domain = tuple(seen)
        plans.append(PartPlan(
            name=part.part,
            meshes=tuple(sorted(mesh_ids.index(m) for m in part.meshes)),  # model order
            offered=offered,
            optional=part.optional,
            default=part.default,
            source=source,
            plain=plain,
            chart=chart,
            domain=domain,
        ))
    owner = {m: i for i, p in enumerate(plans) for m in p.meshes}
    template = "_".join(
        f"{mesh}-{{{owner[j]}}}" if j in owner else f"{mesh}-0" for j, mesh in enumerate(mesh_ids)
    )
    hidden = tuple(j for j in range(len(mesh_ids)) if j not in owner)
    return KindPlan(product.id, kind.id, model.id, mesh_ids, tuple(plans), template,
                    tuple(names), hidden)


def expand_product(catalog: Catalog, product: Product) -> tuple[KindPlan, ...]:
    """Every kind of a product, expanded (once per catalog)."""
    memo_key = ("product", product.id)
    plans = catalog.memo.get(memo_key)
    if plans is None:
        plans = tuple(expand_kind(catalog, product, kind) for kind in product.kinds)
        catalog.memo[memo_key] = plans
    return plans


def iter_colourings(plan: KindPlan) -> Iterator[Colouring]:
    """Rule 5: every allowed colouring, lazily, parts in kind order, choices in their order."""
    parts = plan.parts
    last = len(parts) - 1
    values = [0] * len(parts)

    def choices(i: int) -> tuple[int, ...]:
        p = parts[i]
        return p.plain if p.source is None else p.choices(values[p.source])

    if last == 0:
        yield from ((v,) for v in choices(0))
        return
    # Depth-first over the first parts; the last part's choices are looped in one go.
    stack = [iter(choices(0))]
    while stack:
        depth = len(stack) - 1
        for value in stack[depth]:
            values[depth] = value
            if depth + 1 == last:
                prefix = tuple(values[:last])
                for tail in choices(last):
                    yield (*prefix, tail)
            else:
                stack.append(iter(choices(depth + 1)))
                break
        else:
            stack.pop()


def iter_keys(plan: KindPlan) -> Iterator[str]:
    """The render key of every allowed colouring, in rule 5 order."""
    fmt = plan.template.format
    for values in iter_colourings(plan):
        yield fmt(*values)


def default_colouring(plan: KindPlan) -> Colouring | None:
    """The kind's default colouring, or None when the kind has no allowed colouring."""
    values: list[int] = []
    for p in plan.parts:
        choices = p.choices(values[p.source] if p.source is not None else 0)
        if not choices:
            return next(iter_colourings(plan), None)
        # A plain part takes its default when it can; a charted part its chart's first choice.
        values.append(p.default if p.source is None and p.default in choices else choices[0])
    return tuple(values)


def kind_factors(plan: KindPlan, part_vars: Sequence[Hashable],
                 zero_vars: Iterable[Hashable] = ()) -> list[Factor]:
    """The kind's rules as constraints: part i's value is variable part_vars[i]."""
    factors = []
    for i, p in enumerate(plan.parts):
        if p.source is None:
            factors.append(allowed(part_vars[i], p.plain))
        else:
            pairs = [(s, c) for s in plan.parts[p.source].domain for c in p.choices(s)]
            factors.append(allowed_pairs(part_vars[p.source], part_vars[i], pairs))
    factors.extend(allowed(v, (0,)) for v in zero_vars)
    return factors


def count_common(plans: Sequence[KindPlan],
                 restrict: Mapping[str, Collection[int]] | None = None,
                 part_values: Sequence[Mapping[int, Collection[int]]] | None = None) -> int:
    """How many render keys every one of `plans` (kinds of one model) produces.

    With `restrict` (part name -> allowed values), only colourings whose parts take those
    values count; a kind lacking a restricted part matches it only when 0 is allowed.
    `part_values` restricts further, kind by kind: for plans[k], part index -> values.
    """
    return _common(plans, restrict, part_values)[None]


def _common(plans: Sequence[KindPlan], restrict: Mapping[str, Collection[int]] | None,
            part_values: Sequence[Mapping[int, Collection[int]]] | None,
            by: str | None = None) -> Counter[int | None]:
    """`count_common`, as {None: count}; with `by` (a part name), per value of that part
    (kinds lacking it share no key with it: an empty count).

    A key is a value per mesh. Meshes coloured by one part of any of the kinds must share a
    value, so they are merged into one variable (union-find); each kind then adds its own
    rules over those variables, and its hidden meshes must be 0. Within one kind, distinct
    colourings give distinct keys (its parts have disjoint, non-empty mesh sets), so each
    solution is exactly one key common to all the kinds.
    """
    parent = list(range(len(plans[0].mesh_ids)))

    def find(m: int) -> int:
        while parent[m] != m:
            parent[m] = parent[parent[m]]
            m = parent[m]
        return m

    for plan in plans:
        for p in plan.parts:
            for m in p.meshes[1:]:
                parent[find(m)] = find(p.meshes[0])
    factors: list[Factor] = []
    by_values: set[int] = set()  # the variables of part `by` (one, unless kinds differ)
    for k, plan in enumerate(plans):
        part_vars = [find(p.meshes[0]) for p in plan.parts]
        factors += kind_factors(plan, part_vars, [find(m) for m in plan.hidden])
        if part_values is not None:
            factors += [allowed(part_vars[i], values) for i, values in part_values[k].items()]
        for name, values in (restrict or {}).items():
            if name in plan.part_names:
                factors.append(allowed(part_vars[plan.part_names.index(name)], values))
            elif 0 not in values:
                return Counter()  # the kind lacks the part: only "removed" (0) matches it
        if by is not None:
            if by not in plan.part_names:
                return Counter()  # counted by a value of the part: the kind must have it
            by_values.add(part_vars[plan.part_names.index(by)])
    if by is None:
        return Counter({None: count_solutions(factors)})
    if len(by_values) == 1:
        return Counter(marginal(factors, by_values.pop()))
    # The kinds colour the part on separate meshes: one count per value.
    domain = {v for plan in plans for p in plan.parts if p.name == by for v in p.domain}
    return Counter({v: n for v in domain
                    if (n := count_solutions(factors + [allowed(x, (v,)) for x in by_values]))})


def count_colourings(plan: KindPlan) -> int:
    """The number of allowed colourings of a kind, from its structure (no enumeration).

    Within one kind every charted part reads one source that comes before it, so the parts
    form a forest. Going backwards, `weight[i][v]` is the number of ways to colour the parts
    that read part i (directly or down a chain) when part i takes value v; the count is the
    product, over the plain parts (the roots), of their weights summed over their choices.
    The cost is the size of the charts, not the number of colourings.
    """
    weight = part_weights(plan)
    total = 1
    for i, p in enumerate(plan.parts):
        if p.source is None:
            total *= sum(weight[i][v] for v in p.plain)
    return total


def part_weights(plan: KindPlan) -> list[dict[int, int]]:
    """weight[i][v]: the ways to colour the parts that read part i (directly or down a
    chain) when part i takes value v (see `count_colourings`)."""
    parts = plan.parts
    readers: list[list[int]] = [[] for _ in parts]
    for i, p in enumerate(parts):
        if p.source is not None:
            readers[p.source].append(i)
    weight: list[dict[int, int]] = [{} for _ in parts]
    for i in reversed(range(len(parts))):
        for value in parts[i].domain:
            ways = 1
            for r in readers[i]:
                ways *= sum(weight[r].get(v, 0) for v in parts[r].choices(value))
                if not ways:
                    break
            weight[i][value] = ways
    return weight


def count_union(plans: Sequence[KindPlan],
                restrict: Mapping[str, Collection[int]] | None = None,
                part_values: Sequence[Mapping[int, Collection[int]]] | None = None) -> int:
    """The number of distinct render keys over kinds of one model (restricted as in
    `count_common`).

    Two kinds can produce the same key (the same finishes on the same meshes), so the
    count is the size of a union, by inclusion-exclusion:
    |K1 u ... u Kn| = sum over non-empty subsets T of (-1)^(|T|+1) |intersection of T|,
    each intersection counted exactly by `count_common`. A subset containing a subset with
    an empty intersection is empty too and is skipped, so disjoint kinds cost n + n(n-1)/2
    small problems.
    """
    return _union(plans, restrict, part_values, None)[None]


def count_union_by(plans: Sequence[KindPlan], part: str,
                   restrict: Mapping[str, Collection[int]] | None = None,
                   part_values: Sequence[Mapping[int, Collection[int]]] | None = None
                   ) -> Counter[int | None]:
    """`count_union` for every value of one part at once: value -> the count restricted to
    it (a value missing counts 0). One elimination per intersection, not one per value.
    Kinds that lack the part count for no value (not even 0)."""
    return _union(plans, restrict, part_values, part)


def _union(plans: Sequence[KindPlan], restrict: Mapping[str, Collection[int]] | None,
           part_values: Sequence[Mapping[int, Collection[int]]] | None,
           by: str | None) -> Counter[int | None]:
    empty: set[frozenset[int]] = set()
    total: Counter[int | None] = Counter()
    for size in range(1, len(plans) + 1):
        for subset in itertools.combinations(range(len(plans)), size):
            members = frozenset(subset)
            if any(members - {k} in empty for k in subset if size > 1):
                empty.add(members)
                continue
            common = _common([plans[k] for k in subset], restrict,
                             None if part_values is None else [part_values[k] for k in subset],
                             by)
            if not any(common.values()):
                empty.add(members)
            for value, n in common.items():
                total[value] += n if size % 2 else -n
    return total


def product_keys(plans: Sequence[KindPlan]) -> list[str]:
    """The distinct render keys of a product's kinds, sorted."""
    return sorted({key for plan in plans for key in iter_keys(plan)})


def parse_key(key: str) -> list[tuple[str, int]]:
    """`frame-1127_top-0` -> [("frame", 1127), ("top", 0)]."""
    pairs = []
    for item in key.split("_"):
        mesh, _, value = item.rpartition("-")
        pairs.append((mesh, int(value)))
    return pairs


@dataclass(frozen=True)
class SketchbookEntry:
    """Kinds shown together on one sketchbook palette."""

    kinds: tuple[str, ...]  # kind ids, in product order
    parts: tuple[str, ...]  # part names over those kinds, in first-seen order
    style_switch: bool  # some selection fits more than one of the kinds


def selections_overlap(a: KindPlan, b: KindPlan) -> bool:
    """Whether one selection of finishes (by part name) is an allowed colouring of both kinds.

    A part that a kind lacks must be 0 (absent) in the selection for that kind to fit it.
    """
    names = dict.fromkeys((*a.part_names, *b.part_names))
    factors = kind_factors(a, a.part_names, [n for n in names if n not in a.part_names])
    factors += kind_factors(b, b.part_names, [n for n in names if n not in b.part_names])
    return count_solutions(factors) > 0


def sketchbook_entries(plans: Sequence[KindPlan]) -> list[SketchbookEntry]:
    """Group a product's kinds: equal or nested part-name sets share one entry.

    Inside an entry, the kind follows from the selection unless two kinds accept the same
    selection; then the page needs a style switch.
    """
    graph: nx.Graph[int] = nx.Graph()
    graph.add_nodes_from(range(len(plans)))
    signatures = [set(p.part_names) for p in plans]
    for i, j in itertools.combinations(range(len(plans)), 2):
        if signatures[i] <= signatures[j] or signatures[j] <= signatures[i]:
            graph.add_edge(i, j)
    entries = []
    for group in sorted((sorted(c) for c in nx.connected_components(graph)), key=min):
        members = [plans[i] for i in group]
        switch = any(selections_overlap(a, b) for a, b in itertools.combinations(members, 2))
        parts = dict.fromkeys(name for plan in members for name in plan.part_names)
        entries.append(SketchbookEntry(tuple(p.kind for p in members), tuple(parts), switch))
    return entries


@dataclass(frozen=True)
class ProductSummary:
    """What `sitegen products` shows of a product."""

    product: str
    kinds: tuple[tuple[str, int], ...]  # (kind, its allowed colourings)
    entries: tuple[SketchbookEntry, ...]
    views: int
    colourings: int  # distinct over its kinds


def summarize_product(catalog: Catalog, product: Product) -> ProductSummary:
    """A product's kinds with their counts, its sketchbook entries, views and count."""
    plans = expand_product(catalog, product)
    return ProductSummary(product.id, tuple((p.kind, count_colourings(p)) for p in plans),
                          tuple(sketchbook_entries(plans)),
                          len(catalog.models[product.model].views), count_union(plans))
