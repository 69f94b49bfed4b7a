"""Shared helpers for the site tests: a synthetic render store and the built demo site.

No Blender: every "render" is a small solid-colour JPEG (its colour derived from the key),
with its WebP thumbnail, indexed in a real FolderStore. The subset of the demo catalog's
wanted pictures that is "ready" is deterministic (see `ready_addresses`).
"""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sitegen.catalog import Catalog, load_catalog
from sitegen.plan import Wanted, wanted_renders
from sitegen.site import BuildReport, ready_by_model, site_files, write_site
from sitegen.site.serve import make_server
from sitegen.store import FolderStore, make_thumbnail, thumb_address

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "catalog"
GOLDEN = ROOT / "tests" / "golden" / "site"
ARTIFACTS = ROOT / "tests" / "artifacts"

# The colouring kept NOT ready in every view: kino, linoleum top, Frame 1127, Top 236.
UNRENDERED_KEY = "frame-1127_top-0_insert-236_rim-1127"
UNRENDERED = {"product": "kino-stool", "kind": "lino-top", "parts": {"Frame": 1127, "Top": 236}}


def ready_addresses(wanted: Sequence[Wanted]) -> list[str]:
    """The addresses the synthetic store holds.

    A key is ready in a model's first view when its position among the distinct keys of its
    model (in the order `wanted_renders` lists them) is even; in the other views when that
    position is a multiple of 4 (so counts differ by view). A kind's default colouring is
    ready in every view (each product starts on a ready picture); the UNRENDERED colouring
    in none.
    """
    positions: dict[tuple[str, str], int] = {}
    first_view: dict[str, str] = {}
    for w in wanted:
        first_view.setdefault(w.model, w.view)
        if (w.model, w.key) not in positions:
            positions[(w.model, w.key)] = sum(1 for m, _ in positions if m == w.model)
    chosen = []
    for w in wanted:
        step = 2 if w.view == first_view[w.model] else 4
        if (positions[(w.model, w.key)] % step == 0 or w.default) and w.key != UNRENDERED_KEY:
            chosen.append(w.address)
    return sorted(dict.fromkeys(chosen))


def picture_bytes(address: str) -> bytes:
    """A small solid-colour picture whose colour derives from the address (deterministic),
    in the address's format (.jpg, .png or .webp)."""
    import io

    from PIL import Image

    digest = hashlib.sha256(address.encode()).digest()
    image = Image.new("RGB", (48, 36), (digest[0], digest[1], digest[2]))
    out = io.BytesIO()
    kind = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}[address.rsplit(".", 1)[1]]
    image.save(out, kind, **({"quality": 80} if kind == "JPEG" else {}))
    return out.getvalue()


def make_store(root: Path, addresses: Sequence[str]) -> FolderStore:
    """A folder store holding these pictures (and their thumbnails), indexed."""
    store = FolderStore(root)
    for address in addresses:
        path = store.path_of(address)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = picture_bytes(address)
        path.write_bytes(data)
        make_thumbnail(path, store.path_of(thumb_address(address)))
        store.record(address, None, {}, hashlib.sha256(data).hexdigest(), len(data), None, None)
    return store


def load_demo() -> Catalog:
    catalog, _ = load_catalog(DEMO)
    return catalog


@dataclass
class DemoSite:
    """The demo catalog, its synthetic store and the built site."""

    catalog: Catalog
    store_root: Path
    build: Path
    quality: str
    ready: dict[str, dict[str, set[str]]]  # model -> view -> ready keys
    files: dict[str, bytes]
    report: BuildReport


def build_demo(tmp: Path) -> DemoSite:
    """Make the synthetic store and build the demo site under `tmp`."""
    catalog = load_demo()
    quality = catalog.primary_quality.id
    addresses = ready_addresses(list(wanted_renders(catalog)))
    store = make_store(tmp / "renders", addresses)
    try:
        ready = ready_by_model(store.stored(quality), quality)
    finally:
        store.close()
    files = site_files(catalog, quality, ready)
    report = write_site(files, tmp / "build")
    return DemoSite(catalog, tmp / "renders", tmp / "build", quality, ready, files, report)


@dataclass
class Served:
    """A preview server running in a thread."""

    url: str  # http://127.0.0.1:<port>/
    server: http.server.ThreadingHTTPServer
    thread: threading.Thread


def serve(build: Path, store_root: Path, renders_url: str) -> Iterator[Served]:
    """Serve a built site (renders under `renders_url`) in a thread, until closed.

    A browser that navigates away drops connections mid-transfer: those (and only those)
    errors are not printed.
    """
    server = make_server(build, store_root, renders_url, "127.0.0.1", 0)
    report = server.handle_error

    def handle_error(request: Any, address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            report(request, address)

    server.handle_error = handle_error  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, name="site-preview", daemon=True)
    thread.start()
    try:
        yield Served(f"http://127.0.0.1:{server.server_address[1]}/", server, thread)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def read_tree(folder: Path) -> dict[str, bytes]:
    """Every file under a folder (posix relative path -> bytes), hidden files left out."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in
                                       p.relative_to(folder).parts)}


def product_plans(catalog: Catalog, product_id: str) -> tuple[Any, Any]:
    """(kind plans, sketchbook entries) of a product."""
    from sitegen.expand import expand_product, sketchbook_entries

    plans = expand_product(catalog, catalog.products[product_id])
    return plans, sketchbook_entries(plans)


def python_count(site: DemoSite, product_id: str, view: str,
                 flt: dict[str, list[int]], entry: int = 0) -> int:
    """What `sitegen.site.data.count_ready` says for a filter on the built demo's data."""
    from sitegen.site.data import count_ready, ready_rows

    plans, entries = product_plans(site.catalog, product_id)
    model = site.catalog.products[product_id].model
    ready = ready_rows(plans, entries, site.ready.get(model, {}).get(view, set()))
    return count_ready(plans, entries[entry], ready, flt)


def picture_url(site: DemoSite, renders_base: str, product_id: str, kind: str, view: str,
                values: Sequence[int]) -> str:
    """The picture's URL by the documented format, `<renders_url><quality>/<model>/<view>/
    <key>.<ext>`, the key from the kind's plan (Python side)."""
    plans, _ = product_plans(site.catalog, product_id)
    plan = next(p for p in plans if p.kind == kind)
    model = site.catalog.products[product_id].model
    ext = site.catalog.qualities[site.quality].ext
    return f"{renders_base}{site.quality}/{model}/{view}/{plan.key(tuple(values))}.{ext}"
