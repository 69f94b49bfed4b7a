"""Shared helpers for the site tests: a synthetic render store and the built demo site.

No Blender: every "render" is a small solid-colour JPEG (its colour derived from the key),
with its WebP thumbnail, indexed in a real FolderStore. The subset of the demo catalog's
wanted pictures that is "ready" is deterministic (see `ready_addresses`).

The demo catalog's primary quality is layered (docs/layers.md); these full-picture tests
build a copy of it whose primary quality is `preview` (full pictures), see `demo_copy`.
"""

from __future__ import annotations

import hashlib
import http.server
import shutil
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sitegen.catalog import Catalog
from sitegen.catalog.load import load_catalog
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


def make_sized_store(root: Path, addresses: Sequence[str], resolution: tuple[int, int],
                     sizes: Sequence[int]) -> FolderStore:
    """A folder store holding these pictures at `resolution` (a layer other than a backdrop
    in RGBA, its middle covered), each also at every width of `sizes`
    (`<name>.w<W>.<ext>`, sitegen.sizes), with their thumbnails, indexed."""
    from PIL import Image

    from sitegen.sizes import sized_address, sized_height

    store = FolderStore(root)
    width, height = resolution
    for address in addresses:
        digest = hashlib.sha256(address.encode()).digest()
        name = address.rsplit("/", 1)[1]
        colour = (digest[0], digest[1], digest[2])
        if name.startswith("layer-") and not name.split(".")[0].endswith("-base"):
            image = Image.new("RGBA", (width, height), (*colour, 0))
            image.paste((*colour, 255), (width // 4, height // 4, 3 * width // 4,
                                         3 * height // 4))
        else:
            image = Image.new("RGB", (width, height), colour)
        path = store.path_of(address)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_picture(image, path)
        for w in sizes:
            sized = image.resize((w, sized_height(width, height, w)),
                                 Image.Resampling.LANCZOS)
            write_picture(sized, store.path_of(sized_address(address, w)))
        make_thumbnail(path, store.path_of(thumb_address(address)))
        data = path.read_bytes()
        store.record(address, None, {}, hashlib.sha256(data).hexdigest(), len(data), None, None)
    return store


def write_picture(image: Any, path: Path) -> None:
    """A PIL image saved losslessly where possible, in the format its name says."""
    kind = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}[path.suffix[1:]]
    options: dict[str, Any] = {"JPEG": {"quality": 95}, "WEBP": {"lossless": True}}.get(kind, {})
    image.save(path, kind, **options)


FULL_QUALITY = "preview"  # the demo's full-picture quality, primary in `demo_copy`


def demo_copy(folder: Path, primary: str = FULL_QUALITY,
              settings: dict[str, dict[str, Any]] | None = None) -> Path:
    """A copy of the demo catalog in `folder` whose primary quality is `primary`, each
    quality's fields updated from `settings` (quality id -> fields); returns `folder`."""
    import yaml

    shutil.copytree(DEMO, folder, ignore=shutil.ignore_patterns("*.blend1"))
    site_yaml = folder / "site.yaml"
    doc = yaml.safe_load(site_yaml.read_text(encoding="utf-8"))
    ids = [q["id"] for q in doc["qualities"]]
    assert primary in ids, f"the demo has no quality {primary!r} ({ids})"
    for quality in doc["qualities"]:
        quality.pop("primary", None)
        quality.update((settings or {}).get(quality["id"], {}))
        if quality["id"] == primary:
            quality["primary"] = True
    site_yaml.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return folder


def load_demo(root: Path = DEMO) -> Catalog:
    catalog, _ = load_catalog(root)
    return catalog


@dataclass
class DemoSite:
    """The demo catalog, its synthetic store and the built site."""

    catalog: Catalog
    catalog_root: Path  # the catalog folder it was built from (a copy of the demo)
    store_root: Path
    build: Path
    quality: str
    ready: dict[str, dict[str, set[str]]]  # model -> view -> ready keys
    files: dict[str, bytes]
    report: BuildReport


def build_demo(tmp: Path) -> DemoSite:
    """Make the synthetic store and build the demo site (full pictures) under `tmp`."""
    root = demo_copy(tmp / "catalog")
    catalog = load_demo(root)
    quality = catalog.primary_quality.id
    assert quality == FULL_QUALITY and not catalog.qualities[quality].layers
    addresses = ready_addresses(list(wanted_renders(catalog)))
    store = make_store(tmp / "renders", addresses)
    try:
        ready = ready_by_model(store.stored(quality), quality)
    finally:
        store.close()
    files = site_files(catalog, quality, ready)
    report = write_site(files, tmp / "build")
    return DemoSite(catalog, root, tmp / "renders", tmp / "build", quality, ready, files,
                    report)


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
    """What `sitegen.site.data.count_ready_from_rows` says for a filter on the built demo's data."""
    from sitegen.site.data import count_ready_from_rows, ready_rows

    plans, entries = product_plans(site.catalog, product_id)
    model = site.catalog.products[product_id].model
    ready = ready_rows(plans, entries, site.ready.get(model, {}).get(view, set()))
    return count_ready_from_rows(plans, entries[entry], ready, flt)


def picture_url(site: DemoSite, renders_base: str, product_id: str, kind: str, view: str,
                values: Sequence[int]) -> str:
    """The picture's URL by the documented format, `<renders_url><quality>/<model>/<view>/
    <key>.<ext>`, the key from the kind's plan (Python side)."""
    plans, _ = product_plans(site.catalog, product_id)
    plan = next(p for p in plans if p.kind == kind)
    model = site.catalog.products[product_id].model
    ext = site.catalog.qualities[site.quality].ext
    return f"{renders_base}{site.quality}/{model}/{view}/{plan.key(tuple(values))}.{ext}"


# -- layered qualities (docs/layers.md): brute force over colourings, for small products ----


def ready_colourings(catalog: Catalog, product_id: str, ready: set[str],
                     flt: dict[str, list[int]] | None = None, entry: int = 0
                     ) -> list[tuple[str, tuple[int, ...], str]]:
    """The ready colourings of a sketchbook entry at a layered quality, listed one by one
    (brute force): (kind, values, key), kind by kind in entry order, each in rule 5 order,
    matching `flt` (part name -> finishes; a kind lacking the part matches only 0), a key
    an earlier kind already gave left out. `ready`: the ready layer names of one view."""
    from sitegen.expand import iter_colourings
    from sitegen.layers import colouring_layers

    plans, entries = product_plans(catalog, product_id)
    by_id = {p.kind: p for p in plans}
    out: list[tuple[str, tuple[int, ...], str]] = []
    seen: set[str] = set()
    for kind in entries[entry].kinds:
        plan = by_id[kind]
        if any(name not in plan.part_names and 0 not in values
               for name, values in (flt or {}).items()):
            continue
        for values in iter_colourings(plan):
            if any(name in (flt or {}) and value not in (flt or {})[name]
                   for name, value in zip(plan.part_names, values, strict=True)):
                continue
            key = plan.key(values)
            if key in seen or not set(colouring_layers(plan, values)) <= ready:
                continue
            seen.add(key)
            out.append((kind, values, key))
    return out


def nearest_colourings(catalog: Catalog, product_id: str, ready: set[str], kind: str,
                       parts: dict[str, int], entry: int = 0
                       ) -> tuple[int, list[tuple[str, tuple[int, ...]]]]:
    """The ready colourings nearest to a selection (docs/site.md: fewest parts differing; in
    a style-switch entry another kind counts as one more difference; a part the kind lacks
    but the selection has counts too), brute force: (distance, [(kind, values)])."""
    from sitegen.expand import iter_colourings
    from sitegen.layers import colouring_layers

    plans, entries = product_plans(catalog, product_id)
    found: dict[int, list[tuple[str, tuple[int, ...]]]] = {}
    for plan in plans:
        if plan.kind not in entries[entry].kinds:
            continue
        extra = int(plan.kind != kind and entries[entry].style_switch)
        extra += sum(1 for name, value in parts.items()
                     if name not in plan.part_names and value != 0)
        for values in iter_colourings(plan):
            if set(colouring_layers(plan, values)) <= ready:
                distance = extra + sum(1 for name, value in zip(plan.part_names, values,
                                                                strict=True)
                                       if parts.get(name, 0) != value)
                found.setdefault(distance, []).append((plan.kind, values))
    if not found:
        return -1, []
    best = min(found)
    return best, found[best]


def layer_urls(catalog: Catalog, renders_base: str, quality: str, product_id: str, kind: str,
               view: str, values: Sequence[int], thumb: bool = False) -> list[str]:
    """A colouring's layer URLs by the documented format (backdrop first, then each present
    part in kind order): `<renders_url><quality>/<model>/<view>/<name>.<ext>`."""
    from sitegen.layers import colouring_layers

    plans, _ = product_plans(catalog, product_id)
    plan = next(p for p in plans if p.kind == kind)
    model = catalog.products[product_id].model
    tail = ".thumb.webp" if thumb else f".{catalog.qualities[quality].ext}"
    return [f"{renders_base}{quality}/{model}/{view}/{name}{tail}"
            for name in colouring_layers(plan, values)]
