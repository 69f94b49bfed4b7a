"""Configuration strings without Blender: `Frame:1127-Pads:4031-Bolsters:0` -> kind, colouring.

On the demo catalog, and on a lounge chair written here (part names with spaces, a chart
with a missing source, a kind that lacks a part) that the code was never tuned for.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice
from typing import Any

import pytest
from conftest import DEMO

from sitegen.catalog import Catalog
from sitegen.catalog.load import load_catalog
from sitegen.configuration import (
    configuration_string,
    fit_parts,
    parse_configuration,
    product_part_names,
    resolve_configuration,
    resolve_parts,
)
from sitegen.errors import SitegenError
from sitegen.expand import default_colouring, expand_product, iter_colourings

Load = Callable[..., Catalog]


@pytest.fixture(scope="module")
def demo() -> Catalog:
    catalog, _ = load_catalog(DEMO)
    return catalog


def resolved(catalog: Catalog, product: str, text: str, kind: str | None = None
             ) -> tuple[str, tuple[int, ...]]:
    plan, values = resolve_configuration(catalog, product, text, kind)
    return plan.kind, values


def refused(catalog: Catalog, product: str, text: str, kind: str | None = None) -> str:
    with pytest.raises(SitegenError) as caught:
        resolve_configuration(catalog, product, text, kind)
    return caught.value.format_message()


# --- parsing ---------------------------------------------------------------------------

def test_parse_items_of_the_known_part_names() -> None:
    names = ["Frame", "Pads", "Bolsters"]
    assert parse_configuration("Frame:1127-Pads:235-Bolsters:237", names) == {
        "Frame": 1127, "Pads": 235, "Bolsters": 237}
    assert parse_configuration("Bolsters:0", names) == {"Bolsters": 0}
    assert parse_configuration(" Frame : 1127 - Pads:4031 ", names) == {
        "Frame": 1127, "Pads": 4031}
    assert parse_configuration("", names) == {}


def test_parse_part_names_with_dashes_spaces_and_digits() -> None:
    names = ["Side", "Side-Panel", "Top Rail 2", "3D Knob"]
    assert parse_configuration("Side-Panel:3-Side:4-Top Rail 2:0-3D Knob:12", names) == {
        "Side-Panel": 3, "Side": 4, "Top Rail 2": 0, "3D Knob": 12}
    assert parse_configuration("Side:4-Side-Panel:3", names) == {"Side": 4, "Side-Panel": 3}
    assert parse_configuration("Side:12-3D Knob:5", names) == {"Side": 12, "3D Knob": 5}


@pytest.mark.parametrize(("text", "says"), [
    ("Frame:1127-Foo:3", "unknown part 'Foo' in 'Frame:1127-Foo:3'; the parts are: Frame, "
                         "Pads, Bolsters"),
    ("frame:1127", "unknown part 'frame' in 'frame:1127' (did you mean Frame?)"),
    ("Frame:oak", "'Frame:oak': the finish of Frame is a finish id, a number"),
    ("Frame:1127-Pads", "'Pads' in 'Frame:1127-Pads' is not Part:<finish id>"),
    ("Frame:1127-", "ends with '-'"),
    ("Frame:1127-Frame:1128", "part Frame is given twice"),
    ("Frame:99999999999", "a finish id is at most 2147483647"),
    ("Frame:1127Pads:3", "'Frame:1127Pads:3': the finish of Frame is a finish id"),
])
def test_unreadable_configurations_say_why(text: str, says: str) -> None:
    with pytest.raises(SitegenError) as caught:
        parse_configuration(text, ["Frame", "Pads", "Bolsters"])
    assert says in caught.value.format_message()


def test_configuration_string_is_the_inverse_in_kind_order(demo: Catalog) -> None:
    for product in demo.products.values():
        for plan in expand_product(demo, product):
            for values in islice(iter_colourings(plan), 200):
                text = configuration_string(plan, values)
                assert resolved(demo, product.id, text, plan.kind) == (plan.kind, values)
                assert parse_configuration(text, product_part_names(demo, product.id)) == dict(
                    zip(plan.part_names, values, strict=True))


# --- the demo catalog --------------------------------------------------------------------

def test_demo_the_kind_follows_from_the_parts(demo: Catalog) -> None:
    # kino: a linoleum top is the linoleum kind; Frame left out takes its default.
    assert resolved(demo, "kino-stool", "Top:235") == ("lino-top", (1127, 235))
    assert resolved(demo, "kino-stool", "Frame:1128-Top:1140") == ("wood-top", (1128, 1140))
    # hako: the edge band follows the chart from the top.
    assert resolved(demo, "hako-table", "Top:235") == ("standard", (235, 2002, 3001))
    assert resolved(demo, "hako-table", "") == ("standard", (1140, 2002, 3001))
    # oto: Base removed; Cover and its charted Piping at their first choices.
    assert resolved(demo, "oto-pouf", "Base:0") == ("standard", (4012, 4012, 0))
    assert resolved(demo, "oto-pouf", "Cover:4031-Piping:4107") == ("standard",
                                                                     (4031, 4107, 3001))


def test_demo_maru_is_ambiguous_without_kind(demo: Catalog) -> None:
    message = refused(demo, "maru-bench", "Frame:1127-Pads:4031-Bolsters:0")
    assert message == (
        "'Frame:1127-Pads:4031-Bolsters:0' is ambiguous: it fits 2 kinds of maru-bench; "
        "pass --kind to choose one:\n"
        "  --kind without-table: Frame:1127-Pads:4031-Bolsters:0\n"
        "  --kind with-table: Frame:1127-Pads:4031-Bolsters:0")
    assert resolved(demo, "maru-bench", "Frame:1127-Pads:4031-Bolsters:0", "with-table") == (
        "with-table", (1127, 4031, 0))
    # Left-out parts: each kind's own full configuration is listed.
    message = refused(demo, "kino-stool", "Frame:1127")
    assert "--kind wood-top: Frame:1127-Top:1127" in message
    assert "--kind lino-top: Frame:1127-Top:235" in message


def test_demo_the_old_api_example_names_a_finish_pads_do_not_take(demo: Catalog) -> None:
    message = refused(demo, "maru-bench", "Frame:1127-Pads:235-Bolsters:237")
    assert message == ("finish 235 (Charcoal 4023) is not offered for Pads of maru-bench: "
                       "Pads takes 4012 (Mode 012 Ash), 4031 (Mode 031 Rust), "
                       "4107 (Meld 107 Sand), 4120 (Meld 120 Navy)")


def test_demo_unknown_or_unoffered_finishes_and_parts(demo: Catalog) -> None:
    assert refused(demo, "maru-bench", "Frame:99") == (
        "no finish has the id 99 (Frame:99 in 'Frame:99')")
    assert refused(demo, "maru-bench", "Pads:4044") == (
        "finish 4044 (Mode 044 Moss) is archived: no longer offered for Pads")
    assert refused(demo, "maru-bench", "Frame:1140").startswith(
        "finish 1140 (Walnut, natural oil) is not offered for Frame of maru-bench: Frame "
        "takes 1127 (Oak, natural oil), 1128 (Oak, white oil)")
    assert "of kino-stool wood-top: Top takes 1127" in refused(demo, "kino-stool", "Top:235",
                                                               "wood-top")
    with pytest.raises(SitegenError, match=r"kino-stool has no part 'Pads'; its parts are: "
                                           r"Frame, Top"):
        resolve_parts(demo, "kino-stool", {"Pads": 4012})
    with pytest.raises(SitegenError, match="kino-stool has no kind 'oak'; its kinds are: "
                                           "wood-top, lino-top"):
        resolve_parts(demo, "kino-stool", {}, "oak")
    with pytest.raises(SitegenError, match="unknown product 'stool'"):
        resolve_parts(demo, "stool", {})


def test_demo_impossible_combinations_list_what_would_fit(demo: Catalog) -> None:
    assert refused(demo, "hako-table", "Top:235-Edge:2001") == (
        "kind standard of hako-table does not take 'Top:235-Edge:2001':\n"
        "  standard (Standard): with Top:235, Edge takes 2002 (MDF black)")
    assert refused(demo, "kino-stool", "Frame:0") == (
        "no kind of kino-stool takes 'Frame:0':\n"
        "  wood-top (Wooden top): Frame takes 1127 (Oak, natural oil), 1128 (Oak, white oil), "
        "1140 (Walnut, natural oil)\n"
        "  lino-top (Linoleum top): Frame takes 1127 (Oak, natural oil), 1128 (Oak, white "
        "oil), 1140 (Walnut, natural oil)")


# --- a catalog the code was not tuned for -------------------------------------------------

def lounge() -> dict[str, Any]:
    """A lounge chair: three kinds over one model, part names with spaces and digits."""
    felt = [{"id": i, "pattern": "felt", "name": f"Felt {n}", "color": "#808080"}
            for i, n in ((11, "grey"), (12, "red"), (13, "blue"))]
    plastic = [{"id": i, "pattern": "pp", "name": f"PP {n}", "color": "#f0f0f0"}
               for i, n in ((21, "white"), (22, "black"))]
    many = [{"id": 100 + i, "pattern": "wool", "name": f"Wool {i:02d}", "color": "#a0a0a0"}
            for i in range(12)]
    return {
        "natures": [{"id": "fabric"}, {"id": "plastic"}, {"id": "wool"}],
        "patterns": [{"id": "felt", "nature": "fabric"}, {"id": "pp", "nature": "plastic"},
                     {"id": "wool", "nature": "wool"}],
        "finishes": felt + plastic + many,
        "colorcharts": [{"id": "trim", "map": {11: [21], 12: [21, 22]}}],  # no 13: no trim
        "qualities": [{"id": "preview", "engine": "workbench", "resolution": [32, 24],
                       "format": "png", "primary": True}],
        "models": [{"id": "lounge", "blend": "lounge.blend",
                    "meshes": ["shell", "cushion", "piping", "arms", "headrest"]}],
        "products": [{"id": "lounge-chair", "model": "lounge", "kinds": [
            {"id": "plain", "parts": [
                {"part": "Shell", "covered": ["plastic"], "meshes": ["shell"], "default": 22},
                {"part": "Seat Cushion", "covered": ["fabric"], "meshes": ["cushion"],
                 "optional": True, "default": 12}]},
            {"id": "piped", "parts": [
                {"part": "Shell", "covered": ["plastic"], "meshes": ["shell"]},
                {"part": "Seat Cushion", "covered": ["fabric"], "meshes": ["cushion"]},
                {"part": "Cushion Trim", "covered": ["plastic"], "meshes": ["piping"],
                 "colorchart": "trim"}]},
            {"id": "armchair", "parts": [
                {"part": "Shell", "covered": ["plastic"], "meshes": ["shell", "arms"]},
                {"part": "Seat Cushion", "covered": ["fabric"], "meshes": ["cushion"]},
                {"part": "Head Rest 2", "covered": ["fabric", "wool"], "meshes": ["headrest"],
                 "optional": True}]},
        ]}],
    }


@pytest.fixture
def chair(load: Load) -> Catalog:
    return load({"catalog.yaml": lounge()}, blends=("lounge.blend",))


def test_lounge_the_kind_whose_every_part_is_given_wins(chair: Catalog) -> None:
    # plain, piped and armchair all fit; only plain has no part left out.
    assert resolved(chair, "lounge-chair", "Shell:21-Seat Cushion:11") == ("plain", (21, 11))
    assert resolved(chair, "lounge-chair", "Shell:21-Seat Cushion:0") == ("plain", (21, 0))
    # Cushion Trim given: only piped has it (plain and armchair fit only Cushion Trim:0).
    assert resolved(chair, "lounge-chair", "Shell:21-Seat Cushion:12-Cushion Trim:22") == (
        "piped", (21, 12, 22))
    assert resolved(chair, "lounge-chair", "Seat Cushion:13-Head Rest 2:105-Shell:22") == (
        "armchair", (22, 13, 105))


def test_lounge_left_out_parts_take_the_kinds_default(chair: Catalog) -> None:
    plans = {p.kind: p for p in expand_product(chair, chair.products["lounge-chair"])}
    assert default_colouring(plans["plain"]) == (22, 12)
    # plain's Shell default is 22; armchair's Shell has none: its first choice, 21.
    assert resolved(chair, "lounge-chair", "Seat Cushion:13", "plain") == ("plain", (22, 13))
    assert resolved(chair, "lounge-chair", "Seat Cushion:13", "armchair") == (
        "armchair", (21, 13, 11))
    # The charted trim left out: the first finish its chart gives for the cushion.
    assert resolved(chair, "lounge-chair", "Seat Cushion:12", "piped") == ("piped",
                                                                           (21, 12, 21))
    assert fit_parts(plans["piped"], {"Seat Cushion": 12, "Cushion Trim": 22}) == (21, 12, 22)


def test_lounge_ambiguous_lists_each_kind_in_full(chair: Catalog) -> None:
    message = refused(chair, "lounge-chair", "Shell:21")
    assert message == (
        "'Shell:21' is ambiguous: it fits 3 kinds of lounge-chair; pass --kind to choose "
        "one:\n"
        "  --kind plain: Shell:21-Seat Cushion:12\n"
        "  --kind piped: Shell:21-Seat Cushion:11-Cushion Trim:21\n"
        "  --kind armchair: Shell:21-Seat Cushion:11-Head Rest 2:11")
    # A trim given as 0 rules piped out (not optional); plain and armchair both leave
    # parts out.
    message = refused(chair, "lounge-chair", "Seat Cushion:12-Cushion Trim:0")
    assert "fits 2 kinds" in message and "--kind plain: Shell:22-Seat Cushion:12" in message
    assert "--kind armchair: Shell:21-Seat Cushion:12-Head Rest 2:11" in message


def test_lounge_impossible_says_per_kind_what_would_fit(chair: Catalog) -> None:
    assert refused(chair, "lounge-chair", "Shell:21-Seat Cushion:13-Cushion Trim:21") == (
        "no kind of lounge-chair takes 'Shell:21-Seat Cushion:13-Cushion Trim:21':\n"
        "  plain: it has no part Cushion Trim (only Cushion Trim:0 fits it)\n"
        "  piped: no finish of Cushion Trim goes with Seat Cushion:13\n"
        "  armchair: it has no part Cushion Trim (only Cushion Trim:0 fits it)")
    message = refused(chair, "lounge-chair", "Seat Cushion:11-Cushion Trim:22", "piped")
    assert message == ("kind piped of lounge-chair does not take 'Seat Cushion:11-Cushion "
                       "Trim:22':\n"
                       "  piped: with Seat Cushion:11, Cushion Trim takes 21 (PP white)")


def test_lounge_long_lists_are_shortened(chair: Catalog) -> None:
    message = refused(chair, "lounge-chair", "Head Rest 2:21")
    assert message == (
        "finish 21 (PP white) is not offered for Head Rest 2 of lounge-chair: Head Rest 2 "
        "takes 11 (Felt grey), 12 (Felt red), 13 (Felt blue), 100 (Wool 00), 101 (Wool 01), "
        "102 (Wool 02), 103 (Wool 03), 104 (Wool 04), and 7 more (15 in all)")
    message = refused(chair, "lounge-chair", "Shell:21-Seat Cushion:0-Head Rest 2:101")
    assert "armchair: Seat Cushion takes 11 (Felt grey)" in message
    assert "plain: it has no part Head Rest 2" in message


def test_lounge_unknown_part_lists_the_products_parts(chair: Catalog) -> None:
    assert refused(chair, "lounge-chair", "Shell:21-Seat:11") == (
        "unknown part 'Seat' in 'Shell:21-Seat:11'; the parts are: Shell, Seat Cushion, "
        "Cushion Trim, Head Rest 2")
