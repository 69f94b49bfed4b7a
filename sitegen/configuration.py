"""Configuration strings (pure): `Frame:1127-Pads:235-Bolsters:0` -> a kind and its colouring.

A configuration is the old render API's way of naming a colouring: `Part:<finish id>`
items joined by `-`, part names as the catalog writes them, `Part:0` for a removed part.
Parts left out take the kind's default, and the kind follows from the parts as in the
sketchbook (templates/static/model.js `resolve`, `defaultFor`); docs/catalog-readings.md,
"Configuration strings", says how an ambiguous or impossible one is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sitegen.catalog.models import MAX_FINISH_ID, Catalog, Product
from sitegen.errors import SitegenError, shorten
from sitegen.expand import KindPlan, default_colouring, expand_product

LISTED = 8  # finishes a message lists before "and N more"


def product_part_names(catalog: Catalog, product_id: str) -> tuple[str, ...]:
    """Every part name of a product's kinds, in first-seen order."""
    plans = expand_product(catalog, _product(catalog, product_id))
    return tuple(dict.fromkeys(name for plan in plans for name in plan.part_names))


def parse_configuration(text: str, part_names: Iterable[str]) -> dict[str, int]:
    """Read `Part:<finish id>` items joined by `-` into part name -> finish id (0: removed).

    Items are matched against the known part names (longest first), so a name may hold
    spaces or dashes; blanks around `:` and `-` are allowed. An empty text names no part.
    """
    names = list(dict.fromkeys(part_names))
    longest_first = sorted(names, key=len, reverse=True)
    item = re.compile(r"\s*(?P<name>{})\s*:\s*(?P<value>[0-9]+)\s*(?P<dash>-|$)".format(
        "|".join(re.escape(n) for n in longest_first) or r"(?!)"))
    text = text.strip()
    parts: dict[str, int] = {}
    at = 0
    while at < len(text):
        found = item.match(text, at)
        if found is None:
            raise SitegenError(_unreadable(text, at, names))
        name, digits = found["name"], found["value"]
        if len(digits) > len(str(MAX_FINISH_ID)) or int(digits) > MAX_FINISH_ID:
            raise SitegenError(shorten(f"{name}:{digits} in '{text}': a finish id is at most "
                                       f"{MAX_FINISH_ID}"))
        if name in parts:
            raise SitegenError(shorten(f"part {name} is given twice in '{text}'"))
        parts[name] = int(digits)
        at = found.end()
        if found["dash"] and at == len(text):
            raise SitegenError(shorten(f"'{text}' ends with '-': give one more "
                                       "Part:<finish id>, or leave the dash out"))
    return parts


def _unreadable(text: str, at: int, names: Sequence[str]) -> str:
    """Why the item at `at` is not `Part:<finish id>` of a known part."""
    rest = text[at:]
    where = f"'{rest}' in '{text}'" if at else f"'{text}'"
    head, colon, _ = rest.partition(":")
    name = head.strip()
    known = ", ".join(names)
    if not colon:
        return shorten(f"{where} is not Part:<finish id> (the parts are: {known}; Part:0 "
                       "removes a part)")
    if name in names:
        return shorten(f"{where}: the finish of {name} is a finish id, a number (0 removes "
                       "the part)")
    hint = next((f" (did you mean {n}?)" for n in names if n.casefold() == name.casefold()), "")
    return shorten(f"unknown part '{name}' in '{text}'{hint}; the parts are: {known}")


def configuration_string(plan: KindPlan, values: Sequence[int]) -> str:
    """A colouring of a kind as a configuration: `Part:<value>` in kind order, `-` joined."""
    return "-".join(f"{name}:{value}" for name, value in zip(plan.part_names, values,
                                                             strict=True))


def resolve_configuration(catalog: Catalog, product_id: str, text: str,
                          kind: str | None = None) -> tuple[KindPlan, tuple[int, ...]]:
    """The kind and allowed colouring a configuration string names (`resolve_parts`)."""
    parts = parse_configuration(text, product_part_names(catalog, product_id))
    return resolve_parts(catalog, product_id, parts, kind)


def resolve_parts(catalog: Catalog, product_id: str, parts: Mapping[str, int],
                  kind: str | None = None) -> tuple[KindPlan, tuple[int, ...]]:
    """The kind and allowed colouring (values in kind part order) for part name -> finish
    id (0: removed): the parts left out take the kind's default where still allowed, else
    their first choice.

    The kind is `kind`, or the one kind of the product the parts fit (a kind lacking a
    named part fits only when it is given as 0); where several fit, the one whose every
    part is given. Anything else (ambiguous, impossible, an unknown part or finish) raises
    a SitegenError listing what would fit.
    """
    plans = expand_product(catalog, _product(catalog, product_id))
    names = tuple(dict.fromkeys(name for plan in plans for name in plan.part_names))
    unknown = [name for name in parts if name not in names]
    if unknown:
        raise SitegenError(shorten(
            f"{product_id} has no part {', '.join(repr(n) for n in unknown)}; its parts are: "
            f"{', '.join(names)}"))
    candidates = plans
    if kind is not None:
        candidates = tuple(p for p in plans if p.kind == kind)
        if not candidates:
            raise SitegenError(shorten(f"{product_id} has no kind '{kind}'; its kinds are: "
                                       f"{', '.join(p.kind for p in plans)}"))
    given = "-".join(f"{name}:{value}" for name, value in parts.items())
    _check_finishes(catalog, f"{product_id} {kind}" if kind else product_id, candidates,
                    parts, given)
    fits: list[tuple[KindPlan, tuple[int, ...]]] = []
    misfits: list[tuple[KindPlan, Misfit]] = []
    for plan in candidates:
        values = fit_parts(plan, parts)
        if isinstance(values, Misfit):
            misfits.append((plan, values))
        else:
            fits.append((plan, values))
    if len(fits) == 1:
        return fits[0]
    if not fits:
        head = (f"no kind of {product_id} takes '{given}'" if len(candidates) > 1 else
                f"kind {candidates[0].kind} of {product_id} does not take '{given}'")
        lines = [f"  {_kind_label(catalog, plan)}: {misfit.describe(catalog)}"
                 for plan, misfit in misfits]
        raise SitegenError(shorten(head + ":\n" + "\n".join(lines)))
    # Several fit: those with no part left out win (maru's two kinds share every part).
    complete = [(plan, values) for plan, values in fits if set(plan.part_names) <= set(parts)]
    if len(complete) == 1:
        return complete[0]
    shown = complete or fits
    lines = [f"  --kind {plan.kind}: {configuration_string(plan, values)}"
             for plan, values in shown]
    raise SitegenError(shorten(
        f"'{given}' is ambiguous: it fits {len(shown)} kinds of {product_id}; pass --kind "
        "to choose one:\n" + "\n".join(lines)))


@dataclass(frozen=True)
class Misfit:
    """Why parts do not fit a kind: the first offending part, and what it takes there."""

    part: str
    takes: tuple[int, ...] | None  # its choices given the parts before it; None: no such part
    source: str | None = None  # what those choices follow (a charted part): `Top:1140`

    def describe(self, catalog: Catalog) -> str:
        """The reason in words, with the finishes that would fit."""
        if self.takes is None:
            return f"it has no part {self.part} (only {self.part}:0 fits it)"
        if not self.takes:
            return f"no finish of {self.part} goes with {self.source}"
        after = f"with {self.source}, " if self.source is not None else ""
        return f"{after}{self.part} takes {finish_list(catalog, self.takes)}"


def fit_parts(plan: KindPlan, parts: Mapping[str, int]) -> tuple[int, ...] | Misfit:
    """The kind's colouring that keeps the given parts, each other part at the kind's default
    where still allowed, else at its first choice (model.js `resolve`); or why they do not
    fit."""
    default = default_colouring(plan)
    values: list[int] = []
    for i, part in enumerate(plan.parts):
        source = None
        if part.source is not None:
            source = f"{plan.parts[part.source].name}:{values[part.source]}"
        choices = part.choices(values[part.source] if part.source is not None else 0)
        if not choices:
            return Misfit(part.name, (), source)
        if part.name in parts:
            value = parts[part.name]
            if value not in choices:
                return Misfit(part.name, choices, source)
        elif part.source is None and default is not None and default[i] in choices:
            value = default[i]
        else:
            value = choices[0]
        values.append(value)
    for name, value in parts.items():
        if name not in plan.part_names and value != 0:
            return Misfit(name, None)
    return tuple(values)


def _check_finishes(catalog: Catalog, owner: str, plans: Sequence[KindPlan],
                    parts: Mapping[str, int], given: str) -> None:
    """Refuse a finish id no finish has, or one that no kind offers for that part."""
    for name, value in parts.items():
        if value == 0:
            continue
        finish = catalog.finishes.get(value)
        if finish is None:
            raise SitegenError(shorten(f"no finish has the id {value} ({name}:{value} in "
                                       f"'{given}')"))
        having = [p for plan in plans for p in plan.parts if p.name == name]
        if not having or any(value in p.domain for p in having):
            continue  # (a kind lacking the part: its misfit says so)
        label = f"finish {value} ({finish.label})"
        if finish.archived:
            raise SitegenError(shorten(f"{label} is archived: no longer offered for {name}"))
        offered = dict.fromkeys(v for p in having for v in p.domain if v)
        raise SitegenError(shorten(f"{label} is not offered for {name} of {owner}: "
                                   f"{name} takes {finish_list(catalog, offered)}"))


def finish_list(catalog: Catalog, values: Iterable[int]) -> str:
    """Finish ids with their labels (`1127 (Oak, natural oil)`, `0 (removed)`): the first
    few of a long list, and how many there are."""
    values = list(values)
    if not values:
        return "nothing"
    words = [f"{v} ({catalog.finishes[v].label})" if v else "0 (removed)"
             for v in values[:LISTED]]
    if len(values) > LISTED:
        words.append(f"and {len(values) - LISTED} more ({len(values)} in all)")
    return ", ".join(words)


def _kind_label(catalog: Catalog, plan: KindPlan) -> str:
    """`lino-top (Linoleum top)`, or the id alone for a kind without a name."""
    kind = next(k for k in catalog.products[plan.product].kinds if k.id == plan.kind)
    return f"{kind.id} ({kind.name})" if kind.name else kind.id


def _product(catalog: Catalog, product_id: str) -> Product:
    product = catalog.products.get(product_id)
    if product is None:
        raise SitegenError(shorten(f"unknown product '{product_id}'; the products are: "
                                   f"{', '.join(catalog.products)}"))
    return product
