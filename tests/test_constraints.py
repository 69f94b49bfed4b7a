"""The counting engine: exact solution counts and marginals, checked against brute force."""

from __future__ import annotations

import itertools
import random
from collections import Counter

from sitegen.constraints import Factor, allowed, allowed_pairs, count_solutions, marginal


def brute_force(factors: list[Factor]) -> Counter[tuple[int, ...]]:
    """Every assignment of the factors' variables (sorted by name) that all of them allow,
    with its weight (the product of the factors' weights)."""
    variables = sorted({v for f in factors for v in f.scope}, key=repr)
    domains = [sorted({row[f.scope.index(v)] for f in factors if v in f.scope
                       for row in f.table}) for v in variables]
    found: Counter[tuple[int, ...]] = Counter()
    for values in itertools.product(*domains):
        given = dict(zip(variables, values, strict=True))
        weight = 1
        for f in factors:
            weight *= f.table.get(tuple(given[v] for v in f.scope), 0)
        if weight:
            found[values] += weight
    return found


def test_unary_and_pair_constraints() -> None:
    assert count_solutions([allowed("a", [1, 2, 3])]) == 3
    assert count_solutions([allowed("a", [1, 2]), allowed("b", [1, 2, 3])]) == 6
    assert count_solutions([allowed("a", [1, 2]), allowed("a", [2, 3])]) == 1
    chart = allowed_pairs("src", "dst", [(1, 10), (1, 11), (2, 12)])
    assert count_solutions([allowed("src", [1, 2]), chart]) == 3
    assert marginal([allowed("src", [1, 2]), chart], "dst") == {10: 1, 11: 1, 12: 1}
    assert marginal([allowed("src", [1, 2]), chart], "src") == {1: 2, 2: 1}


def test_a_pair_on_one_variable_keeps_the_equal_pairs() -> None:
    same = allowed_pairs("a", "a", [(1, 1), (1, 2), (3, 3)])
    assert same == Factor(("a",), {(1,): 1, (3,): 1})
    assert count_solutions([same, allowed("a", [1, 2])]) == 1


def test_no_solution_and_a_variable_in_no_factor() -> None:
    assert count_solutions([allowed("a", [1]), allowed("a", [2])]) == 0
    assert count_solutions([allowed("a", [])]) == 0
    assert marginal([allowed("a", [1]), allowed("b", [])], "a") == {}
    assert marginal([allowed("a", [1, 2])], "z") == {}
    assert count_solutions([]) == 1  # the empty assignment


def test_a_chain_of_charts_costs_its_charts_not_its_colourings() -> None:
    # 30 parts, each reading the one before with two choices per value: 2**29 * 2
    # colourings, counted in 30 small steps.
    factors = [allowed(0, [0, 1])]
    factors += [allowed_pairs(i, i + 1, [(v, w) for v in (0, 1) for w in (0, 1)])
                for i in range(29)]
    assert count_solutions(factors) == 2 ** 30
    assert marginal(factors, 15) == {0: 2 ** 29, 1: 2 ** 29}


def test_random_problems_agree_with_brute_force() -> None:
    rng = random.Random(20261201)
    for _ in range(300):
        names = ["a", "b", "c", "d", "e"][:rng.randint(1, 5)]
        factors: list[Factor] = []
        for name in names:
            factors.append(allowed(name, rng.sample(range(4), rng.randint(0, 4))))
        for _ in range(rng.randint(0, 4)):
            x, y = rng.choice(names), rng.choice(names)
            pairs = [(v, w) for v in range(4) for w in range(4) if rng.random() < 0.5]
            factors.append(allowed_pairs(x, y, pairs))
        rng.shuffle(factors)
        expected = brute_force(factors)
        assert count_solutions(factors) == sum(expected.values()), factors
        variables = sorted({v for f in factors for v in f.scope}, key=repr)
        keep = rng.choice(variables)
        by_value: Counter[int] = Counter()
        for values, n in expected.items():
            by_value[values[variables.index(keep)]] += n
        assert marginal(factors, keep) == dict(by_value), (factors, keep)
