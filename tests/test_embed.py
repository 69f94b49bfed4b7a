"""`<sitegen-sketchbook>` (docs/embed.md) in Chromium, on a shop page of another origin.

The built demo (synthetic store, sitefixtures) is served by the preview server, which
answers with CORS headers; the fictional shop of examples/shop is served by a plain server
on another port (another origin), its embed address pointed at the site. The layered
stack is read in linear light when its pictures come with CORS, and falls back to the CSS
stack, without a console error, when they come from a host without CORS.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browsing import Tab
from sitefixtures import ROOT, picture_url, python_count
from test_browser import catalog_site, layered_catalog, some_layers

pytestmark = pytest.mark.slow

SHOP = ROOT / "examples" / "shop"
CDN = "https://cdn.example.com/sketchbook/"

# Every event the elements fire, recorded in the page before its scripts run.
RECORD_EVENTS = """
window.__events = [];
for (const type of ["sketchbook-ready", "sketchbook-change", "sketchbook-error"]) {
  document.addEventListener(type, (e) => window.__events.push(
    {type, product: e.target.getAttribute("product"),
     detail: JSON.parse(JSON.stringify(e.detail))}));
}
"""


@contextlib.contextmanager
def plain_server(folder: Path) -> Iterator[str]:
    """A static server without CORS headers (another origin: another port); its URL."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def shop_copy(folder: Path, site_url: str) -> Path:
    """examples/shop with its embed address pointed at `site_url`."""
    shutil.copytree(SHOP, folder)
    page = folder / "index.html"
    page.write_text(page.read_text().replace(CDN, site_url))
    return folder


def events(tab: Tab, type_: str, product: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = tab.js(
        "([t, p]) => window.__events.filter((e) => e.type === t && e.product === p)"
        ".map((e) => e.detail)", [type_, product])
    return found


def element(product: str) -> str:
    return f'document.querySelector(\'sitegen-sketchbook[product="{product}"]\')'


def shadow(product: str, selector: str) -> str:
    return f"{element(product)}.shadowRoot.querySelector('{selector}')"


@pytest.fixture
def shop(demo_server: Any, tmp_path: Path) -> Iterator[str]:
    with plain_server(shop_copy(tmp_path / "shop", demo_server.url)) as url:
        yield url


def test_the_preview_answers_with_cors(demo_server: Any, demo_site: Any) -> None:
    with urllib.request.urlopen(demo_server.url + "embed.js", timeout=10) as response:
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        element_module = response.read().decode().split('"./', 1)[1].split('"')[0]
    assert (demo_site.build / element_module).is_file()
    picture = next(iter(demo_site.ready["kino"]["front"]))
    url = f"{demo_server.url}renders/{demo_site.quality}/kino/front/{picture}.jpg"
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_the_element_shows_and_drives_its_product_from_another_origin(
        browser: Any, shop: str, demo_site: Any, demo_server: Any) -> None:
    tab = Tab(browser, shop, "embed-shop")
    try:
        tab.page.add_init_script(RECORD_EVENTS)
        page = tab.open("index.html", sketchbook=False)
        tab.wait("() => window.__events.filter((e) => e.type === 'sketchbook-ready').length === 2")
        renders = f"{demo_server.url}renders/"

        # Ready, on the selection its attribute names; the picture's URLs as Python names them.
        [ready] = events(tab, "sketchbook-ready", "kino-stool")
        assert ready["kind"] == "wood-top" and ready["parts"] == {"Frame": 1127, "Top": 1140}
        assert ready["view"] == "front"
        assert ready["imageUrls"] == [picture_url(demo_site, renders, "kino-stool", "wood-top",
                                                  "front", [1127, 1140])]

        # select() fires sketchbook-change with the new picture, and the picture loads.
        tab.js(f"{element('kino-stool')}.select({{Top: 1127}})")
        change = events(tab, "sketchbook-change", "kino-stool")[-1]
        url = picture_url(demo_site, renders, "kino-stool", "wood-top", "front", [1127, 1127])
        assert change["parts"] == {"Frame": 1127, "Top": 1127}
        assert change["imageUrls"] == [url]
        assert change["ready"] == tab.js(f"{element('kino-stool')}.isReady()")
        default = tab.js(f"{element('maru-bench')}.imageUrl()")
        tab.wait(f"() => {shadow('maru-bench', '.sb-img')}.complete && "
                 f"{shadow('maru-bench', '.sb-img')}.naturalWidth > 0 && "
                 f"{shadow('maru-bench', '.sb-img')}.src === {default!r}")

        # Counts are Python's, per element.
        for flt in ({}, {"Frame": [1127]}, {"Top": [1140, 1128]}):
            assert tab.js(f"(f) => {element('kino-stool')}.count(f)", flt) == python_count(
                demo_site, "kino-stool", "front", flt)

        # Two elements stay independent; the host page's URL is never touched.
        maru = tab.js(f"{element('maru-bench')}.selection()")
        page.get_by_role("button", name="White oak frame").click()  # the shop's own button
        tab.wait(f"() => {element('maru-bench')}.selection().parts.Frame === 1128")
        assert tab.js(f"{element('kino-stool')}.selection()")["parts"] == {"Frame": 1127,
                                                                           "Top": 1127}
        assert events(tab, "sketchbook-change", "maru-bench")[-1]["parts"]["Frame"] == 1128
        assert maru["parts"]["Frame"] != 1128
        assert tab.js("location.hash") == ""

        # Its own controls: a swatch clicked in the element (found through the shadow root).
        swatch = shadow("kino-stool", ".sb-part[data-part=Top] button[data-value=\"1140\"]")
        tab.js(f"{swatch}.click()")
        assert events(tab, "sketchbook-change", "kino-stool")[-1]["parts"]["Top"] == 1140
        assert page.get_by_role("button", name="Walnut").first.is_visible()  # labelled

        # An attribute changes the element: its view, then its controls.
        tab.js(f"{element('kino-stool')}.setAttribute('view', 'side')")
        tab.wait("() => window.__events.some((e) => e.type === 'sketchbook-change' && "
                 "e.detail.view === 'side')")
        assert tab.js(f"{shadow('kino-stool', '.sb-filters')}.hidden")  # gallery: not asked
        assert not tab.js(f"{shadow('kino-stool', '.sb-controls')}.hidden")
        assert tab.js(f"{shadow('maru-bench', '.sb-controls')}.hidden")  # "views zoom" only
        tab.js(f"{element('kino-stool')}.setAttribute('controls', 'gallery')")
        assert not tab.js(f"{shadow('kino-stool', '.sb-filters')}.hidden")
        assert tab.js(f"{shadow('kino-stool', '.sb-controls')}.hidden")

        # A new product attribute loads that product.
        tab.js(f"{element('maru-bench')}.setAttribute('product', 'hako-table')")
        tab.wait("() => window.__events.some((e) => e.type === 'sketchbook-ready' && "
                 "e.product === 'hako-table')")
        assert tab.js(f"{element('hako-table')}.selection().product") == "hako-table"

        # Nothing leaked into the host page: its one stylesheet, no sitegen node outside.
        assert tab.js("[...document.styleSheets].map((s) => s.href.split('/').pop())") == [
            "shop.css"]
        assert tab.js("document.querySelectorAll('.sketchbook, [class^=sb-]').length") == 0
        assert events(tab, "sketchbook-error", "kino-stool") == []
        tab.assert_clean()
    finally:
        tab.close()


def test_an_element_without_its_product_says_so(browser: Any, demo_server: Any,
                                                tmp_path: Path) -> None:
    folder = tmp_path / "page"
    folder.mkdir()
    (folder / "index.html").write_text(
        f'<!doctype html><script type="module" src="{demo_server.url}embed.js"></script>'
        '<sitegen-sketchbook product="no-such-product"></sitegen-sketchbook>')
    with plain_server(folder) as url:
        tab = Tab(browser, url, "embed-missing")
        try:
            tab.page.add_init_script(RECORD_EVENTS)
            tab.open("index.html", sketchbook=False)
            tab.wait("() => window.__events.some((e) => e.type === 'sketchbook-error')")
            [error] = events(tab, "sketchbook-error", "no-such-product")
            assert "HTTP 404" in error["message"] and error["what"] == "load"
            assert tab.js(f"{shadow('no-such-product', '.sb-error')}.textContent") == (
                "The sketchbook could not be loaded.")
            # The 404 and its console line are the only problems.
            assert all("404" in p for p in tab.problems), tab.problems
        finally:
            tab.close()


def stack_of(tab: Tab) -> tuple[str, str]:
    tab.wait(f"() => {shadow('kino-stool', '.sb-shown')}.dataset.state === 'shown'")
    state: tuple[str, str] = tuple(tab.js(  # type: ignore[assignment]
        f"(() => {{ const s = {shadow('kino-stool', '.sb-shown')};"
        " return [s.dataset.stack, s.dataset.width]; })()"))
    return state


def test_a_layered_stack_is_read_with_cors_and_stacked_in_css_without(
        browser: Any, tmp_path: Path) -> None:
    """Pictures from the site's own origin come with CORS: the canvas reads them (linear
    light). Pictures from a host without CORS are loaded plainly: the CSS stack, and no
    error in the console."""
    page = ('<!doctype html><link rel="icon" href="data:,">'
            '<script type="module" src="{site}embed.js"></script>'
            '<sitegen-sketchbook product="kino-stool"></sitegen-sketchbook>')
    everything = functools.partial(some_layers, quality="layers", share=10)
    for name in ("cors", "plain/renders", "shops"):
        (tmp_path / name).mkdir(parents=True)
    with contextlib.ExitStack() as stack:
        # Renders under the site (relative renders_url): served with CORS.
        _, _, site = stack.enter_context(catalog_site(tmp_path / "cors", layered_catalog(),
                                                      everything, "layers"))
        # Renders on another host, without CORS headers.
        renders = stack.enter_context(plain_server(tmp_path / "plain" / "renders"))
        cat = layered_catalog()
        cat["site"]["renders_url"] = renders
        _, _, plain_site = stack.enter_context(catalog_site(tmp_path / "plain", cat, everything,
                                                            "layers"))
        shops = tmp_path / "shops"
        (shops / "cors.html").write_text(page.format(site=site))
        (shops / "plain.html").write_text(page.format(site=plain_site))
        shop = stack.enter_context(plain_server(shops))
        for name, expected in (("cors.html", "linear"), ("plain.html", "css")):
            tab = Tab(browser, shop, f"embed-{name}")
            try:
                tab.open(name, sketchbook=False)
                assert stack_of(tab)[0] == expected, name
                tab.assert_clean()
            finally:
                tab.close()
