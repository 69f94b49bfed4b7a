"""Page benchmark: the sketchbook's time from a selection to its picture, layered vs full.

The demo's maru bench, built twice from real renders: at the demo's layered quality
(`layered`: backdrop + one WebP layer per part, stacked in the browser) and, as the
baseline, at its full-picture quality (`preview`: one JPEG per colouring). In Chromium, a
walk of SELECTIONS colourings (each differing from the previous one in one part, as a
customer clicks) is selected through `window.sketchbook.select`; the time is taken from the
call to the moment every image of the picture is loaded and decoded (and, layered, the
stack redrawn in linear light on its canvas). Four conditions:
cache off or on (a customer's browser keeps the layers it has: a click then loads only the
changed part's layer; pictures are served with the Cache-Control publish gives them) x
local loopback or a throttled link (NETWORK: a CDN over a 4G-like connection, Chromium's
own emulation).

Pictures come from the project's `renders/` when they are there (make build renders the
layers), else they are rendered now at the demo's settings.

    .venv/bin/python bench/run.py --only page
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import statistics
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `sitegen` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_render import temp_catalog  # noqa: E402

from sitegen.catalog import Catalog, file_hashes
from sitegen.plan import plan_renders, wanted_renders
from sitegen.publish import IMMUTABLE
from sitegen.render import PoolSettings, default_workers, render_jobs
from sitegen.site import ready_by_model, site_files, write_site
from sitegen.site.serve import PreviewHandler, PreviewServer
from sitegen.store import FolderStore, thumb_address

SECTION = "page"
ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
PRODUCT, MODEL, VIEW = "maru-bench", "maru", "main"
LAYERED, FULL = "layered", "preview"
# A walk over maru's colourings, one part changed per step (kind ids, finishes by part).
SELECTIONS: list[tuple[str, dict[str, int]]] = [
    ("without-table", {"Frame": 1127, "Pads": 4031, "Bolsters": 4120}),
    ("without-table", {"Frame": 1127, "Pads": 4012, "Bolsters": 4120}),
    ("without-table", {"Frame": 1127, "Pads": 4012, "Bolsters": 4031}),
    ("without-table", {"Frame": 1128, "Pads": 4012, "Bolsters": 4031}),
    ("without-table", {"Frame": 1128, "Pads": 4012, "Bolsters": 0}),
    ("with-table", {"Frame": 1128, "Pads": 4012, "Bolsters": 0}),
    ("with-table", {"Frame": 1128, "Pads": 4120, "Bolsters": 0}),
    ("with-table", {"Frame": 1127, "Pads": 4120, "Bolsters": 4031}),
]
NETWORK = {"offline": False, "latency": 40, "downloadThroughput": 20e6 / 8,
           "uploadThroughput": 5e6 / 8}  # 40 ms round trip, 20 Mbit/s down

# Select, then wait until every image of the picture is loaded and decoded; milliseconds.
MEASURE_JS = """async ([kind, parts]) => {
  const sb = window.sketchbook;
  const t0 = performance.now();
  sb.select(parts, { kind });
  const urls = sb.imageUrls ? sb.imageUrls() : [sb.imageUrl()];
  for (;;) {
    const imgs = [...document.images].filter((i) => urls.includes(i.src));
    const found = new Set(imgs.map((i) => i.src));
    // A layered picture is done when its linear-light canvas is drawn (state "shown").
    const stack = document.querySelector(".sb-shown");
    const drawn = urls.length === 1 || stack.dataset.state === "shown";
    if (found.size === urls.length && drawn
        && imgs.every((i) => i.complete && i.naturalWidth > 0)) {
      await Promise.all(imgs.map((i) => i.decode().catch(() => {})));
      return { ms: performance.now() - t0, urls, ready: sb.isReady() };
    }
    if (performance.now() - t0 > 30000) return { ms: NaN, urls, ready: false };
    await new Promise((r) => requestAnimationFrame(r));
  }
}"""


def _stock(store: FolderStore, catalog: Catalog, quality: str, keys: set[str] | None) -> int:
    """Fill the store with the product's wanted pictures at `quality` (only `keys`, when
    given): from the project's renders/ when there, else rendered now. Renders made."""
    wanted = [w for w in wanted_renders(catalog, products=[PRODUCT], quality=quality)
              if keys is None or w.key in keys]
    own = FolderStore(ROOT / "renders")
    for w in wanted:
        for address in (w.address, thumb_address(w.address)):
            source = own.path_of(address)
            if source.is_file() and not store.path_of(address).exists():
                store.path_of(address).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, store.path_of(address))
    present = {w.address for w in wanted if store.exists(w.address)}
    for w in wanted:  # copied files: indexed with unknown fingerprints (trusted as ready)
        if w.address in present:
            data = store.path_of(w.address).read_bytes()
            store.record(w.address, None, {}, hashlib.sha256(data).hexdigest(), len(data),
                         None, None)
    jobs = plan_renders(catalog, wanted, store.stored(), file_hashes(catalog)).jobs
    if jobs:
        summary = render_jobs(catalog, store, jobs, PoolSettings(workers=default_workers()))
        if summary.failed:
            raise RuntimeError(f"renders failed: {summary.failed[:3]}")
    return len(jobs)


class _CdnHandler(PreviewHandler):
    """The preview server, with the Cache-Control `sitegen publish` gives pictures on S3
    (without it Chromium revalidates every cached layer: a round trip per layer)."""

    renders_prefix = "/renders/"

    def end_headers(self) -> None:
        if self.path.startswith("/renders/"):
            self.send_header("Cache-Control", IMMUTABLE)
        super().end_headers()


@contextmanager
def _served(build: Path, store: Path) -> Iterator[str]:
    handler = type("Handler", (_CdnHandler,), {"renders_dir": store})
    server = PreviewServer(("127.0.0.1", 0), functools.partial(handler, directory=str(build)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _walk(browser: Any, url: str, cache: bool, throttled: bool) -> dict[str, Any]:
    page = browser.new_page()
    try:
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": not cache})
        if throttled:
            cdp.send("Network.emulateNetworkConditions", NETWORK)
        page.goto(url + f"products/{PRODUCT}/")
        # (not wait_for_function: it polls with eval(), which the pages' CSP refuses)
        page.evaluate("window.sketchbook.ready")
        page.wait_for_load_state("networkidle")
        times, images, not_ready = [], [], 0
        for kind, parts in SELECTIONS[1:] + SELECTIONS[:1]:  # the page starts on the first
            result = page.evaluate(MEASURE_JS, [kind, parts])
            times.append(result["ms"])
            images.append(len(result["urls"]))
            not_ready += not result["ready"]
        return {"median_ms": statistics.median(times), "max_ms": max(times),
                "mean_ms": statistics.fmean(times), "runs": len(times),
                "images_per_picture": statistics.fmean(images), "not_ready": not_ready}
    finally:
        page.close()


def _bytes(store: FolderStore, urls_of: dict[str, list[str]]) -> float:
    sizes = [sum(store.path_of(a).stat().st_size for a in addresses)
             for addresses in urls_of.values()]
    return statistics.fmean(sizes)


def bench_page() -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from sitegen.expand import expand_product
    from sitegen.layers import colouring_layers

    with tempfile.TemporaryDirectory(prefix="sitegen-bench-page-") as name:
        tmp = Path(name)
        layered = temp_catalog(tmp / "layered", LAYERED)
        full = temp_catalog(tmp / "full", FULL)
        plans = {p.kind: p for p in expand_product(layered, layered.products[PRODUCT])}
        colourings = {}
        for kind, parts in SELECTIONS:
            plan = plans[kind]
            values = tuple(parts.get(n, 0) for n in plan.part_names)
            colourings[plan.key(values)] = (plan, values)
        store = FolderStore(tmp / "renders")
        rendered = _stock(store, layered, LAYERED, None)
        rendered += _stock(store, full, FULL, set(colourings))
        layer_files = {key: [f"{LAYERED}/{MODEL}/{VIEW}/{n}.webp"
                             for n in colouring_layers(plan, values)]
                       for key, (plan, values) in colourings.items()}
        full_files = {key: [f"{FULL}/{MODEL}/{VIEW}/{key}.jpg"] for key in colourings}
        sites = {}
        for site, catalog, quality in (("layered", layered, LAYERED), ("full", full, FULL)):
            ready = ready_by_model(store.stored(quality), quality)
            write_site(site_files(catalog, quality, ready), tmp / f"site-{site}")
            sites[site] = tmp / f"site-{site}"
        figures: dict[str, Any] = {
            "product": PRODUCT, "view": VIEW, "selections": len(SELECTIONS),
            "renders_made_now": rendered, "network_throttled": NETWORK,
            "bytes_per_picture": {"layered": _bytes(store, layer_files),
                                  "full": _bytes(store, full_files)},
        }
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--no-first-run"])
            try:
                for site, build in sites.items():
                    with _served(build, store.root) as url:
                        figures[site] = {
                            f"{'cache' if cache else 'no_cache'}_"
                            f"{'throttled' if throttled else 'local'}":
                            _walk(browser, url, cache, throttled)
                            for cache in (False, True) for throttled in (False, True)}
            finally:
                browser.close()
        store.close()
    return figures


BENCHMARKS = {"page": bench_page}


def summary(name: str, r: dict[str, Any]) -> list[str]:
    b = r["bytes_per_picture"]
    lines = [f"{r['product']} {r['view']}: {r['selections']} selections, one part changed per "
             f"step; a picture is {b['layered'] / 1024:.0f} KiB of layers vs "
             f"{b['full'] / 1024:.0f} KiB full ({r['renders_made_now']} renders made now)"]
    for condition in ("no_cache_local", "cache_local", "no_cache_throttled", "cache_throttled"):
        lay, ful = r["layered"][condition], r["full"][condition]
        lines.append(f"  {condition}: selection -> picture layered {lay['median_ms']:.0f} ms "
                     f"(max {lay['max_ms']:.0f}), full {ful['median_ms']:.0f} ms "
                     f"(max {ful['max_ms']:.0f}), medians")
    return lines
