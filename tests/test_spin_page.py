"""A spin on the sketchbook page (docs/site.md, "Spins"), in Chromium: one view button for
the spin, its frames turned by the arrow keys and by dragging, wrapping round, the URL hash
naming a frame, and a frame not rendered yet standing in by the same colouring's nearest
ready frame. Full pictures of a synthetic store (no Blender)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browsing import Tab
from conftest import base_catalog
from test_browser import catalog_site

pytestmark = pytest.mark.slow

FRAMES = 8  # one digit: spin-1 .. spin-8
MISSING = "spin-4"  # the default colouring has no picture in this frame
PAGE = "products/kino-stool/"


def spin_catalog() -> dict[str, Any]:
    cat = base_catalog()
    cat["models"][0]["views"] = ["front", {"id": "spin", "frames": FRAMES}]
    return cat


def ready_keys(catalog: Any) -> dict[str, Any]:
    """Every kind's default colouring in every view but MISSING; nothing else."""
    from sitegen.plan import wanted_renders

    ready: dict[str, dict[str, set[str]]] = {}
    for w in wanted_renders(catalog):
        if w.default and w.view != MISSING:
            ready.setdefault(w.model, {}).setdefault(w.view, set()).add(w.key)
    return ready


@pytest.fixture(scope="module")
def spin_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root: Path = tmp_path_factory.mktemp("spin-page")
    with catalog_site(root, spin_catalog(), ready_keys) as (_, _, url):
        yield url


@pytest.fixture
def tab(browser: Any, spin_site: str, request: pytest.FixtureRequest) -> Iterator[Tab]:
    opened = Tab(browser, spin_site, request.node.name)
    try:
        yield opened
    finally:
        opened.close()


def view(tab: Tab) -> str:
    shown: str = tab.js("new URLSearchParams(location.hash.slice(1)).get('view')")
    return shown


def shown_frame(tab: Tab) -> str:
    """The view folder of the picture on screen (`.../<view>/<key>.png`)."""
    tab.wait("() => document.querySelector('.sb-figure .sb-img').complete")
    src: str = tab.js("document.querySelector('.sb-figure .sb-img').src")
    return src.rsplit("/", 2)[1]


def test_the_spin_has_one_button_and_turns_with_the_keys(tab: Tab) -> None:
    page = tab.open(PAGE)
    buttons = tab.js("[...document.querySelectorAll('.sb-view')].map((b) => b.dataset.view)")
    assert buttons == ["front", "spin-1"]
    assert tab.js("sketchbook.ready.then(() => 1)") == 1
    page.locator(".sb-view[data-spin=spin]").click()
    assert view(tab) == "spin-1" and shown_frame(tab) == "spin-1"
    picture = page.locator(".sb-shown")
    assert picture.get_attribute("role") == "slider"
    assert picture.get_attribute("aria-valuetext") == f"Frame 1 of {FRAMES}"
    picture.focus()
    page.keyboard.press("ArrowLeft")  # the next frame (spin.js: drag left = next)
    tab.wait("() => location.hash.includes('view=spin-2')")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")  # round the back: the last frame
    tab.wait(f"() => location.hash.includes('view=spin-{FRAMES}')")
    assert shown_frame(tab) == f"spin-{FRAMES}"
    assert page.locator(".sb-view[data-spin=spin]").get_attribute("aria-pressed") == "true"
    # Turning replaces the history entry: back leaves the spin for the view before it.
    page.go_back()
    tab.wait("() => location.hash.includes('view=front')")
    tab.assert_clean()


def test_a_drag_turns_the_spin(tab: Tab) -> None:
    page = tab.open(PAGE + "#view=spin-1")
    box = page.locator(".sb-shown").bounding_box()
    assert box is not None
    per_frame = box["width"] / FRAMES  # spin.js: a drag across the picture turns it once
    y = box["y"] + box["height"] / 2
    start = box["x"] + box["width"] * 0.8
    page.mouse.move(start, y)
    page.mouse.down()
    page.mouse.move(start - 3.5 * per_frame, y, steps=20)
    page.wait_for_timeout(200)  # held still before the release: no inertia
    page.mouse.up()
    tab.wait("() => location.hash.includes('view=spin-4')")
    # spin-4 is not rendered: the same colouring's nearest ready frame stands in (of two
    # as near, the one before), and the status says so.
    assert shown_frame(tab) == "spin-3"
    assert "frame 3 instead of frame 4" in tab.js("document.querySelector('.sb-status')"
                                                  ".textContent")
    tab.assert_clean()


def test_the_hash_and_select_name_a_frame(tab: Tab) -> None:
    tab.open(PAGE + "#kind=wood-top&view=spin-6")
    assert view(tab) == "spin-6" and shown_frame(tab) == "spin-6"
    tab.js("sketchbook.select({}, {view: 'spin-2'})")
    assert view(tab) == "spin-2"
    with contextlib.suppress(Exception):
        tab.js("sketchbook.select({}, {view: 'spin-02'})")  # not a frame of 8: refused
    assert view(tab) == "spin-2"
    assert tab.js("sketchbook.imageUrl()").split("/")[-2] == "spin-2"
    tab.assert_clean()
