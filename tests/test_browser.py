"""The sketchbook in a real browser (Chromium through Playwright), on the built demo site.

The demo catalog (at its full-picture quality) is built against a synthetic render store
(tests/sitefixtures.py) and served in a thread. At the end, layered qualities: small
catalogs with synthetic layers (counts, gallery, nearest, BigInt counts), and the demo
rendered at its layered quality by real Blender at 96x72 (`blender` marker: stacking
against a Python composite and a full render, readiness, counts, gallery). One browser per
module; a fresh context (history, storage) per test.
Every test also checks that the page logged no error, broke no CSP rule and loaded
nothing that failed. Screenshots go to tests/artifacts/ (git-ignored).

Needs Chromium (`make test` installs it): without it these tests fail; they are skipped
only when SITEGEN_SKIP_BROWSER=1 asks for it (tests/programs.py).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from browsing import Tab
from conftest import base_catalog, write_catalog
from programs import need_bpy
from sitefixtures import (
    UNRENDERED,
    UNRENDERED_KEY,
    demo_copy,
    layer_urls,
    load_demo,
    make_store,
    nearest_colourings,
    picture_url,
    product_plans,
    python_count,
    ready_colourings,
    serve,
)

pytestmark = pytest.mark.slow

PRODUCTS = ("kino-stool", "maru-bench", "hako-table", "oto-pouf")


@pytest.fixture
def tab(browser: Any, demo_server: Any, request: pytest.FixtureRequest) -> Iterator[Tab]:
    opened = Tab(browser, demo_server.url, request.node.name)
    try:
        yield opened
    finally:
        opened.close()


def renders_base(demo_server: Any) -> str:
    """The renders URL as pages resolve it (docs/site.md: relative to the site's root)."""
    return f"{demo_server.url}renders/"


# -- every page --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["", "coverage.html",
                                  *(f"products/{p}/" for p in PRODUCTS)])
def test_page_loads_clean(tab: Tab, path: str) -> None:
    """No console error, no CSP violation, no failed request, no broken picture."""
    tab.open(path, sketchbook=path.startswith("products/"))
    tab.wait_images()
    assert tab.broken_images() == []
    assert tab.js("document.images.length") > 0
    if path.startswith("products/"):
        assert tab.js("document.querySelector('.sb-error')") is None
        assert tab.page.locator(".sb-loading").count() == 0  # the static page was replaced
    name = path.strip("/").replace("products/", "").replace(".html", "") or "index"
    tab.screenshot(f"page-{name}")
    tab.assert_clean()


def test_index_links_every_product_with_its_default_picture(tab: Tab, demo_site: Any) -> None:
    page = tab.open("", sketchbook=False)
    links = page.eval_on_selector_all(".card-link", "(as) => as.map((a) => a.href)")
    assert links == [f"{tab.base}products/{p}/" for p in demo_site.catalog.products]
    pictures = page.eval_on_selector_all(".card-picture img", "(is) => is.map((i) => i.src)")
    assert len(pictures) == len(links)
    for product, src in zip(demo_site.catalog.products, pictures, strict=True):
        plans, _ = product_plans(demo_site.catalog, product)
        from sitegen.expand import default_colouring

        model = demo_site.catalog.models[demo_site.catalog.products[product].model]
        assert src == picture_url(demo_site, tab.base + "renders/", product, plans[0].kind,
                                  model.views[0], default_colouring(plans[0]))
    tab.assert_clean()


# -- choosing finishes -------------------------------------------------------------------


def test_kino_linoleum_top_switches_the_kind_and_the_hash(tab: Tab, demo_site: Any,
                                                          demo_server: Any) -> None:
    tab.open("products/kino-stool/")
    assert tab.selection() == {"product": "kino-stool", "kind": "wood-top",
                               "parts": {"Frame": 1127, "Top": 1127}}
    assert tab.hash() == "#kind=wood-top&view=front&Frame=1127&Top=1127"
    # Both kinds' finishes are offered in one Top palette (one entry, no style switch).
    assert tab.palette("Top") == [1127, 1128, 1140, 235, 236, 237]
    assert tab.page.locator(".sb-style").count() == 0
    tab.click_swatch("Frame", 1128)
    tab.click_swatch("Top", 235)
    assert tab.selection() == {"product": "kino-stool", "kind": "lino-top",
                               "parts": {"Frame": 1128, "Top": 235}}
    assert tab.hash() == "#kind=lino-top&view=front&Frame=1128&Top=235"
    url = picture_url(demo_site, renders_base(demo_server), "kino-stool", "lino-top", "front",
                      (1128, 235))
    assert url.endswith("/frame-1128_top-0_insert-235_rim-1128.jpg")
    assert tab.js("sketchbook.imageUrl()") == url
    assert tab.js("sketchbook.isReady()") is True
    tab.wait("(u) => document.querySelector('.sb-img').src === u", arg=url)
    assert tab.swatch("Top", 235).get_attribute("aria-pressed") == "true"
    assert tab.swatch("Top", 1127).get_attribute("aria-pressed") == "false"
    tab.screenshot("kino-linoleum-top")
    # And back to a wooden top: the kind follows the selection again.
    tab.click_swatch("Top", 1140)
    assert tab.selection()["kind"] == "wood-top"
    assert tab.hash() == "#kind=wood-top&view=front&Frame=1128&Top=1140"
    tab.assert_clean()


def test_maru_style_switch_keeps_the_finishes(tab: Tab, demo_site: Any,
                                             demo_server: Any) -> None:
    tab.open("products/maru-bench/")
    styles = tab.page.locator(".sb-style")
    assert styles.all_inner_texts() == ["Without table", "With table"]
    assert tab.page.locator('.sb-style[data-kind="without-table"]').get_attribute(
        "aria-pressed") == "true"
    tab.click_swatch("Frame", 1128)
    tab.click_swatch("Pads", 4107)
    tab.click_swatch("Bolsters", 4031)
    parts = {"Frame": 1128, "Pads": 4107, "Bolsters": 4031}
    assert tab.selection() == {"product": "maru-bench", "kind": "without-table", "parts": parts}
    tab.page.get_by_role("button", name="With table", exact=True).click()
    tab.wait("sketchbook.selection().kind === 'with-table'")
    assert tab.selection() == {"product": "maru-bench", "kind": "with-table", "parts": parts}
    assert tab.hash() == "#kind=with-table&view=main&Frame=1128&Pads=4107&Bolsters=4031"
    assert tab.js("sketchbook.imageUrl()") == picture_url(
        demo_site, renders_base(demo_server), "maru-bench", "with-table", "main",
        (1128, 4107, 4031))
    assert tab.js("sketchbook.imageUrl()").endswith(
        "/frame-1128_pads-4107_padend-0_table-1128_bolsters-4031.jpg")
    assert tab.page.locator('.sb-style[data-kind="with-table"]').get_attribute(
        "aria-pressed") == "true"
    tab.screenshot("maru-with-table")
    tab.page.get_by_role("button", name="Without table", exact=True).click()
    tab.wait("sketchbook.selection().kind === 'without-table'")
    assert tab.selection()["parts"] == parts
    tab.assert_clean()


def test_hako_edge_is_determined_by_the_top_and_not_asked(tab: Tab, demo_site: Any) -> None:
    tab.open("products/hako-table/")
    plans, _ = product_plans(demo_site.catalog, "hako-table")
    edge = plans[0].parts[1]
    assert edge.name == "Edge" and edge.source == 0
    assert not tab.page.locator('.sb-part[data-part="Edge"]').is_visible()
    assert tab.page.locator('.sb-part[data-part="Top"]').is_visible()
    for top in (236, 1127, 235, 1140):
        tab.click_swatch("Top", top)
        (expected,) = edge.chart[top]
        assert tab.selection()["parts"] == {"Top": top, "Edge": expected,
                                            "Legs": tab.selection()["parts"]["Legs"]}
        assert f"_edge-{expected}." in tab.js("sketchbook.imageUrl()")
        assert not tab.page.locator('.sb-part[data-part="Edge"]').is_visible()
    tab.screenshot("hako-edge-hidden")
    tab.assert_clean()


def test_oto_piping_offers_the_charts_short_palette(tab: Tab, demo_site: Any) -> None:
    tab.open("products/oto-pouf/")
    plans, _ = product_plans(demo_site.catalog, "oto-pouf")
    cover, piping = plans[0].parts[0], plans[0].parts[1]
    assert piping.name == "Piping" and piping.source == 0
    assert tab.page.locator('.sb-part[data-part="Piping"]').is_visible()
    assert tab.palette("Piping") == list(piping.chart[tab.selection()["parts"]["Cover"]])
    for value in (4031, 4107, 4120, 4012):
        tab.click_swatch("Cover", value)
        choices = list(piping.chart[value])
        assert len(choices) > 1 and value in cover.domain
        assert tab.palette("Piping") == choices
        assert tab.selection()["parts"]["Piping"] in choices
        # Every short-palette choice can be picked, and keeps the Cover.
        for choice in choices:
            tab.click_swatch("Piping", choice)
            assert tab.selection()["parts"]["Cover"] == value
    tab.screenshot("oto-piping")
    tab.assert_clean()


def test_maru_bolsters_remove_and_restore(tab: Tab, demo_site: Any, demo_server: Any) -> None:
    tab.open("products/maru-bench/")
    tab.click_swatch("Bolsters", 4107)
    remove = tab.page.locator('.sb-part[data-part="Bolsters"] .sb-remove')
    restore = tab.page.locator('.sb-part[data-part="Bolsters"] .sb-restore')
    assert not restore.is_visible()
    remove.click()
    tab.wait("sketchbook.selection().parts.Bolsters === 0")
    assert tab.selection()["parts"] == {"Frame": 1127, "Pads": 4012, "Bolsters": 0}
    url = tab.js("sketchbook.imageUrl()")
    assert url.endswith("_bolsters-0.jpg")
    assert url == picture_url(demo_site, renders_base(demo_server), "maru-bench",
                              "without-table", "main", (1127, 4012, 0))
    assert tab.hash().endswith("&Bolsters=0")
    assert remove.get_attribute("aria-pressed") == "true"
    assert restore.is_visible()
    tab.screenshot("maru-bolsters-removed")
    restore.click()
    tab.wait("sketchbook.selection().parts.Bolsters === 4107")
    assert tab.js("sketchbook.imageUrl()").endswith("_bolsters-4107.jpg")
    assert not restore.is_visible()
    # Through the API as well.
    tab.js("sketchbook.select({Bolsters: 0})")
    assert tab.selection()["parts"]["Bolsters"] == 0
    tab.assert_clean()


# -- filters and counts ------------------------------------------------------------------

FILTERS: dict[str, list[dict[str, list[int]]]] = {
    "kino-stool": [{}, {"Top": [235, 236, 237]}, {"Frame": [1128], "Top": [1127, 1140]},
                   {"Frame": [1127, 1128]}, {"Top": [236]}, {"Top": []},
                   {"Stool": [0]}, {"Stool": [1127]}],
    "maru-bench": [{}, {"Bolsters": [0]}, {"Pads": [4107, 4120], "Bolsters": [0, 4012]},
                   {"Frame": [1128], "Pads": [4031]}],
    "hako-table": [{}, {"Edge": [2003]}, {"Legs": [3002]}, {"Top": [1127, 1128], "Edge": [2001]}],
    "oto-pouf": [{}, {"Base": [0]}, {"Cover": [4031], "Piping": [4107]},
                 {"Piping": [4012], "Base": [3001, 3002]}],
}


@pytest.mark.parametrize("product", PRODUCTS)
def test_count_matches_python(tab: Tab, demo_site: Any, product: str) -> None:
    tab.open(f"products/{product}/")
    model = demo_site.catalog.models[demo_site.catalog.products[product].model]
    seen = set()
    for view in model.views:
        tab.js("(v) => sketchbook.select({}, {view: v})", view)
        for flt in FILTERS[product]:
            expected = python_count(demo_site, product, view, flt)
            assert tab.js("(f) => sketchbook.count(f)", flt) == expected, (view, flt)
            seen.add(expected)
    assert len(seen) >= 3, "the filters should tell the counts apart"
    tab.assert_clean()


def filter_box(tab: Tab, part: str, *, value: int | None = None,
               pattern: str | None = None) -> Any:
    what = f'[data-value="{value}"]' if value is not None else f'[data-pattern="{pattern}"]'
    return tab.page.locator(f'.sb-filter[data-part="{part}"] input{what}')


def shown_count(tab: Tab) -> int:
    return int(tab.page.locator(".sb-count").get_attribute("data-count"))


def test_filter_checkboxes_count_what_python_counts(tab: Tab, demo_site: Any) -> None:
    tab.open("products/kino-stool/")

    def check(flt: dict[str, list[int]]) -> None:
        expected = python_count(demo_site, "kino-stool", "front", flt)
        tab.wait(
            "(n) => document.querySelector('.sb-count').dataset.count === String(n)", arg=expected)
        assert shown_count(tab) == expected == tab.js("(f) => sketchbook.count(f)", flt)
        tiles = tab.page.locator(".sb-gallery .sb-tile").count()
        assert tiles == min(expected, 24)
        text = tab.page.locator(".sb-count").inner_text()
        assert text.startswith(f"{expected} ready picture")

    check({})
    filter_box(tab, "Top", value=235).check()
    check({"Top": [235]})
    filter_box(tab, "Top", value=237).check()
    check({"Top": [235, 237]})
    filter_box(tab, "Frame", pattern="oak").check()  # a whole pattern at once
    check({"Frame": [1127, 1128], "Top": [235, 237]})
    filter_box(tab, "Frame", value=1127).uncheck()
    assert filter_box(tab, "Frame", pattern="oak").evaluate("(b) => b.indeterminate")
    check({"Frame": [1128], "Top": [235, 237]})
    tab.screenshot("kino-filters")
    tab.page.get_by_role("button", name="Clear filters").click()
    check({})
    # Another product, with the "without" choice of an optional part; the gallery pages.
    tab.open("products/maru-bench/")
    total = python_count(demo_site, "maru-bench", "main", {})
    assert total > 24 and shown_count(tab) == total
    assert tab.page.locator(".sb-page-text").inner_text() == "Page 1 of 2"
    tab.page.get_by_role("button", name="Next").click()
    tab.wait("document.querySelector('.sb-page-text').textContent === 'Page 2 of 2'")
    assert tab.page.locator(".sb-gallery .sb-tile").count() == total - 24
    # A tile selects its colouring, which is ready.
    tile = tab.page.locator(".sb-gallery .sb-tile").last
    thumb = tile.locator("img").get_attribute("src")
    tile.click()
    tab.wait("(u) => sketchbook.imageUrl() === u", thumb.replace(".thumb.webp", ".jpg"))
    assert tab.js("sketchbook.isReady()") is True
    assert tile.get_attribute("aria-current") == "true"
    filter_box(tab, "Bolsters", value=0).check()
    expected = python_count(demo_site, "maru-bench", "main", {"Bolsters": [0]})
    tab.wait(
        "(n) => document.querySelector('.sb-count').dataset.count === String(n)", arg=expected)
    filter_box(tab, "Pads", pattern="meld").check()
    expected = python_count(demo_site, "maru-bench", "main",
                            {"Bolsters": [0], "Pads": [4107, 4120]})
    tab.wait(
        "(n) => document.querySelector('.sb-count').dataset.count === String(n)", arg=expected)
    tab.wait_images()
    assert tab.broken_images() == []
    tab.assert_clean()


# -- pictures ----------------------------------------------------------------------------


def test_not_rendered_yet_state(tab: Tab, demo_site: Any, demo_server: Any) -> None:
    assert UNRENDERED_KEY not in demo_site.ready["kino"]["front"]
    tab.open("products/kino-stool/")
    tab.click_swatch("Top", 236)  # Frame stays 1127: the colouring kept unrendered
    assert tab.selection() == {"product": UNRENDERED["product"], "kind": UNRENDERED["kind"],
                               "parts": UNRENDERED["parts"]}
    assert tab.js("sketchbook.isReady()") is False
    url = tab.js("sketchbook.imageUrl()")
    assert url == picture_url(demo_site, renders_base(demo_server), "kino-stool", "lino-top",
                              "front", (1127, 236))
    assert url.endswith(f"/{UNRENDERED_KEY}.jpg")
    status = tab.page.locator(".sb-status")
    assert status.is_visible() and "Not rendered yet" in status.inner_text()
    assert tab.page.locator(".sb-badge").is_visible()
    assert tab.page.locator(".sb-figure").get_attribute("class").split().count(
        "sb-not-ready") == 1
    # The picture shown is a ready one (the nearest), never the missing address.
    shown = tab.shown_image()
    assert shown != url
    tab.wait_images()
    assert tab.broken_images() == []
    # The side view is not rendered either: its button says so instead of a thumbnail.
    side = tab.page.locator('.sb-view[data-view="side"]')
    assert "Not rendered" in side.inner_text()
    tab.screenshot("kino-not-rendered")
    # Back to a ready colouring: the state clears.
    tab.click_swatch("Top", 235)
    assert tab.js("sketchbook.isReady()") is True
    assert not tab.page.locator(".sb-badge").is_visible()
    assert tab.page.locator(".sb-status").inner_text() == ""
    tab.assert_clean()


@pytest.mark.parametrize("product,kind,view,parts", [
    ("maru-bench", "with-table", "main", {"Frame": 1128, "Pads": 4031, "Bolsters": 4120}),
    ("kino-stool", "lino-top", "side", {"Frame": 1140, "Top": 236}),
    ("oto-pouf", "standard", "main", {"Cover": 4107, "Piping": 4107, "Base": 0}),
])
def test_deep_link(tab: Tab, demo_site: Any, demo_server: Any, product: str, kind: str,
                   view: str, parts: dict[str, int]) -> None:
    url = picture_url(demo_site, renders_base(demo_server), product, kind, view,
                      tuple(parts.values()))
    key = url.rsplit("/", 1)[1].rsplit(".", 1)[0]
    model = demo_site.catalog.products[product].model
    assert key in demo_site.ready[model][view], "pick a ready colouring for this test"
    fragment = f"kind={kind}&view={view}&" + "&".join(f"{quote(p)}={v}"
                                                      for p, v in parts.items())
    tab.open(f"products/{product}/#{fragment}")
    assert tab.selection() == {"product": product, "kind": kind, "parts": parts}
    assert tab.hash() == f"#{fragment}"
    assert tab.js("sketchbook.imageUrl()") == url
    base = renders_base(demo_server)
    assert url == f"{base}{demo_site.quality}/{model}/{view}/{key}.jpg"
    tab.wait("(u) => document.querySelector('.sb-img').src === u", arg=url)
    assert tab.js("sketchbook.isReady()") is True
    tab.wait_images()
    assert tab.broken_images() == []
    tab.assert_clean()


def test_views(tab: Tab, demo_site: Any, demo_server: Any) -> None:
    """The view buttons: thumbnails where the view is rendered, the hash and picture follow."""
    tab.open("products/kino-stool/")
    tab.wait_images()
    thumbs = tab.page.eval_on_selector_all(".sb-view img", "(is) => is.map((i) => i.src)")
    base = renders_base(demo_server)
    key = "frame-1127_top-1127_insert-0_rim-0"
    assert thumbs == [f"{base}preview/kino/{v}/{key}.thumb.webp" for v in ("front", "side")]
    assert tab.broken_images() == []
    tab.page.locator('.sb-view[data-view="side"]').click()
    tab.wait("location.hash.includes('view=side')")
    assert tab.js("sketchbook.imageUrl()") == f"{base}preview/kino/side/{key}.jpg"
    assert shown_count(tab) == python_count(demo_site, "kino-stool", "side", {})
    assert shown_count(tab) != python_count(demo_site, "kino-stool", "front", {})
    # Ready in front, not in side.
    tab.js("sketchbook.select({Frame: 1127, Top: 1128}, {view: 'front'})")
    key = "frame-1127_top-1128_insert-0_rim-0"
    assert key in demo_site.ready["kino"]["front"] and key not in demo_site.ready["kino"]["side"]
    assert tab.js("sketchbook.isReady()") is True
    side = tab.page.locator('.sb-view[data-view="side"]')
    assert "Not rendered" in side.inner_text() and side.locator("img").count() == 0
    side.click()
    tab.wait("!sketchbook.isReady()")
    assert "Not rendered yet" in tab.page.locator(".sb-status").inner_text()
    tab.wait_images()
    assert tab.broken_images() == []
    tab.screenshot("kino-side-not-rendered")
    tab.assert_clean()


def test_a_bad_deep_link_lands_on_a_valid_colouring(tab: Tab) -> None:
    tab.open("products/maru-bench/#kind=nope&view=top&Frame=9999&Pads=abc&Bolsters=%ZZ")
    selection = tab.selection()
    assert selection["kind"] in ("without-table", "with-table")
    assert tab.hash().startswith(f"#kind={selection['kind']}&view=main&")
    assert tab.js("sketchbook.imageUrl()").startswith(tab.base + "renders/preview/maru/main/")
    tab.open("products/kino-stool/#content")  # an in-page link is not a selection
    assert tab.selection()["kind"] == "wood-top"
    tab.assert_clean()


def test_back_and_forward(tab: Tab) -> None:
    tab.open("products/kino-stool/")
    start = tab.hash()
    tab.click_swatch("Top", 1128)
    second = tab.hash()
    tab.click_swatch("Top", 235)
    third = tab.hash()
    assert len({start, second, third}) == 3 and third.startswith("#kind=lino-top&")
    page = tab.page
    page.go_back()
    tab.wait("sketchbook.selection().parts.Top === 1128")
    assert tab.hash() == second and tab.selection()["kind"] == "wood-top"
    page.go_back()
    tab.wait("sketchbook.selection().parts.Top === 1127")
    assert tab.hash() == start
    page.go_forward()
    tab.wait("sketchbook.selection().parts.Top === 1128")
    page.go_forward()
    tab.wait("sketchbook.selection().kind === 'lino-top'")
    assert tab.hash() == third
    assert tab.selection()["parts"] == {"Frame": 1127, "Top": 235}
    assert tab.swatch("Top", 235).get_attribute("aria-pressed") == "true"
    # Editing the hash by hand selects too.
    tab.js("location.hash = '#kind=wood-top&view=side&Frame=1140&Top=1128'")
    tab.wait("sketchbook.selection().parts.Frame === 1140")
    assert tab.selection() == {"product": "kino-stool", "kind": "wood-top",
                               "parts": {"Frame": 1140, "Top": 1128}}
    assert "/side/" in tab.js("sketchbook.imageUrl()")
    tab.assert_clean()


def test_keyboard(tab: Tab) -> None:
    """Tab reaches a swatch; Enter and Space pick; arrows move within a palette."""
    page = tab.open("products/maru-bench/")
    page.locator("body").focus()
    target = ("Pads", "4031")
    for _ in range(80):
        page.keyboard.press("Tab")
        focused = tab.js("""() => { const b = document.activeElement;
            const part = b && b.closest('.sb-part');
            return part ? [part.dataset.part, b.dataset.value] : null; }""")
        if focused == list(target):
            break
    else:
        pytest.fail(f"Tab never reached the {target} swatch")
    page.keyboard.press("Enter")
    tab.wait("sketchbook.selection().parts.Pads === 4031")
    page.keyboard.press("ArrowRight")  # to 4107
    assert tab.js("document.activeElement.dataset.value") == "4107"
    page.keyboard.press("Space")
    tab.wait("sketchbook.selection().parts.Pads === 4107")
    assert tab.js("document.activeElement.dataset.value") == "4107"  # focus kept
    assert tab.swatch("Pads", 4107).get_attribute("aria-pressed") == "true"
    # The style switch answers the keyboard too.
    with_table = page.locator('.sb-style[data-kind="with-table"]')
    with_table.focus()
    page.keyboard.press("Enter")
    tab.wait("sketchbook.selection().kind === 'with-table'")
    assert tab.selection()["parts"]["Pads"] == 4107
    tab.screenshot("maru-keyboard")
    tab.assert_clean()


SELECTIONS = [
    ("kino-stool", "wood-top", "front", {"Frame": 1140, "Top": 1128}),
    ("kino-stool", "lino-top", "side", {"Frame": 1127, "Top": 237}),
    ("kino-stool", "lino-top", "front", {"Frame": 1127, "Top": 236}),  # not rendered
    ("maru-bench", "with-table", "main", {"Frame": 1127, "Pads": 4120, "Bolsters": 0}),
    ("maru-bench", "without-table", "main", {"Frame": 1128, "Pads": 4031, "Bolsters": 4107}),
    ("hako-table", "standard", "main", {"Top": 237, "Edge": 2003, "Legs": 3002}),
    ("oto-pouf", "standard", "main", {"Cover": 4120, "Piping": 4012, "Base": 0}),
]


def test_image_url_follows_the_format(tab: Tab, demo_site: Any, demo_server: Any) -> None:
    """imageUrl() is exactly <renders_url><quality>/<model>/<view>/<key>.<ext>, absolute."""
    opened = None
    for product, kind, view, parts in SELECTIONS:
        if opened != product:
            tab.open(f"products/{product}/")
            opened = product
        options = {"kind": kind, "view": view}
        assert tab.js("([p, o]) => sketchbook.select(p, o)", [parts, options]) == {
            "product": product, "kind": kind, "parts": parts}
        expected = picture_url(demo_site, renders_base(demo_server), product, kind, view,
                               tuple(parts.values()))
        assert tab.js("sketchbook.imageUrl()") == expected
        model = demo_site.catalog.products[product].model
        key = expected.rsplit("/", 1)[1][:-len(".jpg")]
        ready = key in demo_site.ready[model][view]
        assert tab.js("sketchbook.isReady()") is ready
        if ready:
            tab.wait("(u) => document.querySelector('.sb-img').src === u", arg=expected)
    tab.assert_clean()


def test_select_refuses_what_does_not_fit(tab: Tab) -> None:
    tab.open("products/maru-bench/")
    before = tab.selection()
    for call in ("sketchbook.select({Pads: 9999})",
                 "sketchbook.select({Frame: 1140})",  # walnut: not a light wood
                 "sketchbook.select({Frame: 1140}, {kind: 'with-table'})",
                 "sketchbook.select({}, {kind: 'no-such-kind'})",
                 "sketchbook.select({}, {view: 'no-such-view'})"):
        error = tab.js(f"() => {{ try {{ {call}; return null; }} "
                       "catch (e) { return String(e.message || e); } }")
        assert error and error.startswith("sketchbook:"), (call, error)
        assert tab.selection() == before, call
    tab.assert_clean()


# -- small catalogs of their own --------------------------------------------------------

XSS_SCRIPT = "</script><script>alert(1)</script>"
XSS_ATTR = '"><img src=x onerror=alert(1)>'


@contextlib.contextmanager
def catalog_site(root: Path, cat: dict[str, Any], ready_keys: Callable[[Any], dict[str, Any]],
                 quality: str = "preview",
                 store: Callable[[Path, list[str]], Any] = make_store
                 ) -> Iterator[tuple[Any, Any, str]]:
    """Build a catalog (a dict, see conftest.BASE) with these ready keys (model -> view ->
    keys, or layer names at a layered quality, from the loaded catalog) at `quality` and
    serve it: yields (catalog, ready, base URL)."""
    from sitegen.catalog.load import load_catalog
    from sitegen.site import site_files, write_site

    cwd = os.getcwd()
    os.chdir(root)
    try:
        catalog, _ = load_catalog(write_catalog(root / "cat", {"catalog.yaml": cat}))
    finally:
        os.chdir(cwd)
    ready = ready_keys(catalog)
    ext = catalog.qualities[quality].ext
    store(root / "renders", [f"{quality}/{model}/{view}/{key}.{ext}"
                             for model, views in ready.items()
                             for view, keys in views.items() for key in keys]).close()
    write_site(site_files(catalog, quality, ready), root / "build")
    served = serve(root / "build", root / "renders", catalog.site.renders_url)
    try:
        yield catalog, ready, next(served).url
    finally:
        served.close()


def test_hostile_names_are_shown_as_text(browser: Any, tmp_path_factory: pytest.TempPathFactory
                                         ) -> None:
    """Names that are HTML or script are shown as text: nothing runs, nothing is injected."""
    cat = base_catalog()
    for finish in cat["finishes"]:
        if finish["id"] in (1127, 1128):
            finish["name"] = {1127: XSS_SCRIPT, 1128: XSS_ATTR}[finish["id"]]
    cat["products"][0]["name"] = XSS_ATTR
    with catalog_site(tmp_path_factory.mktemp("hostile"), cat, lambda c: {}) as (_, _r, url):
        opened = Tab(browser, url, "hostile")
        try:
            page = opened.open("products/kino-stool/")
            assert page.locator("h1").inner_text() == XSS_ATTR
            assert page.title().startswith(XSS_ATTR)
            titles = page.eval_on_selector_all(
                '.sb-part[data-part="Frame"] .sb-swatch', "(bs) => bs.map((b) => b.title)")
            assert titles[:2] == [XSS_SCRIPT, XSS_ATTR]
            legend = page.locator('.sb-part[data-part="Frame"] .sb-legend-value').inner_text()
            assert legend == XSS_SCRIPT
            assert page.locator("img[src='x']").count() == 0
            assert page.evaluate("document.querySelectorAll('script').length") == 1
            # No picture is ready at all: the empty state, and no broken image.
            assert page.locator(".sb-status").inner_text().startswith("Not rendered yet")
            opened.wait_images()
            assert opened.broken_images() == []
            assert opened.dialogs == []
            opened.screenshot("hostile-names")
            opened.assert_clean()
            opened.open("", sketchbook=False)
            assert page.locator(".card-name").inner_text() == XSS_ATTR
            assert page.locator(".card .not-rendered").text_content() == "Not rendered yet"
            opened.assert_clean()
        finally:
            opened.close()


def test_pictures_two_kinds_share_are_counted_once(browser: Any,
                                                    tmp_path_factory: pytest.TempPathFactory
                                                    ) -> None:
    """Two kinds that make the same pictures (a style switch): count() skips the duplicate
    rows, as count_ready_from_rows does; and a part name that needs escaping in the URL hash."""
    from sitegen.expand import expand_product, iter_keys, sketchbook_entries
    from sitegen.site.data import count_ready_from_rows, ready_rows

    part = "Top seat 2"
    cat = base_catalog()
    product = cat["products"][0]
    for kind in product["kinds"]:
        kind["parts"][1]["part"] = part
    again = json.loads(json.dumps(product["kinds"][0]))
    again.update(id="wood-again", name="Wooden top, again")
    product["kinds"].append(again)

    def ready_keys(catalog: Any) -> dict[str, Any]:
        plans = expand_product(catalog, catalog.products["kino-stool"])
        keys = sorted({k for p in plans for k in iter_keys(p)})
        return {"kino": {"front": set(keys[::2]), "side": set(keys[1::3])}}

    with catalog_site(tmp_path_factory.mktemp("shared"), cat, ready_keys) as (
            catalog, ready, url):
        plans = expand_product(catalog, catalog.products["kino-stool"])
        (entry,) = sketchbook_entries(plans)
        assert entry.kinds == ("wood-top", "lino-top", "wood-again") and entry.style_switch
        opened = Tab(browser, url, "shared")
        try:
            opened.open("products/kino-stool/")
            data = opened.js("fetch('data.json').then((r) => r.json())")
            assert "duplicate" in data["kinds"]["wood-again"]
            filters: list[dict[str, list[int]]] = [
                {}, {"Frame": [1127]}, {part: [1128, 1140]}, {part: [235, 236]},
                {"Frame": [1128, 1140], part: [1127, 1128, 235]}]
            for view in ("front", "side"):
                rows = ready_rows(plans, [entry], ready["kino"][view])
                opened.js("(v) => sketchbook.select({}, {view: v})", view)
                for flt in filters:
                    expected = count_ready_from_rows(plans, entry, rows, flt)
                    assert opened.js("(f) => sketchbook.count(f)", flt) == expected, (view, flt)
                assert int(opened.page.locator(".sb-count").get_attribute("data-count")) == \
                    count_ready_from_rows(plans, entry, rows, {})
            # The part name is escaped in the hash, and a link with it selects.
            opened.js("() => sketchbook.select({Frame: 1140, 'Top seat 2': 1128}, "
                      "{kind: 'wood-again', view: 'front'})")
            assert opened.hash() == "#kind=wood-again&view=front&Frame=1140&Top%20seat%202=1128"
            opened.open("products/kino-stool/#kind=lino-top&view=side&Frame=1128&"
                        "Top%20seat%202=236")
            assert opened.selection() == {"product": "kino-stool", "kind": "lino-top",
                                          "parts": {"Frame": 1128, part: 236}}
            opened.assert_clean()
        finally:
            opened.close()


def test_kinds_with_unrelated_parts_become_tabs(browser: Any,
                                               tmp_path_factory: pytest.TempPathFactory
                                               ) -> None:
    """A kind whose parts share nothing with the others is a separate entry (a tab): counts
    are per entry, and the hash, history and arrow keys move between entries."""
    from sitegen.expand import expand_product, iter_keys, sketchbook_entries
    from sitegen.site.data import count_ready_from_rows, ready_rows

    cat = base_catalog()
    cat["products"][0]["kinds"].append({"id": "bench", "name": "Bench seat", "parts": [
        {"part": "Seat", "covered": ["linoleum"], "meshes": ["top"]}]})

    def ready_keys(catalog: Any) -> dict[str, Any]:
        plans = expand_product(catalog, catalog.products["kino-stool"])
        keys = sorted({k for p in plans for k in iter_keys(p)})
        return {"kino": {"front": set(keys[::2]), "side": set(keys[::3])}}

    with catalog_site(tmp_path_factory.mktemp("tabs"), cat, ready_keys) as (
            catalog, ready, url):
        plans = expand_product(catalog, catalog.products["kino-stool"])
        entries = sketchbook_entries(plans)
        assert [e.kinds for e in entries] == [("wood-top", "lino-top"), ("bench",)]
        rows = ready_rows(plans, entries, ready["kino"]["front"])
        opened = Tab(browser, url, "tabs")
        try:
            page = opened.open("products/kino-stool/")
            tabs = page.locator(".sb-tab")
            assert tabs.all_inner_texts() == ["Wooden top / Linoleum top", "Bench seat"]
            assert tabs.nth(0).get_attribute("aria-selected") == "true"
            first = opened.hash()
            for flt in ({}, {"Top": [235, 1128]}, {"Seat": [0]}, {"Seat": [235]}):
                assert opened.js("(f) => sketchbook.count(f)", flt) == count_ready_from_rows(
                    plans, entries[0], rows, flt), flt
            tabs.nth(1).click()
            opened.wait("sketchbook.selection().kind === 'bench'")
            assert opened.hash() == "#kind=bench&view=front&Seat=235"
            assert tabs.nth(1).get_attribute("aria-selected") == "true"
            for flt in ({}, {"Seat": [236, 237]}, {"Top": [0]}, {"Top": [1127]}):
                assert opened.js("(f) => sketchbook.count(f)", flt) == count_ready_from_rows(
                    plans, entries[1], rows, flt), flt
            shown = int(page.locator(".sb-count").get_attribute("data-count"))
            assert shown == count_ready_from_rows(plans, entries[1], rows, {})
            opened.screenshot("tabs-bench")
            page.go_back()
            opened.wait("sketchbook.selection().kind === 'wood-top'")
            assert opened.hash() == first
            tabs.nth(0).focus()
            page.keyboard.press("ArrowRight")
            opened.wait("sketchbook.selection().kind === 'bench'")
            assert opened.js("document.activeElement.textContent") == "Bench seat"
            # Selecting a part of the other entry moves there.
            opened.js("sketchbook.select({Top: 1140})")
            assert opened.selection()["kind"] == "wood-top"
            opened.assert_clean()
        finally:
            opened.close()


def test_page_data_is_what_python_built(tab: Tab, demo_site: Any) -> None:
    """The page reads the data.json the build wrote (no other source of truth)."""
    tab.open("products/oto-pouf/")
    fetched = tab.js("fetch('data.json').then((r) => r.json())")
    assert fetched == json.loads(demo_site.files["products/oto-pouf/data.json"])
    tab.assert_clean()


# -- layered qualities (docs/layers.md): pictures stacked from a backdrop and part layers --


def shown_stack(tab: Tab) -> list[str]:
    """The URLs the picture shows once its stack is loaded: backdrop, then part layers."""
    tab.wait("document.querySelector('.sb-shown').dataset.state === 'shown'")
    urls: list[str] = tab.js("""() => [...document.querySelectorAll('.sb-figure .sb-layers img')]
        .map((i) => i.src)""")
    assert tab.js("document.querySelector('.sb-figure .sb-layers img')"
                  ".classList.contains('sb-img')")
    return urls


def gallery_tiles(tab: Tab) -> list[tuple[str, str]]:
    """(kind, key) of every tile on every gallery page, paging with Next from page 1."""
    while tab.page.locator(".sb-pager").is_visible() and \
            tab.page.get_by_role("button", name="Previous").is_enabled():
        page = tab.page.locator(".sb-page-text").inner_text()
        tab.page.get_by_role("button", name="Previous").click()
        tab.wait("(t) => document.querySelector('.sb-page-text').textContent !== t", page)
    tiles: list[tuple[str, str]] = []
    while True:
        tiles += [tuple(t) for t in tab.js("""() => [...document.querySelectorAll(
            '.sb-gallery .sb-tile')].map((b) => [b.dataset.kind, b.dataset.key])""")]
        page = tab.page.locator(".sb-page-text").inner_text()
        if tab.page.locator(".sb-pager").is_hidden() or \
                tab.page.get_by_role("button", name="Next").is_disabled():
            return tiles
        tab.page.get_by_role("button", name="Next").click()
        tab.wait("(t) => document.querySelector('.sb-page-text').textContent !== t", page)


def layered_catalog() -> dict[str, Any]:
    """The kino stool of conftest.BASE at a layered quality, with kinds that share presence
    patterns: `wood-again` (wood-top again, its Top optional) makes the same keys as
    wood-top; `edged` (Frame on frame only, the rim an Edge charted from the linoleum Top,
    optional) makes some of lino-top's keys (Frame and Edge alike) from other layers."""
    cat = base_catalog()
    cat["qualities"][0].pop("primary")
    cat["qualities"].append({"id": "layers", "engine": "cycles", "samples": 4,
                             "resolution": [64, 48], "format": "webp", "jpeg_quality": 100,
                             "primary": True, "layers": True})
    cat["finishes"].append({"id": 237, "pattern": "lino", "name": "Mauve", "color": "#8d6e7f"})
    cat["colorcharts"] = [{"id": "edge", "name": "Edge band", "map": {
        235: [1127, 2001], 236: [1128, 2002, 1140], 237: [1140, 2001]}}]
    kinds = cat["products"][0]["kinds"]
    again = json.loads(json.dumps(kinds[0]))
    again.update(id="wood-again", name="Wooden top, removable")
    again["parts"][1]["optional"] = True
    kinds.append(again)
    kinds.append({"id": "edged", "name": "Edged linoleum", "parts": [
        {"part": "Frame", "covered": ["wood"], "meshes": ["frame"]},
        {"part": "Top", "covered": ["linoleum"], "meshes": ["insert"]},
        {"part": "Edge", "covered": ["wood", "mdf"], "meshes": ["rim"], "colorchart": "edge",
         "optional": True}]})
    return cat


def some_layers(catalog: Any, quality: str, share: int) -> dict[str, Any]:
    """model -> view -> layer names: about share/10 of every wanted layer (by a hash of its
    address, salted: with 9/10, each view of `layered_catalog` has more than one gallery
    page), and every layer of a kind's default colouring."""
    import hashlib

    from sitegen.plan import wanted_renders

    ready: dict[str, dict[str, set[str]]] = {}
    for w in wanted_renders(catalog, quality=quality):
        if w.default or hashlib.sha256(b"c" + w.address.encode()).digest()[0] % 10 < share:
            ready.setdefault(w.model, {}).setdefault(w.view, set()).add(w.key)
    return ready


LAYERED_FILTERS: list[dict[str, list[int]]] = [
    {}, {"Frame": [1127]}, {"Top": [0]}, {"Top": [235, 1128]}, {"Edge": [0]},
    {"Edge": [1127, 2002]}, {"Frame": [1128, 1140], "Edge": [0, 1128]}, {"Top": []},
    {"Frame": [1127], "Top": [1127, 235, 0], "Edge": [0, 1127, 2001]},
]


def test_layered_counts_gallery_and_nearest(browser: Any,
                                            tmp_path_factory: pytest.TempPathFactory) -> None:
    """At a layered quality (synthetic layers, no Blender), with kinds that share presence
    patterns, a charted and optional parts: count() is
    sitegen.layers.count_ready_from_layers for every filter; the gallery lists, page by page,
    exactly the ready colourings (kind by kind, rule 5 order, a key once); a colouring not
    ready shows the nearest ready one."""
    from sitegen.expand import iter_colourings
    from sitegen.layers import colouring_layers, count_ready_from_layers

    with catalog_site(tmp_path_factory.mktemp("layered"), layered_catalog(),
                      lambda c: some_layers(c, "layers", 9), "layers") as (catalog, ready, url):
        plans, entries = product_plans(catalog, "kino-stool")
        (entry,) = entries
        assert entry.kinds == ("wood-top", "lino-top", "wood-again", "edged")
        product = catalog.products["kino-stool"]
        opened = Tab(browser, url, "layered-synthetic")
        try:
            opened.open("products/kino-stool/")
            data = opened.js("fetch('data.json').then((r) => r.json())")
            assert set(data["layers"]) == {"front", "side"}
            assert not any("ready" in k for k in data["kinds"].values())
            seen = set()
            tried = 0
            for view in ("front", "side"):
                names = ready["kino"][view]
                opened.js("(v) => sketchbook.select({}, {view: v})", view)
                for flt in LAYERED_FILTERS:
                    expected = count_ready_from_layers(catalog, product, names, flt,
                                                       kinds=entry.kinds)
                    assert expected == len(ready_colourings(catalog, "kino-stool", names, flt))
                    assert opened.js("(f) => sketchbook.count(f)", flt) == expected, (view, flt)
                    seen.add(expected)
                total = count_ready_from_layers(catalog, product, names, kinds=entry.kinds)
                assert shown_count(opened) == total
                listed = [(k, key) for k, _, key in ready_colourings(catalog, "kino-stool",
                                                                       names)]
                assert total > 24 and len(set(listed)) == len(listed)
                assert gallery_tiles(opened) == listed, view

                # Every colouring that is not ready: the nearest ready one is shown.
                for plan in plans:
                    for values in iter_colourings(plan):
                        if set(colouring_layers(plan, values)) <= names:
                            continue
                        parts = dict(zip(plan.part_names, values, strict=True))
                        opened.js("([p, k]) => sketchbook.select(p, {kind: k})",
                                  [parts, plan.kind])
                        assert opened.js("sketchbook.isReady()") is False
                        assert opened.page.locator(".sb-badge").is_visible()
                        stack = shown_stack(opened)
                        distance, best = nearest_colourings(catalog, "kino-stool", names,
                                                            plan.kind, parts)
                        assert distance >= 1
                        nearest = [layer_urls_of(catalog, opened, k, v, view) for k, v in best]
                        assert stack in nearest, (plan.kind, parts, stack, distance)
                        tried += 1
            assert len(seen) >= 5, "the filters should tell the counts apart"
            assert tried >= 20
            opened.wait_images()
            assert opened.broken_images() == []
            opened.assert_clean()
        finally:
            opened.close()


def layer_urls_of(catalog: Any, tab: Tab, kind: str, values: tuple[int, ...],
                  view: str = "front") -> list[str]:
    return layer_urls(catalog, f"{tab.base}renders/", catalog.primary_quality.id,
                      "kino-stool", kind, view, values)


def test_layered_counts_beyond_2_53_are_exact(browser: Any,
                                              tmp_path_factory: pytest.TempPathFactory) -> None:
    """Ten parts of forty finishes each: 40^10 (> 2^53) colourings stacked from 401 layers.
    count() is exact (a BigInt above Number.MAX_SAFE_INTEGER, a number below), the gallery
    pages through them without listing them, and the nearest ready colouring of one that
    lacks a layer is found by branch and bound."""
    from sitegen.catalog.load import load_catalog
    from sitegen.layers import count_ready_from_layers
    from sitegen.plan import wanted_renders
    from sitegen.site import site_files, write_site

    root = tmp_path_factory.mktemp("quilt")
    finishes = list(range(5000, 5040))
    cat = base_catalog()
    cat["qualities"] = [{"id": "layers", "engine": "cycles", "samples": 4,
                         "resolution": [64, 48], "format": "webp", "primary": True,
                         "layers": True}]
    cat["patterns"].append({"id": "weave", "nature": "fabric", "name": "Weave"})
    cat["finishes"] += [{"id": f, "pattern": "weave", "name": f"Weave {f}",
                         "color": f"#{(f * 37) % 256:02x}{(f * 91) % 256:02x}80"}
                        for f in finishes]
    cat["models"] = [{"id": "grid", "blend": "kino.blend",
                      "meshes": [f"m{i}" for i in range(10)], "views": ["main"]}]
    cat["products"] = [{"id": "quilt", "name": "Quilt", "model": "grid", "kinds": [
        {"id": "all", "name": "All", "parts": [
            {"part": f"P{i}", "covered": ["fabric"], "meshes": [f"m{i}"]}
            for i in range(10)]}]}]
    cwd = os.getcwd()
    os.chdir(root)
    try:
        catalog, _ = load_catalog(write_catalog(root / "cat", {"catalog.yaml": cat}))
    finally:
        os.chdir(cwd)
    missing = "layer-1111111111-m3-5000"
    names = {w.key for w in wanted_renders(catalog)} - {missing}
    assert len(names) == 400
    # Files only for what the page loads (the index says every layer but one is ready).
    shown = {n for n in names if n.endswith("-base") or n.endswith("-5000")
             or n.endswith("-5001") or n.split("-")[2] == "m9"}
    make_store(root / "renders", [f"layers/grid/main/{n}.webp" for n in shown]).close()
    write_site(site_files(catalog, "layers", {"grid": {"main": names}}), root / "build")
    served = serve(root / "build", root / "renders", catalog.site.renders_url)
    opened = Tab(browser, next(served).url, "quilt")
    try:
        opened.open("products/quilt/")
        product = catalog.products["quilt"]
        total = count_ready_from_layers(catalog, product, names)
        assert total == 39 * 40 ** 9 > 2 ** 53
        assert opened.js("typeof sketchbook.count({})") == "bigint"
        assert opened.js("String(sketchbook.count({}))") == str(total)
        assert opened.page.locator(".sb-count").get_attribute("data-count") == str(total)
        assert opened.page.locator(".sb-count").inner_text() == f"{total} ready pictures match"
        pages = -(-total // 24)
        assert opened.page.locator(".sb-page-text").inner_text() == f"Page 1 of {pages}"
        for flt in ({"P3": [5000]}, {"P3": [5001, 5002]}, {"P0": [5000], "P9": [5039, 0]},
                    {"P1": [0]}, {"P0": finishes[:7], "P1": finishes[3:], "P5": finishes}):
            expected = count_ready_from_layers(catalog, product, names, flt)
            got = opened.js("(f) => { const n = sketchbook.count(f); "
                            "return [typeof n, String(n)]; }", flt)
            assert got == ["bigint" if expected > 2 ** 53 - 1 else "number", str(expected)], flt
        # The default (every part 5000) lacks the P3 layer: the nearest changes P3 only.
        assert opened.js("sketchbook.isReady()") is False
        assert opened.page.locator(".sb-status").inner_text() == \
            "Not rendered yet. Showing: P3 Weave 5001 instead of Weave 5000."
        stack = shown_stack(opened)
        assert [u.rsplit("/", 1)[1] for u in stack] == ["layer-1111111111-base.webp"] + [
            f"layer-1111111111-m{i}-{5001 if i == 3 else 5000}.webp" for i in range(10)]
        # The gallery: rule 5 order (the last part fastest), P3 skipping 5000.
        def keys(page: list[tuple[str, str]]) -> list[str]:
            return [key for _, key in page]

        tiles = opened.js("""() => [...document.querySelectorAll('.sb-gallery .sb-tile')]
            .map((b) => b.dataset.key)""")
        first = "_".join(f"m{i}-{5001 if i == 3 else 5000}" for i in range(9))
        assert tiles == [f"{first}_m9-{f}" for f in finishes[:24]]
        opened.page.get_by_role("button", name="Next").click()
        opened.wait("document.querySelector('.sb-page-text').textContent.startsWith('Page 2 ')")
        tiles = opened.js("""() => [...document.querySelectorAll('.sb-gallery .sb-tile')]
            .map((b) => b.dataset.key)""")
        second = first.replace("m8-5000", "m8-5001")
        assert tiles == [f"{first}_m9-{f}" for f in finishes[24:]] + [
            f"{second}_m9-{f}" for f in finishes[:8]]
        opened.page.locator(".sb-gallery .sb-tile").nth(3).click()
        opened.wait("sketchbook.isReady()")
        assert opened.selection()["parts"] == {f"P{i}": 5001 if i in (3,) else 5000
                                               for i in range(9)} | {"P9": 5027}
        # (Four hundred lazy swatches: only the pictures are waited for.)
        pictures = "[...document.querySelectorAll('.sb-figure img, .sb-gallery img')]"
        opened.wait(f"() => {pictures}.every((i) => i.complete)")
        assert opened.js(f"() => {pictures}.filter((i) => !i.naturalWidth).length") == 0
        opened.assert_clean()
    finally:
        opened.close()
        served.close()


# -- layered qualities with real Blender layers --------------------------------------------

# The demo at its layered quality, tiny and quick: 96x72, 16 samples, no denoising (measured
# on 2 cores: about 10 s to render maru's and kino's 64 layers and 4 full pictures).
TINY = {"resolution": [96, 72], "samples": 16, "denoise": "off", "sizes": [48]}
# Full pictures of maru at the same settings, to hold the stacks against.
CHECK_ORDER = """orders:
  - id: stack-check
    product: maru-bench
    quality: preview
    select:
      Frame: {finishes: [1128]}
      Pads: {finishes: [4120]}
      Bolsters: {finishes: [4031, 4107]}
"""
# Taken out of a copy of the store (files and index rows): a layer, a whole presence's
# backdrop, a layer of one view only.
MISSING = ["studio/maru/main/layer-11101-bolsters-4031.webp",
           "studio/maru/main/layer-11011-base.webp",
           "studio/kino/front/layer-1011-insert-236.webp"]


@dataclass
class LayeredDemo:
    """The demo rendered at its (tiny) layered quality, built twice: from the whole store,
    and from a copy missing the MISSING layers."""

    catalog: Any
    root: Path
    ready: dict[str, dict[str, set[str]]]  # model -> view -> ready layer names (whole store)
    partial: dict[str, dict[str, set[str]]]  # the same, for the partial store


@pytest.fixture(scope="module")
def layered_demo(tmp_path_factory: pytest.TempPathFactory) -> LayeredDemo:
    import shutil
    import sqlite3
    import subprocess
    import sys
    import time

    from sitegen.site import ready_by_model
    from sitegen.store import FolderStore, thumb_address

    need_bpy()
    root = tmp_path_factory.mktemp("layered-demo")
    cat = demo_copy(root / "cat", "studio",
                    {"studio": TINY, "preview": {**TINY, "format": "png"}})
    (cat / "products" / "zz-stack-check.yaml").write_text(CHECK_ORDER, encoding="utf-8")
    (root / "tmp").mkdir()
    env = {**os.environ, "TMPDIR": str(root / "tmp")}

    def sitegen(*args: str, renders: str = "renders") -> None:
        result = subprocess.run([sys.executable, "-m", "sitegen", "--catalog", str(cat), *args,
                                 "--renders", str(root / renders)], cwd=root, env=env,
                                capture_output=True, text=True, timeout=300, check=False)
        assert result.returncode == 0, result.stdout + result.stderr

    started = time.monotonic()
    sitegen("render", "--workers", "1", "--device", "cpu", "--product", "maru-bench",
            "--product", "kino-stool", "--json")
    print(f"rendered in {time.monotonic() - started:.1f} s")
    sitegen("build", "--out", str(root / "build"))
    shutil.copytree(root / "renders", root / "partial")
    db = sqlite3.connect(root / "partial" / "index.sqlite")
    try:
        for address in MISSING:
            (root / "partial" / address).unlink()
            (root / "partial" / thumb_address(address)).unlink()
            assert db.execute("DELETE FROM renders WHERE address = ?", (address,)).rowcount == 1
        db.commit()
    finally:
        db.close()
    sitegen("build", "--out", str(root / "build-partial"), renders="partial")
    catalog = load_demo(cat)

    def ready(store: str) -> dict[str, dict[str, set[str]]]:
        opened = FolderStore(root / store)
        try:
            return ready_by_model(opened.stored("studio"), "studio")
        finally:
            opened.close()

    return LayeredDemo(catalog, root, ready("renders"), ready("partial"))


@pytest.fixture(scope="module")
def layered_server(layered_demo: LayeredDemo) -> Iterator[Any]:
    yield from serve(layered_demo.root / "build", layered_demo.root / "renders", "renders/")


@pytest.fixture(scope="module")
def partial_server(layered_demo: LayeredDemo) -> Iterator[Any]:
    yield from serve(layered_demo.root / "build-partial", layered_demo.root / "partial",
                     "renders/")


def pixels(source: Path | bytes, mode: str = "RGB") -> Any:
    """A picture's pixels (H x W x channels, uint8), from a file or its bytes."""
    from sitegen.verify import decode

    return decode(source if isinstance(source, bytes) else source.read_bytes(), mode)


def stack_screenshot(tab: Tab) -> Any:
    """The picture's stack at its files' own size (96x72), pinned to the page's top left
    corner, square-cornered: exactly the pixels the browser composited."""
    tab.js("""() => { const p = document.querySelector('.sb-picture');
        Object.assign(p.style, {position: 'fixed', left: '0', top: '0', zIndex: '100',
            width: '96px', height: '72px', aspectRatio: 'auto', borderRadius: '0'});
        document.querySelector('.sb-zoom-button').hidden = true; }""")
    tab.page.wait_for_timeout(100)
    return pixels(tab.page.screenshot(clip={"x": 0, "y": 0, "width": 96, "height": 72}))


MARU = {"Frame": 1128, "Pads": 4120, "Bolsters": 4031}


@pytest.mark.blender
@pytest.mark.parametrize("kind", ["without-table", "with-table"])
def test_layered_stack_adds_its_layers_and_matches_a_full_render(
        browser: Any, layered_demo: LayeredDemo, layered_server: Any, kind: str) -> None:
    """The stacked picture (backdrop, then the part layers added up in an isolated group,
    then redrawn in linear light on a canvas on top) is what a Python composite of the same
    files gives (sitegen.verify's), and close to a full render of the same colouring at the
    same settings (closer than to the next colouring's)."""
    import numpy as np

    from sitegen.verify import bounce_weights, psnr, weighted_strips
    from sitegen.verify import composite as stack
    catalog = layered_demo.catalog
    tab = Tab(browser, layered_server.url, f"stack-{kind}")
    try:
        fragment = f"kind={kind}&view=main&" + "&".join(f"{p}={v}" for p, v in MARU.items())
        tab.open(f"products/maru-bench/#{fragment}")
        assert tab.js("sketchbook.isReady()") is True
        urls = layer_urls(catalog, f"{tab.base}renders/", "studio", "maru-bench", kind,
                          "main", tuple(MARU.values()))
        assert tab.js("sketchbook.imageUrls()") == urls and len(urls) == 4
        assert tab.js("sketchbook.imageUrl()") == urls[0] and urls[0].endswith("-base.webp")
        assert shown_stack(tab) == urls
        styles = tab.js("""() => [getComputedStyle(document.querySelector('.sb-layers')).isolation,
            ...[...document.querySelectorAll('.sb-layers img')].map(
                (i) => getComputedStyle(i).mixBlendMode)]""")
        assert styles == ["isolate", "normal", "plus-lighter", "plus-lighter", "plus-lighter"]
        switch = " With table," if kind == "with-table" else " Without table,"
        assert tab.page.locator(".sb-figure .sb-img").get_attribute("alt") == (
            f"Maru bench, 5 slats,{switch} Frame: Oak, white oil, Pads: Meld 120 Navy, "
            "Bolsters: Mode 031 Rust")
        tab.wait_images()
        assert tab.broken_images() == []
        if kind == "without-table":
            tab.screenshot("maru-layered")
        # The linear-light canvas is what shows: on top of the CSS stack.
        assert tab.js("""() => { const c = document.querySelector('.sb-canvas');
            const r = c.getBoundingClientRect();
            return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === c;
            }""") is True
        assert tab.js("document.querySelector('.sb-shown').dataset.stack") == "linear"
        assert tab.js("document.querySelector('.sb-shown').dataset.bounce") == "on"
        shot = stack_screenshot(tab)
        files = [layered_demo.root / "renders" / u.split("/renders/", 1)[1] for u in urls]
        plans, _ = product_plans(catalog, "maru-bench")
        plan = next(p for p in plans if p.kind == kind)
        # sitegen.verify's composite: the rule the layered quality is verified with (the
        # demo's studio quality carries its neighbours' light: its bounce images too).
        folder = files[0].parent
        composite = stack(pixels(files[0]), [pixels(f, "RGBA") for f in files[1:]],
                          weighted_strips((k, pixels(folder / f"{name}.webp"), weights)
                                          for k, name, weights in bounce_weights(
                                              catalog, plan, tuple(MARU.values()))))
        store = layered_demo.root / "renders" / "preview" / "maru" / "main"
        full = pixels(store / f"{plan.key(tuple(MARU.values()))}.png")
        other = pixels(store / f"{plan.key((1128, 4120, 4107))}.png")
        measured = {"composite": psnr(shot, composite), "full": psnr(shot, full),
                    "other": psnr(shot, other), "composite-full": psnr(composite, full),
                    "max": float(np.abs(shot.astype(int) - composite.astype(int)).max())}
        print(kind, {k: round(v, 2) for k, v in measured.items()})
        # (a few levels at most, at pixels a layer covers partly: the canvas keeps them
        # premultiplied in 8 bits, and the dark end of the sRGB curve magnifies that)
        assert measured["composite"] >= 45 and measured["max"] <= 6, measured
        assert measured["full"] >= 27, measured
        assert measured["full"] >= measured["other"] + 2, measured
        assert abs(measured["full"] - measured["composite-full"]) < 0.5, measured
        tab.assert_clean()
    finally:
        tab.close()


def status_text(tab: Tab) -> str:
    text: str = tab.page.locator(".sb-status").inner_text()
    return text


@pytest.mark.blender
def test_layered_not_rendered_state_shows_the_nearest_ready_stack(
        browser: Any, layered_demo: LayeredDemo, partial_server: Any) -> None:
    """A store missing a part layer, a whole presence's backdrop, a layer in one view: the
    colourings that need them are not ready; the page shows the nearest ready stack
    (greyed, labelled), never a broken image; a view where it is ready shows it."""
    catalog = layered_demo.catalog
    tab = Tab(browser, partial_server.url, "layered-not-ready")
    base = f"{tab.base}renders/"
    cases = [  # product, kind, view, parts, the status line
        ("maru-bench", "without-table", "main", MARU,
         "Not rendered yet. Showing: Bolsters Mode 012 Ash instead of Mode 031 Rust."),
        ("maru-bench", "with-table", "main", MARU,
         "Not rendered yet. Showing: Bolsters removed instead of Mode 031 Rust."),
        ("kino-stool", "lino-top", "front", {"Frame": 1128, "Top": 236},
         "Not rendered yet. Showing: Top Charcoal 4023 instead of Pistachio 4183."),
    ]
    try:
        for product, kind, view, parts, status in cases:
            tab.open(f"products/{product}/")
            model = catalog.products[product].model
            names = layered_demo.partial[model][view]
            tab.js("([p, o]) => sketchbook.select(p, o)", [parts, {"kind": kind, "view": view}])
            assert tab.selection() == {"product": product, "kind": kind, "parts": parts}
            assert tab.js("sketchbook.isReady()") is False
            wanted = layer_urls(catalog, base, "studio", product, kind, view,
                                tuple(parts.values()))
            assert tab.js("sketchbook.imageUrls()") == wanted
            assert status_text(tab) == status
            assert tab.page.locator(".sb-badge").is_visible()
            assert "sb-not-ready" in tab.page.locator(".sb-figure").get_attribute("class")
            stack = shown_stack(tab)
            distance, best = nearest_colourings(catalog, product, names, kind, parts)
            assert distance == 1
            assert stack in [layer_urls(catalog, base, "studio", product, k, view, v)
                             for k, v in best]
            assert all(u.rsplit("/", 1)[1].rsplit(".", 1)[0] in names for u in stack)
            assert set(wanted) - set(stack)  # what is missing is not asked for
            tab.wait_images()
            assert tab.broken_images() == []
            tab.screenshot(f"layered-not-ready-{kind}")
        # kino: Top 236 lacks its front layer only: the side view button shows the
        # stacked thumbnail, the front one says "Not rendered"; in the side view it is ready.
        front = tab.page.locator('.sb-view[data-view="front"]')
        side = tab.page.locator('.sb-view[data-view="side"]')
        assert "Not rendered" in front.inner_text() and front.locator("img").count() == 0
        thumbs = side.locator("img").evaluate_all("(is) => is.map((i) => i.src)")
        assert thumbs == layer_urls(catalog, base, "studio", "kino-stool", "lino-top", "side",
                                    (1128, 236), thumb=True)
        side.click()
        tab.wait("sketchbook.isReady()")
        assert shown_stack(tab) == layer_urls(catalog, base, "studio", "kino-stool",
                                              "lino-top", "side", (1128, 236))
        assert status_text(tab) == "" and not tab.page.locator(".sb-badge").is_visible()
        tab.wait_images()
        assert tab.broken_images() == []
        tab.assert_clean()
    finally:
        tab.close()


LAYERED_DEMO_FILTERS: dict[str, list[dict[str, list[int]]]] = {
    "maru-bench": [{}, {"Bolsters": [0]}, {"Bolsters": [4031]}, {"Bolsters": [4031, 0]},
                   {"Pads": [4107, 4120], "Bolsters": [0, 4012]},
                   {"Frame": [1128], "Pads": [4031]}, {"Frame": []}],
    "kino-stool": [{}, {"Top": [235, 236, 237]}, {"Top": [236]}, {"Frame": [1128],
                                                                  "Top": [1127, 236]},
                   {"Stool": [0]}, {"Stool": [1127]}],
}


@pytest.mark.blender
def test_layered_counts_and_gallery_on_real_layers(
        browser: Any, layered_demo: LayeredDemo, partial_server: Any) -> None:
    """count() is sitegen.layers.count_ready_from_layers for every filter and view; the count
    line says so; the gallery pages through exactly the ready colourings (stacked thumbnails), and a
    tile selects its colouring."""
    from sitegen.layers import count_ready_from_layers

    catalog = layered_demo.catalog
    tab = Tab(browser, partial_server.url, "layered-counts")
    base = f"{tab.base}renders/"
    try:
        for product, filters in LAYERED_DEMO_FILTERS.items():
            tab.open(f"products/{product}/")
            plans, (entry,) = product_plans(catalog, product)
            model = catalog.models[catalog.products[product].model]
            for view in model.views:
                names = layered_demo.partial[model.id][view]
                tab.js("(v) => sketchbook.select({}, {view: v})", view)
                for flt in filters:
                    expected = count_ready_from_layers(catalog, catalog.products[product],
                                                       names, flt, kinds=entry.kinds)
                    assert tab.js("(f) => sketchbook.count(f)", flt) == expected, (view, flt)
                total = count_ready_from_layers(catalog, catalog.products[product], names)
                assert shown_count(tab) == total
                assert tab.page.locator(".sb-count").inner_text() == \
                    f"{total} ready pictures match"
        # maru: 80 colourings, 40 not ready (8 need the missing Rust bolsters layer, 32 the
        # backdrop with the table and bolsters); the gallery lists the 40 others, 2 pages.
        tab.open("products/maru-bench/")
        names = layered_demo.partial["maru"]["main"]
        listed = ready_colourings(catalog, "maru-bench", names)
        assert len(listed) == shown_count(tab) == 40
        assert tab.page.locator(".sb-page-text").inner_text() == "Page 1 of 2"
        first = tab.page.locator(".sb-gallery .sb-tile").first
        kind, values, _ = listed[0]
        assert first.locator("img").evaluate_all("(is) => is.map((i) => i.src)") == \
            layer_urls(catalog, base, "studio", "maru-bench", kind, "main", values, thumb=True)
        assert gallery_tiles(tab) == [(k, key) for k, _, key in listed]
        assert tab.page.locator(".sb-page-text").inner_text() == "Page 2 of 2"
        tab.wait_images()
        assert tab.broken_images() == []
        tile = tab.page.locator(".sb-gallery .sb-tile").nth(5)
        kind, values, key = listed[24 + 5]
        assert tile.get_attribute("data-key") == key
        tile.click()
        tab.wait("(k) => sketchbook.selection().kind === k", kind)
        plans, _ = product_plans(catalog, "maru-bench")
        names_of = next(p for p in plans if p.kind == kind).part_names
        assert tab.selection()["parts"] == dict(zip(names_of, values, strict=True))
        assert tab.js("sketchbook.isReady()") is True
        assert tile.get_attribute("aria-current") == "true"
        assert shown_stack(tab) == layer_urls(catalog, base, "studio", "maru-bench", kind,
                                              "main", values)
        # A filter box narrows count and gallery alike.
        filter_box(tab, "Bolsters", value=0).check()
        expected = len(ready_colourings(catalog, "maru-bench", names, {"Bolsters": [0]}))
        tab.wait("(n) => document.querySelector('.sb-count').dataset.count === String(n)",
                 arg=expected)
        assert tab.page.locator(".sb-gallery .sb-tile").count() == min(expected, 24)
        tab.wait_images()
        assert tab.broken_images() == []
        tab.assert_clean()
    finally:
        tab.close()


@pytest.mark.blender
@pytest.mark.parametrize("path", ["", "coverage.html",
                                  *(f"products/{p}/" for p in PRODUCTS)])
def test_layered_pages_load_clean(browser: Any, layered_demo: LayeredDemo,
                                  layered_server: Any, path: str) -> None:
    """The layered build (maru and kino rendered, hako and oto not): every page loads with
    no error and no broken picture; pictures are stacks of ready layers."""
    tab = Tab(browser, layered_server.url, f"layered-{path}")
    try:
        tab.open(path, sketchbook=path.startswith("products/"))
        tab.wait_images()
        assert tab.broken_images() == []
        if path == "":
            layers = dict(tab.page.eval_on_selector_all(".card-link", """(cs) => cs.map((c) =>
                [c.href.split('/').at(-2), c.querySelectorAll('.card-picture img').length])"""))
            # kino: the backdrop and 2 part layers; maru: and 3; hako and oto: not rendered.
            assert layers == {"kino-stool": 3, "maru-bench": 4, "hako-table": 0, "oto-pouf": 0}
        if path in ("products/kino-stool/", "products/maru-bench/"):
            assert tab.js("sketchbook.isReady()") is True
            assert len(shown_stack(tab)) == {"products/kino-stool/": 3,
                                             "products/maru-bench/": 4}[path]
        tab.assert_clean()
    finally:
        tab.close()


# -- sizes, the zoom view, exact stacking (synthetic pictures at 1600x1200) ----------------

FULL = (1600, 1200)
SIZES = [400, 800]


def sized_catalog() -> dict[str, Any]:
    """conftest.BASE with its full-picture quality `preview` and a layered one `layers`,
    both 1600x1200 PNG with the sizes 400 and 800."""
    cat = base_catalog()
    cat["qualities"][0].update(resolution=list(FULL), sizes=SIZES)
    cat["qualities"].append({"id": "layers", "engine": "cycles", "samples": 4,
                             "resolution": list(FULL), "sizes": SIZES, "format": "png",
                             "layers": True})
    return cat


@contextlib.contextmanager
def sized_site(root: Path, quality: str) -> Iterator[tuple[Any, Any, str]]:
    """catalog_site of `sized_catalog` at `quality`, every wanted picture (or layer) ready,
    written at full size and at each size (sitefixtures.make_sized_store)."""
    from sitefixtures import make_sized_store

    with catalog_site(root, sized_catalog(), lambda c: some_layers(c, quality, 10), quality,
                      store=lambda r, a: make_sized_store(r, a, FULL, SIZES)) as site:
        yield site


@pytest.fixture(scope="module")
def sized_sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """quality -> base URL of its served site ("preview": full pictures, "layers")."""
    with contextlib.ExitStack() as stack:
        urls = {}
        for quality in ("preview", "layers"):
            _, _, url = stack.enter_context(sized_site(tmp_path_factory.mktemp(quality),
                                                       quality))
            urls[quality] = url
        yield urls


SMALL = {"width": 400, "height": 800}
WIDE = {"width": 1280, "height": 1000}


def width_of(url: str) -> int:
    """The width a picture URL names: `.w<W>.` for a sized copy, else the full width."""
    import re

    found = re.search(r"\.w([0-9]+)\.[a-z]+$", url)
    return int(found.group(1)) if found else FULL[0]


@pytest.mark.parametrize("viewport,scale,expected", [(SMALL, 1, 400), (WIDE, 1, 800),
                                                     (SMALL, 2, 800), (WIDE, 2, 1600)])
def test_the_main_picture_loads_the_size_its_layout_needs(
        browser: Any, sized_sites: dict[str, str], viewport: dict[str, int], scale: float,
        expected: int) -> None:
    """Full pictures: srcset (every size and the full width) with sizes after the layout,
    so the browser loads the smallest copy that fills the picture's device pixels, on the
    script's page and on the static one. Layered: every layer of the stack at one width
    (the same choice, made in the script), the linear canvas at the size loaded."""
    for script in (True, False):
        tab = Tab(browser, sized_sites["preview"], f"sizes-{expected}", viewport=viewport,
                  scale=scale, script=script)
        try:
            tab.open("products/kino-stool/", sketchbook=script)
            img = ".sb-figure .sb-img"
            tab.wait("(s) => document.querySelector(s).complete && "
                     "document.querySelector(s).currentSrc !== ''", img)
            current = tab.js("(s) => document.querySelector(s).currentSrc", img)
            assert width_of(current) == expected, (script, current)
            srcset = tab.js("(s) => document.querySelector(s).srcset", img)
            assert [part.rsplit(" ", 1)[1] for part in srcset.split(", ")] == [
                "400w", "800w", "1600w"]
            plain = current if expected == FULL[0] else srcset.split(", ")[-1].split(" ")[0]
            pictures = [u for u in tab.requests if u.endswith(".png")
                        and "/renders/" in u]
            assert current in pictures
            if expected != FULL[0]:
                assert plain not in pictures, "the full size was loaded too"
            tab.assert_clean()
        finally:
            tab.close()
    tab = Tab(browser, sized_sites["layers"], f"sizes-layered-{expected}", viewport=viewport,
              scale=scale)
    try:
        tab.open("products/kino-stool/")
        stack = shown_stack(tab)
        assert len(stack) == 3  # the backdrop and two part layers
        assert {width_of(u) for u in stack} == {expected}, stack
        plain = tab.js("sketchbook.imageUrls()")
        assert [u.replace(f".w{expected}.", ".") for u in stack] == plain
        assert tab.js("document.querySelector('.sb-shown').dataset.stack") == "linear"
        assert tab.js("document.querySelector('.sb-canvas').width") == expected
        widths = tab.js("""() => [...document.querySelectorAll('.sb-figure .sb-layers img')]
            .map((i) => i.naturalWidth)""")
        assert widths == [expected] * 3
        # The static page (no script) gives every layer the same srcset and sizes.
        static = Tab(browser, sized_sites["layers"], "sizes-layered-static",
                     viewport=viewport, scale=scale, script=False)
        try:
            static.open("products/kino-stool/", sketchbook=False)
            static.wait("""() => [...document.querySelectorAll('.sb-picture .layer-stack img')]
                .every((i) => i.complete && i.currentSrc)""")
            loaded = static.js("""() => [...document.querySelectorAll(
                '.sb-picture .layer-stack img')].map((i) => i.currentSrc)""")
            assert len(loaded) == 3 and {width_of(u) for u in loaded} == {expected}, loaded
            static.assert_clean()
        finally:
            static.close()
        tab.assert_clean()
    finally:
        tab.close()


def test_a_layered_stack_grows_with_the_window(browser: Any, sized_sites: dict[str, str]
                                               ) -> None:
    """A wider window loads the stack again at the width it now needs (all layers alike)."""
    tab = Tab(browser, sized_sites["layers"], "sizes-resize", viewport=SMALL)
    try:
        tab.open("products/kino-stool/")
        assert {width_of(u) for u in shown_stack(tab)} == {400}
        tab.page.set_viewport_size(WIDE)
        tab.wait("document.querySelector('.sb-shown').dataset.width === '800'")
        assert {width_of(u) for u in shown_stack(tab)} == {800}
        tab.assert_clean()
    finally:
        tab.close()


ZOOM_VIEWPORT = {"width": 800, "height": 600}


def zoom_area(tab: Tab) -> dict[str, float]:
    position: dict[str, float] = tab.js("""() => { const a = document.querySelector(
        '.sb-zoom-area'); return {left: a.scrollLeft, top: a.scrollTop,
        width: a.clientWidth, height: a.clientHeight}; }""")
    return position


@pytest.mark.parametrize("quality", ["preview", "layers"])
def test_the_zoom_view_shows_the_full_size_and_pans(browser: Any, sized_sites: dict[str, str],
                                                    quality: str) -> None:
    """The Zoom button (or a double click) opens the full-size picture (the plain name, its
    natural width the resolution's; layered: the linear canvas at full size) at one image
    pixel per device pixel; dragging and the arrow keys pan it, + and - zoom, Escape closes
    it and gives the focus back; Tab stays inside it."""
    tab = Tab(browser, sized_sites[quality], f"zoom-{quality}", viewport=ZOOM_VIEWPORT)
    try:
        page = tab.open("products/kino-stool/")
        if quality == "layers":
            shown_stack(tab)
        button = page.get_by_role("button", name="Zoom")
        button.click()
        tab.wait("document.querySelector('.sb-zoom').dataset.state === 'shown'")
        assert tab.js("document.querySelector('.sb-zoom').open") is True
        assert tab.js("document.querySelector('.sb-zoom').dataset.width") == str(FULL[0])
        if quality == "layers":
            assert tab.js("document.querySelector('.sb-zoom').dataset.stack") == "linear"
            assert tab.js("""() => { const c = document.querySelector('.sb-zoom canvas');
                return [c.width, c.height]; }""") == list(FULL)
        else:
            picture = tab.js("""() => { const i = document.querySelector('.sb-zoom img');
                return [i.naturalWidth, i.naturalHeight, i.src]; }""")
            assert picture[:2] == list(FULL)
            assert picture[2] == tab.js("sketchbook.imageUrl()")  # the plain name
        # 1 image pixel per device pixel (DPR 1: one CSS pixel).
        assert tab.js("document.querySelector('.sb-zoom-picture').offsetWidth") == FULL[0]
        start = zoom_area(tab)
        assert start["width"] < FULL[0] and start["left"] > 0  # opened centred
        tab.screenshot(f"zoom-{quality}")

        # Drag: the picture follows the pointer.
        x, y = start["width"] / 2, 300
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x - 120, y - 90, steps=4)
        page.mouse.up()
        dragged = zoom_area(tab)
        assert dragged["left"] == pytest.approx(start["left"] + 120, abs=1)
        assert dragged["top"] == pytest.approx(start["top"] + 90, abs=1)
        # Arrow keys.
        page.keyboard.press("ArrowRight")
        assert zoom_area(tab)["left"] > dragged["left"]
        page.keyboard.press("ArrowUp")
        assert zoom_area(tab)["top"] < dragged["top"]
        left = zoom_area(tab)["left"]
        page.keyboard.press("ArrowLeft")
        page.keyboard.press("ArrowLeft")
        assert zoom_area(tab)["left"] < left
        # + and -: twice the size, and back (never below one image pixel per device pixel).
        page.keyboard.press("+")
        assert tab.js("document.querySelector('.sb-zoom-picture').offsetWidth") == 2 * FULL[0]
        page.keyboard.press("-")
        page.keyboard.press("-")
        assert tab.js("document.querySelector('.sb-zoom-picture').offsetWidth") == FULL[0]
        # The focus stays in the dialog.
        for _ in range(5):
            page.keyboard.press("Tab")
            assert tab.js("document.activeElement.closest('.sb-zoom') !== null")
        page.keyboard.press("Escape")
        tab.wait("!document.querySelector('.sb-zoom').open")
        assert tab.js("document.activeElement.classList.contains('sb-zoom-button')")
        # A double click opens it too; the close button closes it.
        page.locator(".sb-shown").dblclick()
        tab.wait("document.querySelector('.sb-zoom').dataset.state === 'shown'")
        page.get_by_role("button", name="Close the zoom view").click()
        tab.wait("!document.querySelector('.sb-zoom').open")
        tab.assert_clean()
    finally:
        tab.close()


def test_the_stack_adds_backdrop_and_layers_in_linear_light(
        browser: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Synthetic layers whose sum is known: the backdrop holds the parts as holdouts (the
    floor's uncovered share at an edge, black where two parts share a pixel), the parts
    cover 60 % and 40 %. The linear canvas is exactly lin(B) + sum a_i lin(L_i) back to
    sRGB; the CSS stack (plus-lighter in one isolated group) B + sum a_i L_i in display
    values."""
    import numpy as np
    from PIL import Image
    from sitefixtures import write_picture

    from sitegen.sizes import sized_address, sized_height

    to_linear = np.where(np.arange(256) / 255 <= 0.04045, np.arange(256) / 255 / 12.92,
                         ((np.arange(256) / 255 + 0.055) / 1.055) ** 2.4).astype(np.float32)

    def to_srgb(y: float) -> int:
        steps = int(np.floor(min(y, 1.0) * 65535 + 0.5)) / 65535
        x = steps * 12.92 if steps <= 0.0031308 else 1.055 * steps ** (1 / 2.4) - 0.055
        return int(np.floor(x * 255 + 0.5))

    floor, part1, part2 = 200, (40, 90, 10), (230, 120, 250)
    a1, a2 = 153, 102  # 60 % and 40 %
    # Left half: an edge of part 1 on the floor (the backdrop keeps 40 % of the floor's
    # light). Right half: parts 1 and 2 meet (the backdrop is black there).
    edge = to_srgb(0.4 * float(to_linear[floor]))
    w, h = FULL
    backdrop = np.zeros((h, w, 3), np.uint8)
    backdrop[:, : w // 2] = edge
    layer1 = np.zeros((h, w, 4), np.uint8)
    layer1[...] = (*part1, a1)
    layer2 = np.zeros((h, w, 4), np.uint8)
    layer2[:, w // 2:] = (*part2, a2)
    left_lin = [float(to_linear[part1[c]]) * (a1 / 255) + float(to_linear[edge])
                for c in range(3)]
    right_lin = [float(to_linear[part1[c]]) * (a1 / 255) + float(to_linear[part2[c]])
                 * (a2 / 255) + float(to_linear[0]) for c in range(3)]
    expected = {"left": [to_srgb(v) for v in left_lin], "right": [to_srgb(v) for v in right_lin]}
    css = {"left": [min(255, int(np.floor(edge + part1[c] * a1 / 255 + 0.5))) for c in range(3)],
           "right": [min(255, int(np.floor(part1[c] * a1 / 255 + part2[c] * a2 / 255 + 0.5)))
                     for c in range(3)]}

    root = tmp_path_factory.mktemp("exact-stack")
    with sized_site(root, "layers") as (_, _, url):
        first = Tab(browser, url, "exact-stack-urls")
        try:
            first.open("products/kino-stool/")
            urls = first.js("sketchbook.imageUrls()")
        finally:
            first.close()
        assert len(urls) == 3
        for u, pixels_ in zip(urls, [backdrop, layer1, layer2], strict=True):
            address = u.split("/renders/", 1)[1]
            image = Image.fromarray(pixels_)
            write_picture(image, root / "renders" / address)
            for size in SIZES:
                # Uniform halves: a sized copy keeps the values away from the middle.
                sized = Image.fromarray(np.ascontiguousarray(
                    pixels_[:: h // sized_height(w, h, size), :: w // size]))
                write_picture(sized, root / "renders" / sized_address(address, size))
        tab = Tab(browser, url, "exact-stack")
        try:
            tab.open("products/kino-stool/")
            shown_stack(tab)
            assert tab.js("document.querySelector('.sb-shown').dataset.stack") == "linear"
            styles = tab.js("""() => [getComputedStyle(document.querySelector('.sb-layers'))
                .isolation, ...[...document.querySelectorAll('.sb-layers img')].map(
                (i) => getComputedStyle(i).mixBlendMode)]""")
            assert styles == ["isolate", "normal", "plus-lighter", "plus-lighter"]
            canvas = tab.js("""() => { const c = document.querySelector('.sb-canvas');
                const g = c.getContext('2d');
                const row = g.getImageData(0, c.height / 2, c.width, 1).data;
                const at = (x) => [...row.slice(4 * x, 4 * x + 3)];
                return {width: c.width, left: at(c.width / 4), right: at(3 * c.width / 4)};
                }""")
            assert canvas["left"] == expected["left"], (canvas, expected)
            assert canvas["right"] == expected["right"], (canvas, expected)
            # The CSS stack alone (the canvas hidden): added in display values.
            tab.js("document.querySelector('.sb-canvas').hidden = true")
            box = tab.js("""() => { const r = document.querySelector('.sb-layers')
                .getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; }""")
            shot = pixels(tab.page.screenshot())
            y = int(box[1] + box[3] / 2)
            for side, x in (("left", box[0] + box[2] / 4), ("right", box[0] + 3 * box[2] / 4)):
                got = shot[y, int(x)].tolist()
                assert max(abs(g - e) for g, e in zip(got, css[side], strict=True)) <= 2, (
                    side, got, css[side])
            tab.assert_clean()
        finally:
            tab.close()


@pytest.mark.parametrize("quality", ["preview", "layers"])
def test_index_cards_load_one_size_per_picture(browser: Any, sized_sites: dict[str, str],
                                               quality: str) -> None:
    """An index card's picture (a stack: each of its layers) has the srcset and the cards'
    sizes: at 400 CSS pixels and DPR 1, the 400 copy, the same for every layer."""
    tab = Tab(browser, sized_sites[quality], f"sizes-index-{quality}", viewport=SMALL)
    try:
        tab.open("", sketchbook=False)
        tab.wait_images()
        loaded = tab.js("""() => [...document.querySelectorAll('.card-picture img')]
            .map((i) => i.currentSrc)""")
        assert len(loaded) == (3 if quality == "layers" else 1), loaded
        assert {width_of(u) for u in loaded} == {400}, loaded
        assert tab.broken_images() == []
        tab.assert_clean()
    finally:
        tab.close()


def bounce_catalog() -> dict[str, Any]:
    """The kino stool of conftest.BASE at a layered quality with bounce images."""
    cat = base_catalog()
    cat["qualities"][0].pop("primary")
    cat["qualities"].append({"id": "layers", "engine": "cycles", "samples": 4,
                             "resolution": [64, 48], "format": "webp", "jpeg_quality": 100,
                             "primary": True, "layers": True, "bounce": True})
    return cat


def bounce_store(root: Path, addresses: list[str]) -> Any:
    """Synthetic layers (a part: an opaque rectangle on transparent pixels) and bounce
    images (one 8 x 6 strip per neighbour, bright: their light shows), lossless."""
    import hashlib

    import numpy as np
    from PIL import Image
    from sitefixtures import write_picture

    from sitegen.layers import BOUNCE, is_bounce_name
    from sitegen.store import FolderStore, make_thumbnail, thumb_address

    store = FolderStore(root)
    for address in addresses:
        name = address.rsplit("/", 1)[1].rsplit(".", 1)[0]
        rng = np.random.default_rng(list(hashlib.sha256(address.encode()).digest()[:8]))
        if is_bounce_name(name):
            strips = len(set(name.rsplit(BOUNCE, 1)[1]) - {"0"})
            image = Image.fromarray(rng.integers(60, 200, (6 * strips, 8, 3), dtype=np.uint8))
        elif name.endswith("-base"):
            image = Image.fromarray(rng.integers(0, 120, (48, 64, 3), dtype=np.uint8))
        else:
            pixels_ = np.zeros((48, 64, 4), np.uint8)
            pixels_[..., :3] = rng.integers(0, 200, 3, dtype=np.uint8)
            x0, y0 = int(rng.integers(4, 24)), int(rng.integers(4, 16))
            pixels_[y0:y0 + 20, x0:x0 + 24, 3] = 255  # (partial alpha: tests/test_verify.py)
            image = Image.fromarray(pixels_, "RGBA")
        path = store.path_of(address)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_picture(image, path)
        if not is_bounce_name(name):
            make_thumbnail(path, store.path_of(thumb_address(address)))
        data = path.read_bytes()
        store.record(address, None, {}, hashlib.sha256(data).hexdigest(), len(data), None, None)
    return store


def test_the_stack_carries_its_neighbours_light(browser: Any,
                                                tmp_path_factory: pytest.TempPathFactory
                                                ) -> None:
    """A quality with bounce images: where every bounce image of a colouring is ready, the
    canvas is sitegen.verify's composite with them (each strip weighed by its neighbour's
    finish against the neutral, from the page data), data-bounce "on"; where one is
    missing, the stack without them, "off", and nothing is requested that is not there."""
    import numpy as np

    from sitegen.albedo import finish_albedo, neutral_light
    from sitegen.expand import expand_product
    from sitegen.layers import colouring_layers
    from sitegen.plan import wanted_renders
    from sitegen.verify import bounce_weights, composite, decode, weighted_strips

    missing = "layer-1100-base.from-12"  # the wood top's backdrop's: lino-top alone lit

    def ready_keys(catalog: Any) -> dict[str, Any]:
        ready: dict[str, dict[str, set[str]]] = {}
        for w in wanted_renders(catalog, quality="layers"):
            if w.key != missing + "00":
                ready.setdefault(w.model, {}).setdefault(w.view, set()).add(w.key)
        return ready

    root = tmp_path_factory.mktemp("bounce")
    with catalog_site(root, bounce_catalog(), ready_keys, "layers", bounce_store) as (
            catalog, ready, url):
        assert missing + "00" not in ready["kino"]["front"]
        plans = {p.kind: p for p in expand_product(catalog, catalog.products["kino-stool"])}
        tab = Tab(browser, url, "bounce")
        try:
            tab.open("products/kino-stool/")
            data = tab.js("fetch('data.json').then((r) => r.json())")
            assert data["bounce"] == {"neutral": list(neutral_light())}
            assert data["finishes"]["1128"]["light"] == list(finish_albedo(catalog, 1128))
            assert "base.from-1021" in data["layers"]["front"]["1011"]["bounce"]
            for kind, values, lit in (("lino-top", (1128, 236), True),
                                      ("wood-top", (1140, 1127), False)):
                plan = plans[kind]
                parts = dict(zip(plan.part_names, values, strict=True))
                tab.js("([p, k]) => sketchbook.select(p, {kind: k, view: 'front'})",
                       [parts, kind])
                tab.wait("(s) => document.querySelector('.sb-shown').dataset.bounce === s",
                         "on" if lit else "off")
                shown_stack(tab)
                canvas = np.array(tab.js("""() => { const c = document.querySelector(
                    '.sb-canvas'); const copy = document.createElement('canvas');
                    copy.width = c.width; copy.height = c.height;
                    const g = copy.getContext('2d', {willReadFrequently: true});
                    g.drawImage(c, 0, 0);
                    return [...g.getImageData(0, 0, c.width, c.height).data]; }"""),
                                  np.uint8).reshape(48, 64, 4)[..., :3]
                folder = root / "renders" / "layers" / "kino" / "front"
                names = colouring_layers(plan, values)
                layers = [decode((folder / f"{n}.webp").read_bytes(), "RGBA")
                          for n in names[1:]]
                backdrop = decode((folder / f"{names[0]}.webp").read_bytes(), "RGB")
                plain = composite(backdrop, layers)
                expected = plain
                if lit:
                    expected = composite(backdrop, layers, weighted_strips(
                        (k, decode((folder / f"{name}.webp").read_bytes(), "RGB"), weights)
                        for k, name, weights in bounce_weights(catalog, plan, values)))
                diff = np.abs(canvas.astype(int) - expected.astype(int))
                assert diff.max() <= 1, (kind, diff.max())
                if lit:
                    assert np.abs(expected.astype(int) - plain.astype(int)).max() > 20
            requested = [u for u in tab.requests if ".from-" in u]
            assert requested and not any(missing in u for u in requested)
            tab.assert_clean()
        finally:
            tab.close()


@pytest.mark.blender
def test_avif_full_pictures_show_as_pillow_decodes_them(
        browser: Any, tmp_path: Path) -> None:
    """A full quality in AVIF (a project extension, opaque pictures only), end to end:
    Blender renders, Pillow encodes the picture and its size, the page's srcset offers
    both, and Chromium shows exactly the pixels Pillow (verify-layers' decoder) reads."""
    import subprocess
    import sys

    import numpy as np

    need_bpy()
    cat = demo_copy(tmp_path / "cat", "preview",
                    {"preview": {**TINY, "format": "avif", "jpeg_quality": 75}})
    for args in (("render", "--workers", "1", "--device", "cpu", "--product", "kino-stool",
                  "--view", "front", "--limit", "2"), ("build", "--out", "build")):
        done = subprocess.run([sys.executable, "-m", "sitegen", "--catalog", str(cat), *args,
                               "--renders", "renders"], cwd=tmp_path, capture_output=True,
                              text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    store = tmp_path / "renders" / "preview" / "kino" / "front"
    assert sorted(p.suffix for p in store.iterdir()) == [".avif"] * 4 + [".webp"] * 2
    served = serve(tmp_path / "build", tmp_path / "renders", "renders/")
    site = next(served)
    tab = Tab(browser, site.url, "avif")
    try:
        tab.open("products/kino-stool/")
        img = ".sb-figure .sb-img"
        tab.wait("(s) => document.querySelector(s).complete && "
                 "document.querySelector(s).naturalWidth > 0", img)
        current = tab.js("(s) => document.querySelector(s).currentSrc", img)
        srcset = tab.js("(s) => document.querySelector(s).srcset", img)
        assert current.endswith(".avif") and ".w48.avif 48w" in srcset, (current, srcset)
        # (decoded from the bytes: with a srcset, naturalWidth is in CSS pixels)
        shown = np.array(tab.js("""async (url) => {
            const b = await createImageBitmap(await (await fetch(url)).blob());
            const c = new OffscreenCanvas(b.width, b.height);
            const g = c.getContext('2d', {willReadFrequently: true}); g.drawImage(b, 0, 0);
            return [b.width, b.height, ...g.getImageData(0, 0, b.width, b.height).data]; }""",
                                current), np.int64)
        expected = pixels(tmp_path / "renders" / current.split("/renders/", 1)[1])
        assert tuple(shown[:2]) == (96, 72)
        assert (shown[2:].reshape(72, 96, 4)[..., :3] == expected).all()
        tab.assert_clean()
    finally:
        tab.close()
        served.close()
