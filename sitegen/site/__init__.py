"""The static sketchbook: page data and templates -> files in build/.

Everything is gathered in memory first (pages, data, swatches, hashed assets), then
written by `write_site` (sitegen/site/write.py): the new tree beside the old one, swapped
in at once, with a manifest; a file whose bytes are unchanged is not rewritten, and files
of an earlier build that are no longer produced are removed.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2

from sitegen.catalog.models import Catalog, Finish
from sitegen.errors import SitegenError
from sitegen.expand import default_colouring, expand_product
from sitegen.layers import colouring_layers
from sitegen.package_data import package_path
from sitegen.plan import finish_material
from sitegen.site.data import product_coverage, product_data
from sitegen.site.write import MANIFEST as MANIFEST
from sitegen.site.write import MARKER as MARKER
from sitegen.site.write import BuildReport as BuildReport
from sitegen.site.write import BuildWriteError as BuildWriteError
from sitegen.site.write import Manifest as Manifest
from sitegen.site.write import read_manifest as read_manifest
from sitegen.site.write import write_site as write_site
from sitegen.sizes import sized_address

TEMPLATES = package_path("sitegen.templates")  # templates/ in the repository
SWATCH_SIZE = 64
IMPORT_RE = re.compile(r"""(\bfrom\s*|\bimport\s*\(?\s*)(["'])\./([\w.-]+\.js)\2()""")
# An asset a module names beside itself: `new URL("./style.css", import.meta.url)`.
ASSET_URL_RE = re.compile(
    r"""(\bnew\s+URL\(\s*)(["'])\./([\w.-]+)\2(\s*,\s*import\.meta\.url\s*\))""")


def is_absolute_url(url: str) -> bool:
    """An URL with a scheme or an absolute path: used as it is from every page."""
    return bool(urlsplit(url).scheme) or url.startswith("/")


def from_page(url: str, root: str) -> str:
    """A site-root-relative URL as seen from a page `root` away from the root."""
    return url if is_absolute_url(url) else root + url


def content_security_policy(renders_url: str) -> str:
    """The pages' CSP: own scripts and styles only; pictures from the renders' origin."""
    images = "'self'"
    if urlsplit(renders_url).scheme:
        parts = urlsplit(renders_url)
        images += f" {parts.scheme}://{parts.netloc}"
    return ("default-src 'none'; script-src 'self'; style-src 'self'; "
            f"img-src {images}; connect-src 'self'; base-uri 'none'; form-action 'none'")


def hashed_assets(static: Path) -> dict[str, tuple[str, bytes]]:
    """name -> (static/<stem>-<hash>.<ext>, bytes), with the JS modules' imports and the
    assets they name beside themselves (`new URL("./x.css", import.meta.url)`) rewritten to
    the hashed names."""
    sources = {p.name: p.read_bytes() for p in sorted(static.iterdir()) if p.is_file()}
    done: dict[str, tuple[str, bytes]] = {}

    def resolve(name: str, stack: tuple[str, ...] = ()) -> tuple[str, bytes]:
        if name in done:
            return done[name]
        if name in stack:
            raise SitegenError(f"templates/static: import cycle through {name}")
        data = sources[name]
        if name.endswith(".js"):
            def swap(m: re.Match[str]) -> str:
                target = resolve(m.group(3), (*stack, name))[0].split("/")[-1]
                return f"{m.group(1)}{m.group(2)}./{target}{m.group(2)}{m.group(4)}"
            data = ASSET_URL_RE.sub(swap, IMPORT_RE.sub(swap, data.decode())).encode()
        stem, _, ext = name.rpartition(".")
        digest = hashlib.sha256(data).hexdigest()[:10]
        done[name] = (f"static/{stem}-{digest}.{ext}", data)
        return done[name]

    for name in sources:
        resolve(name)
    return done


EMBED = "embed.js"  # the element's stable address (docs/embed.md)


def embed_module(element: str) -> bytes:
    """embed.js: the one file a shop's page names, kept under its name and cached briefly;
    it loads the element's content-hashed module (`static/element-<hash>.js`)."""
    return ("// sitegen: defines <sitegen-sketchbook> (docs/embed.md). This file keeps its name"
            " and\n// is cached briefly; the modules it loads are content-hashed.\n"
            f'import "./{element}";\n').encode()


# The layout widths of the pages' pictures, for `srcset` (style.css; sketchbook.js has the
# product page's too): the product page's main picture, an index card's.
PICTURE_SIZES = "(max-width: 860px) 100vw, min(760px, 60vw)"
CARD_SIZES = "(max-width: 660px) 100vw, 400px"


def srcset(url: str, full_width: int, sizes: list[int]) -> str | None:
    """A picture's `srcset` (w descriptors): every smaller size (`<name>.w<W>.<ext>`), then
    the full width (the plain name); None when the quality has no sizes."""
    widths = sorted({w for w in sizes if w < full_width})
    if not widths:
        return None
    return ", ".join([*(f"{sized_address(url, w)} {w}w" for w in widths),
                      f"{url} {full_width}w"])


def swatch_png(catalog: Catalog, finish: Finish) -> bytes:
    """A square swatch: the centre of the finish's diffuse texture, else its colour."""
    from PIL import Image

    diffuse = finish_material(catalog, finish)["diffuse"]
    if diffuse is not None:
        with Image.open(diffuse) as source:
            image = source.convert("RGB")
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        image = image.crop((left, top, left + side, top + side)).resize(
            (SWATCH_SIZE, SWATCH_SIZE), Image.Resampling.LANCZOS)
    else:
        image = Image.new("RGB", (SWATCH_SIZE, SWATCH_SIZE), finish.color)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def ready_by_model(addresses: Mapping[str, Any], quality: str) -> dict[str, dict[str, set[str]]]:
    """model -> view -> ready keys, from store addresses `<quality>/<model>/<view>/<key>.<ext>`."""
    ready: dict[str, dict[str, set[str]]] = {}
    for address in addresses:
        q, model, view, name = address.split("/")
        if q == quality:
            ready.setdefault(model, {}).setdefault(view, set()).add(name.rsplit(".", 1)[0])
    return ready


def site_files(catalog: Catalog, quality: str, ready: Mapping[str, Mapping[str, set[str]]],
               templates: Path = TEMPLATES) -> dict[str, bytes]:
    """Every file of the site, by path relative to the output folder."""
    files: dict[str, bytes] = {}
    assets = hashed_assets(templates / "static")
    for path, asset in assets.values():
        files[path] = asset
    if "element.js" in assets:
        files[EMBED] = embed_module(assets["element.js"][0])
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates), autoescape=True,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    site = catalog.site
    common = {"site": site, "assets": {name: path for name, (path, _) in assets.items()},
              "csp": content_security_policy(site.renders_url),
              "picture_sizes": PICTURE_SIZES, "card_sizes": CARD_SIZES}
    q = catalog.qualities[quality]

    used = {v for p in catalog.products.values() for plan in expand_product(catalog, p)
            for part in plan.parts for v in part.domain if v}
    swatches: dict[int, str] = {}
    for finish in catalog.finishes.values():
        if finish.id in used:
            png = swatch_png(catalog, finish)
            swatches[finish.id] = f"swatches/{finish.id}-{hashlib.sha256(png).hexdigest()[:8]}.png"
            files[swatches[finish.id]] = png

    def picture(product_id: str, root: str) -> dict[str, Any] | None:
        product = catalog.products[product_id]
        model = catalog.models[product.model]
        # The first kind that has a colouring: the page starts on its default, too.
        defaults = [(p, default_colouring(p)) for p in expand_product(catalog, product)]
        plan, values = next(((p, v) for p, v in defaults if v is not None), (None, None))
        if plan is None or values is None:
            return None
        # A picture, or at a layered quality its backdrop and part layers (stacked).
        names = colouring_layers(plan, values) if q.layers else [plan.key(values)]
        view = model.views[0]
        if not set(names) <= ready.get(model.id, {}).get(view, set()):
            return None
        alt = f"{product.label}: " + ", ".join(
            f"{p.name} {catalog.finishes[v].label if v else 'removed'}"
            for p, v in zip(plan.parts, values, strict=True))
        urls = [from_page(f"{site.renders_url}{quality}/{model.id}/{view}/{name}.{q.ext}", root)
                for name in names]
        # Every layer of a stack has the same srcset and sizes: the browser loads them all
        # at one width.
        srcsets = [srcset(url, q.resolution[0], q.sizes) for url in urls]
        return {"url": urls[0], "srcset": srcsets[0], "alt": alt,
                "layers": [{"url": u, "srcset": s} for u, s in zip(urls[1:], srcsets[1:],
                                                                   strict=True)]}

    def render(template: str, **context: Any) -> bytes:
        return env.get_template(template).render(**common, **context).encode()

    cards, coverage = [], []
    for product in catalog.products.values():
        root = "../../"
        model_ready = ready.get(product.model, {})
        data = product_data(catalog, product, quality, model_ready,
                            from_page(site.renders_url, root),
                            {f: root + path for f, path in swatches.items()})
        base = f"products/{product.id}/"
        files[base + "data.json"] = (json.dumps(data, ensure_ascii=False, separators=(",", ":"))
                                     + "\n").encode()
        entries = [{"label": e["label"], "kinds": [{"id": k, "name": data["kinds"][k]["name"]}
                                                   for k in e["kinds"]]}
                   for e in data["entries"]]
        files[base + "index.html"] = render(
            "product.html", root=root, page_title=product.label,
            product={"id": product.id, "name": product.label}, entries=entries,
            data_url="data.json", image=picture(product.id, root))
        cover = product_coverage(catalog, product, model_ready, q.layers)
        cards.append({"id": product.id, "name": product.label, "url": base,
                      "image": picture(product.id, ""), "ready": cover.ready,
                      "allowed": cover.allowed})
        coverage.append({"id": product.id, "name": product.label, "url": base, "parts": [
            {"name": name, "finishes": [
                {"id": f, "name": catalog.finishes[f].label, "swatch": swatches[f],
                 "pattern_name": catalog.patterns[catalog.finishes[f].pattern].name
                 or catalog.finishes[f].pattern,
                 "ready": r, "allowed": a, "percent": 100 * r // a if a else 0}
                for f, r, a in rows]} for name, rows in cover.parts]})
    files["index.html"] = render("index.html", root="", page_title=site.title, products=cards)
    files["coverage.html"] = render("coverage.html", root="", page_title="Coverage",
                                    products=coverage)
    files["sitemap.xml"] = sitemap(site.base_url, ["", "coverage.html",
                                                   *(f"products/{p}/" for p in catalog.products)])
    return files


def sitemap(base_url: str, pages: list[str]) -> bytes:
    """sitemap.xml with absolute URLs under `base_url`."""
    from xml.sax.saxutils import escape

    base = base_url if base_url.endswith("/") else base_url + "/"
    urls = "".join(f"  <url><loc>{escape(base + page)}</loc></url>\n" for page in pages)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            f"{urls}</urlset>\n").encode()


def build_facts(catalog: Catalog, quality: str) -> dict[str, Any]:
    """What a build records in its manifest for `publish`: the quality its pages show and
    the site's URLs as the pages were made with them."""
    return {"quality": quality, "renders_url": catalog.site.renders_url,
            "base_url": catalog.site.base_url}
