"""A deliberately naive reference implementation of CATALOG_FORMAT.md's expansion rules.

Written from the format text alone (sections "Expansion", "From colouring to render name"
and "The default colouring of a kind"), independently of `sitegen.expand`, so that property
tests can compare the two. Speed does not matter here; obviousness does:

- the allowed colourings are found by brute force: every tuple of each part's *maximal*
  candidate set (its offered finishes, plus 0) is tried and kept when each part's value is
  among that part's choices given the other values;
- their order (rule 5: parts in kind order, each part's choices in their own order) is
  obtained by sorting on the tuple of each value's rank within its part's choices.

A colouring is a tuple of part values (finish id, or 0 for removed) in kind order.

Readings taken where the text leaves room:
- "plus 0 if it is optional" appends 0 *after* the finishes, so an optional part's choices
  are its finishes first, then 0 (which is also what "an optional part is present by default"
  needs when the default is the first choice);
- rule 3's "if `s` is 0, `c` is 0" makes 0 the charted part's only choice, optional or not;
- the default colouring takes, part by part, the plain part's `default` when it is among its
  choices, else the part's first choice (so an optional part is present whenever it has a
  finish to show, and 0 when 0 is all it has); a charted part ignores `default`. Only a part
  left with no choice at all makes the default "impossible", and then the default is the
  first allowed colouring, or None when the kind has none.
"""

from __future__ import annotations

import itertools
from typing import Any

Colouring = tuple[int, ...]


def offered(catalog: Any, part: Any) -> list[int]:
    """Rule 1: the finishes a part offers, in catalog order."""
    limitation = catalog.limitations[part.limited] if part.limited is not None else None
    result = []
    for finish in catalog.finishes.values():
        if finish.archived:
            continue
        if catalog.patterns[finish.pattern].nature not in part.covered:
            continue
        if limitation is not None and not (
            finish.id in limitation.finishes or finish.pattern in limitation.patterns
        ):
            continue
        result.append(finish.id)
    return result


def source_index(kind: Any, index: int) -> int | None:
    """The index of the part a charted part reads (None for a plain part)."""
    part = kind.parts[index]
    if part.colorchart is None:
        return None
    if part.source is None:
        return index - 1
    names = [p.part for p in kind.parts]
    return names.index(part.source)


def choices(catalog: Any, kind: Any, index: int, values: Colouring | list[int]) -> list[int]:
    """Rules 2 and 3: a part's choices, given the values of the parts before it."""
    part = kind.parts[index]
    if part.colorchart is None:
        result = list(offered(catalog, part))
    else:
        source = values[source_index(kind, index)]  # type: ignore[index]
        if source == 0:
            return [0]
        chart = catalog.colorcharts[part.colorchart]
        mine = set(offered(catalog, part))
        result = [f for f in chart.map.get(source, []) if f in mine]
    if part.optional:
        result.append(0)
    return result


def colourings(catalog: Any, kind: Any) -> list[Colouring]:
    """Rules 4 and 5: every allowed colouring of a kind, in rule-5 order."""
    candidates = [offered(catalog, p) + [0] for p in kind.parts]
    allowed = []
    for values in itertools.product(*candidates):
        if all(values[i] in choices(catalog, kind, i, values) for i in range(len(values))):
            allowed.append(values)

    def rank(values: Colouring) -> tuple[int, ...]:
        return tuple(choices(catalog, kind, i, values).index(v) for i, v in enumerate(values))

    allowed.sort(key=rank)
    return allowed


def mesh_values(catalog: Any, model: Any, kind: Any, colouring: Colouring) -> list[int]:
    """The value of each mesh of the model, in model order (0 for meshes no part names)."""
    by_mesh: dict[str, int] = {}
    for part, value in zip(kind.parts, colouring, strict=True):
        for mesh in part.meshes:
            by_mesh[mesh] = value
    return [by_mesh.get(mesh.id, 0) for mesh in model.meshes]


def key(catalog: Any, model: Any, kind: Any, colouring: Colouring) -> str:
    """The render name of a colouring: `<mesh>-<value>` for each mesh in model order."""
    values = mesh_values(catalog, model, kind, colouring)
    return "_".join(f"{mesh.id}-{v}" for mesh, v in zip(model.meshes, values, strict=True))


def keys(catalog: Any, model: Any, kind: Any) -> list[str]:
    """The key of each allowed colouring of a kind, in rule-5 order."""
    return [key(catalog, model, kind, c) for c in colourings(catalog, kind)]


def default(catalog: Any, kind: Any) -> Colouring | None:
    """The default colouring of a kind (None when it has no allowed colouring)."""
    values: list[int] = []
    for index, part in enumerate(kind.parts):
        options = choices(catalog, kind, index, values)
        if not options:
            break
        if part.colorchart is None and part.default is not None and part.default in options:
            values.append(part.default)
        else:
            values.append(options[0])
    else:
        return tuple(values)
    allowed = colourings(catalog, kind)
    return allowed[0] if allowed else None


def product_keys(catalog: Any, product: Any) -> set[str]:
    """The distinct keys of a product: those of all its kinds, one per picture."""
    model = catalog.models[product.model]
    result: set[str] = set()
    for kind in product.kinds:
        result.update(keys(catalog, model, kind))
    return result


def selections(catalog: Any, kind: Any, names: list[str]) -> set[tuple[int, ...]]:
    """Each allowed colouring of a kind as a selection over `names` (0 for absent parts)."""
    own = [p.part for p in kind.parts]
    result = set()
    for colouring in colourings(catalog, kind):
        by_name = dict(zip(own, colouring, strict=True))
        result.add(tuple(by_name.get(name, 0) for name in names))
    return result


def overlap(catalog: Any, kind_a: Any, kind_b: Any) -> bool:
    """Whether some selection by part name is an allowed colouring of both kinds.

    A part name that a kind lacks must be 0 in the selection for that kind to allow it.
    """
    names = sorted({p.part for p in kind_a.parts} | {p.part for p in kind_b.parts})
    return bool(selections(catalog, kind_a, names) & selections(catalog, kind_b, names))
