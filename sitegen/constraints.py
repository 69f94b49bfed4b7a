"""Exact counting of the solutions of small constraint problems, by variable elimination.

Colourings are assignments of finish ids (0 = removed/hidden) to variables under two kinds
of constraints: "this variable takes one of these values" (a plain part) and "these value
pairs are allowed" (a colorcharted part and its source). Counting them is a sum over a
product of factors; eliminating variables one by one (cheapest first) keeps each step as
small as the catalog's structure allows: a chain of charts costs the size of its charts,
never the number of colourings. The same engine counts one kind, the overlap of several
kinds (shared keys), and the browser-side filters' expectations.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

Var = Hashable


@dataclass(frozen=True)
class Factor:
    """A weighted relation over `scope`: each allowed tuple of values, with its weight."""

    scope: tuple[Var, ...]
    table: dict[tuple[int, ...], int]


def allowed(var: Var, values: Iterable[int]) -> Factor:
    """The unary constraint `var in values`."""
    return Factor((var,), {(v,): 1 for v in values})


def allowed_pairs(a: Var, b: Var, pairs: Iterable[tuple[int, int]]) -> Factor:
    """The binary constraint `(a, b) in pairs`; a == b keeps the pairs with equal values."""
    if a == b:
        return Factor((a,), {(x,): 1 for x, y in pairs if x == y})
    return Factor((a, b), {pair: 1 for pair in pairs})


def _join(f: Factor, g: Factor) -> Factor:
    shared = [v for v in g.scope if v in f.scope]
    extra = [i for i, v in enumerate(g.scope) if v not in f.scope]
    f_pos = [f.scope.index(v) for v in shared]
    g_pos = [g.scope.index(v) for v in shared]
    index: dict[tuple[int, ...], list[tuple[tuple[int, ...], int]]] = {}
    for row, weight in g.table.items():
        key = tuple(row[i] for i in g_pos)
        index.setdefault(key, []).append((tuple(row[i] for i in extra), weight))
    table: dict[tuple[int, ...], int] = {}
    for row, weight in f.table.items():
        for rest, w in index.get(tuple(row[i] for i in f_pos), ()):
            new = row + rest
            table[new] = table.get(new, 0) + weight * w
    return Factor(f.scope + tuple(g.scope[i] for i in extra), table)


def _sum_out(f: Factor, var: Var) -> Factor:
    pos = f.scope.index(var)
    table: dict[tuple[int, ...], int] = {}
    for row, weight in f.table.items():
        key = row[:pos] + row[pos + 1:]
        table[key] = table.get(key, 0) + weight
    return Factor(f.scope[:pos] + f.scope[pos + 1:], table)


def count_solutions(factors: Sequence[Factor]) -> int:
    """The number of assignments of the factors' variables that every factor allows."""
    return _eliminate(factors, None).table.get((), 0)


def marginal(factors: Sequence[Factor], keep: Var) -> dict[int, int]:
    """For each value of `keep`, the number of solutions in which it takes that value
    (values in no solution are left out): one elimination instead of one count per value."""
    result = _eliminate(factors, keep)
    return {row[0]: n for row, n in result.table.items() if n}


def _eliminate(factors: Sequence[Factor], keep: Var | None) -> Factor:
    """Sum out every variable but `keep`; the product of what is left, over (keep,) or ()."""
    pending = list(factors)
    variables = {v for f in pending for v in f.scope} - {keep}
    scope: tuple[Var, ...] = () if keep is None else (keep,)
    while variables:
        # Eliminate the variable with the fewest neighbours first (greedy min-degree order);
        # ties broken by name so the work done is the same on every run.
        neighbours: dict[Var, set[Var]] = {v: set() for v in variables}
        for f in pending:
            for v in f.scope:
                if v != keep:
                    neighbours[v].update(f.scope)
        var = min(variables, key=lambda v: (len(neighbours[v]), repr(v)))
        touching = [f for f in pending if var in f.scope]
        pending = [f for f in pending if var not in f.scope]
        joined = touching[0]
        for f in touching[1:]:
            joined = _join(joined, f)
            if not joined.table:
                return Factor(scope, {})
        pending.append(_sum_out(joined, var))
        variables.discard(var)
    result = Factor((), {(): 1})
    for f in pending:  # each over () or (keep,)
        result = _join(f, result) if f.scope else Factor(result.scope, {
            row: n * f.table.get((), 0) for row, n in result.table.items()})
    if keep is not None and not result.scope:
        return Factor(scope, {})  # `keep` is in no factor: not a variable of the problem
    return result
