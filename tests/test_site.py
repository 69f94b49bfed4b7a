"""The built site: golden files, determinism, HTML safety, and the build / serve commands.

The demo catalog is built against a synthetic render store (tests/sitefixtures.py): no
Blender. Regenerate the golden files after an intended change with `make golden`
(SITEGEN_REGEN_GOLDEN=1), then review the diff of tests/golden/: the pages, whole, under
site/; the static assets (JS, CSS) by name and SHA-256 in static-assets.json, so that an
edit of a module shows once in the diff, in its own file.
"""

from __future__ import annotations

import hashlib
import html
import html.parser
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from conftest import base_catalog, write_catalog
from markupsafe import escape
from sitefixtures import DEMO, GOLDEN, ROOT, read_tree

from sitegen.catalog.load import load_catalog
from sitegen.expand import default_colouring, expand_product
from sitegen.site import site_files, write_site
from sitegen.site.studio import inject

# The golden site's static assets: static/<name>-<hash>.<ext> -> SHA-256 (pages are whole).
GOLDEN_ASSETS = GOLDEN.parent / "static-assets.json"
XSS_SCRIPT = "</script><script>alert(1)</script>"
XSS_ATTR = '"><img src=x onerror=alert(1)>'


# -- golden files ------------------------------------------------------------------------


def first_difference(a: bytes, b: bytes) -> str:
    """Where two files first differ, readably."""
    if not (_is_utf8(a) and _is_utf8(b)):
        at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                  min(len(a), len(b)))
        return f"binary, {len(a)} vs {len(b)} bytes, first difference at byte {at}"
    left, right = a.decode().splitlines(), b.decode().splitlines()
    for i, (x, y) in enumerate(zip(left, right, strict=False)):
        if x != y:
            return f"line {i + 1}:\n  built:  {x[:300]!r}\n  golden: {y[:300]!r}"
    return f"{len(left)} vs {len(right)} lines (one is a prefix of the other)"


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def split_assets(files: dict[str, bytes]) -> tuple[dict[str, bytes], dict[str, str]]:
    """(every file but static/, whole; static/<name>-<hash>.<ext> -> SHA-256 of its bytes)."""
    pages = {rel: data for rel, data in files.items() if not rel.startswith("static/")}
    assets = {rel: hashlib.sha256(data).hexdigest()
              for rel, data in sorted(files.items()) if rel.startswith("static/")}
    return pages, assets


def test_golden_site(demo_site: Any) -> None:
    """The built demo equals tests/golden/site/, file by file, byte for byte; its static
    assets (JS, CSS: copied from templates/static/) by name and SHA-256, GOLDEN_ASSETS."""
    built = read_tree(demo_site.build)
    assert built == dict(sorted(demo_site.files.items()))  # nothing else in the build
    pages, assets = split_assets(built)
    if os.environ.get("SITEGEN_REGEN_GOLDEN") == "1":
        if GOLDEN.exists():
            shutil.rmtree(GOLDEN)
        for rel, data in pages.items():
            (GOLDEN / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / rel).write_bytes(data)
        GOLDEN_ASSETS.write_text(json.dumps(assets, indent=1, sort_keys=True) + "\n")
        return
    assert GOLDEN.is_dir(), f"{GOLDEN} is missing: run `make golden`"
    golden = read_tree(GOLDEN)
    missing = sorted(set(golden) - set(pages))
    extra = sorted(set(pages) - set(golden))
    assert not missing and not extra, (
        f"files differ from the golden site: missing {missing}, new {extra}; if intended, "
        "run `make golden` and review the diff")
    changed = {rel: first_difference(pages[rel], golden[rel])
               for rel in sorted(pages) if pages[rel] != golden[rel]}
    assert not changed, ("built files differ from tests/golden/site (if intended, run "
                         "`make golden` and review the diff):\n" +
                         "\n".join(f"{rel}: {why}" for rel, why in changed.items()))
    assert GOLDEN_ASSETS.is_file(), f"{GOLDEN_ASSETS} is missing: run `make golden`"
    expected = json.loads(GOLDEN_ASSETS.read_text())
    why = {rel: "new" if rel not in expected else "missing" if rel not in assets else "changed"
           for rel in sorted(set(assets) | set(expected)) if assets.get(rel) != expected.get(rel)}
    assert not why, (f"static assets differ from tests/golden/{GOLDEN_ASSETS.name} (if intended, "
                     "run `make golden` and review the diff): " +
                     ", ".join(f"{rel} ({reason})" for rel, reason in why.items()))


def test_golden_site_is_small_and_complete() -> None:
    """The golden folder holds every page of the site, whole, and every asset's hash; and
    stays small."""
    if os.environ.get("SITEGEN_REGEN_GOLDEN") == "1":
        pytest.skip("the golden files are being regenerated")
    files = read_tree(GOLDEN)
    names = set(files)
    assert {"index.html", "coverage.html", "sitemap.xml"} <= names
    for product in ("kino-stool", "maru-bench", "hako-table", "oto-pouf"):
        assert {f"products/{product}/index.html", f"products/{product}/data.json"} <= names
    assert not any(n.startswith("static/") for n in names)  # assets by hash only
    assets = json.loads(GOLDEN_ASSETS.read_text())
    assert {n.rsplit("-", 1)[0] for n in assets} == {
        "static/book", "static/element", "static/embed", "static/favicon", "static/layers",
        "static/model", "static/ready", "static/sketchbook", "static/spin", "static/state",
        "static/style"}
    assert "embed.js" in names  # the element's stable entry (docs/embed.md)
    assert all(re.fullmatch(r"[0-9a-f]{64}", digest) for digest in assets.values())
    assert any(n.startswith("swatches/") and n.endswith(".png") for n in names)
    assert len(files) < 60 and sum(map(len, files.values())) < 400_000


# -- determinism -------------------------------------------------------------------------


def test_same_inputs_same_bytes_and_rebuild_writes_nothing(demo_site: Any,
                                                          tmp_path: Path) -> None:
    again = site_files(demo_site.catalog, demo_site.quality, demo_site.ready)
    assert again == demo_site.files
    out = tmp_path / "site"
    first = write_site(again, out)
    assert sorted(first.written) == sorted(again) and first.removed == []
    old = time.time() - 3600  # an hour ago: any rewrite would move the mtime
    paths = [out / rel for rel in again]  # the site's files (not the build marker)
    for path in paths:
        os.utime(path, (old, old))
    mtimes = {p: p.stat().st_mtime_ns for p in paths}
    second = write_site(site_files(demo_site.catalog, demo_site.quality, demo_site.ready), out)
    assert second.written == [] and second.removed == []
    assert second.unchanged == len(again)
    assert {p: p.stat().st_mtime_ns for p in paths} == mtimes
    assert read_tree(out) == read_tree(demo_site.build)


def test_a_change_rewrites_only_what_changed(demo_site: Any, tmp_path: Path) -> None:
    """One more ready picture: only that product's data.json (and the pages showing
    counts) change; no hashed asset or swatch is rewritten."""
    out = tmp_path / "site"
    write_site(demo_site.files, out)
    ready = {m: {v: set(keys) for v, keys in views.items()}
             for m, views in demo_site.ready.items()}
    plan = expand_product(demo_site.catalog, demo_site.catalog.products["oto-pouf"])[0]
    missing = next(key for key in map(plan.key, _colourings(plan))
                   if key not in ready["oto"]["main"])
    ready["oto"]["main"].add(missing)
    report = write_site(site_files(demo_site.catalog, demo_site.quality, ready), out)
    assert sorted(report.written) == ["coverage.html", "index.html",
                                      "products/oto-pouf/data.json"]
    assert report.removed == []


def _colourings(plan: Any) -> list[tuple[int, ...]]:
    from sitegen.expand import iter_colourings

    return list(iter_colourings(plan))


# -- safety ------------------------------------------------------------------------------


class PageScan(html.parser.HTMLParser):
    """Collects what the safety rules look at in one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.inline_scripts = 0
        self.styled: list[str] = []
        self.handlers: list[str] = []
        self.csp: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append((tag, found))
        if tag == "script" and not found.get("src"):
            self.inline_scripts += 1
        if "style" in found:
            self.styled.append(tag)
        self.handlers += [f"{tag} {name}" for name in found if name.startswith("on")]
        if tag == "meta" and (found.get("http-equiv") or "").lower() == \
                "content-security-policy":
            self.csp.append(found.get("content") or "")
        if tag == "style":
            self.styled.append("<style>")


def check_page_rules(rel: str, page: bytes) -> PageScan:
    """CSP meta with script-src 'self' and nothing unsafe; no inline script, style or
    event handler."""
    scan = PageScan()
    scan.feed(page.decode())
    assert len(scan.csp) == 1, f"{rel}: one Content-Security-Policy meta expected"
    directives = {d.split()[0]: d.split()[1:] for d in scan.csp[0].split(";") if d.strip()}
    assert directives.get("script-src") == ["'self'"], f"{rel}: {scan.csp[0]}"
    assert directives.get("default-src") == ["'none'"], f"{rel}: {scan.csp[0]}"
    assert "'unsafe-inline'" not in scan.csp[0] and "'unsafe-eval'" not in scan.csp[0]
    assert scan.inline_scripts == 0, f"{rel}: inline <script> without src"
    assert scan.styled == [], f"{rel}: style attribute or element in {scan.styled}"
    assert scan.handlers == [], f"{rel}: event handler attributes {scan.handlers}"
    csp_at = page.find(b"Content-Security-Policy")
    assert 0 <= csp_at < page.find(b"<link"), f"{rel}: the CSP meta must come first"
    return scan


def test_demo_pages_follow_the_safety_rules(demo_site: Any) -> None:
    pages = {rel: data for rel, data in demo_site.files.items() if rel.endswith(".html")}
    assert len(pages) == 2 + len(demo_site.catalog.products)
    for rel, page in pages.items():
        check_page_rules(rel, page)


@pytest.fixture
def xss_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, dict[str, bytes]]:
    """A catalog whose product, kind and finish names are HTML/script injections, built with
    the default colouring ready (so the picture's alt text is rendered too)."""
    monkeypatch.chdir(tmp_path)
    cat = base_catalog()
    cat["site"]["title"] = XSS_ATTR
    names = {1127: XSS_SCRIPT, 1128: XSS_ATTR, 235: XSS_ATTR + " lino", 236: XSS_SCRIPT + " 2"}
    for finish in cat["finishes"]:
        finish["name"] = names.get(finish["id"], finish["name"])
    cat["patterns"][0]["name"] = XSS_SCRIPT + " oak"
    product = cat["products"][0]
    product["name"] = XSS_SCRIPT + XSS_ATTR
    product["kinds"][0]["name"] = XSS_ATTR + " kind"
    catalog, _ = load_catalog(write_catalog(tmp_path / "cat", {"catalog.yaml": cat}))
    plan = expand_product(catalog, catalog.products["kino-stool"])[0]
    values = default_colouring(plan)
    assert values is not None
    key = plan.key(values)
    ready = {"kino": {"front": {key}, "side": {key}}}
    return catalog, site_files(catalog, "preview", ready)


def test_names_are_escaped_in_every_page(xss_site: tuple[Any, dict[str, bytes]]) -> None:
    catalog, files = xss_site
    pages = {rel: data.decode() for rel, data in files.items() if rel.endswith(".html")}
    raw = [XSS_SCRIPT, XSS_ATTR, "<script>alert", "<img src=x", "onerror=alert(1)>"]
    for rel, page in pages.items():
        for bad in raw:
            assert bad not in page, f"{rel} holds {bad!r} unescaped"
        scan = check_page_rules(rel, page.encode())
        assert not any(tag == "img" and attrs.get("src") == "x" for tag, attrs in scan.tags)
        assert all(tag != "script" or attrs.get("type") == "module" for tag, attrs in scan.tags)
    escaped_script, escaped_attr = str(escape(XSS_SCRIPT)), str(escape(XSS_ATTR))
    product_page = pages["products/kino-stool/index.html"]
    assert escaped_script + escaped_attr in product_page  # the h1 and the title
    assert escaped_attr in pages["index.html"]  # the site title
    coverage = pages["coverage.html"]
    assert escaped_script in coverage and escape(XSS_SCRIPT + " oak") in coverage
    # The default picture's alt text names the finishes: escaped inside the attribute.
    alt = re.search(r'<img class="sb-img" src="[^"]*" alt="([^"]*)"', product_page)
    assert alt is not None and html.unescape(alt.group(1)) == (
        f"{XSS_SCRIPT}{XSS_ATTR}: Frame {XSS_SCRIPT}, Top {XSS_SCRIPT}")
    # The page data is JSON, not HTML: the names are there as JSON strings.
    import json

    data = json.loads(files["products/kino-stool/data.json"])
    assert data["product"]["name"] == XSS_SCRIPT + XSS_ATTR
    assert data["finishes"]["1128"]["name"] == XSS_ATTR
    assert catalog.products["kino-stool"].label == XSS_SCRIPT + XSS_ATTR


# -- the command line --------------------------------------------------------------------


def sitegen(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sitegen", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def test_build_command(demo_site: Any, tmp_path: Path) -> None:
    """`sitegen build` on the synthetic store gives the same bytes (under another hash
    seed), reports what it wrote, and a second run writes nothing."""
    out = tmp_path / "out"
    n = len(demo_site.files)
    args = ("--catalog", str(demo_site.catalog_root), "build", "--out", str(out),
            "--renders", str(demo_site.store_root))
    first = sitegen(*args, env={"PYTHONHASHSEED": "12345"})
    assert first.returncode == 0, first.stderr
    assert first.stdout == f"built {out}: {n} files, {n} written, 0 unchanged, 0 removed\n"
    assert read_tree(out) == read_tree(demo_site.build)
    (out / "static" / "old-0123456789.js").write_text("stale")
    second = sitegen(*args, env={"PYTHONHASHSEED": "54321"})
    assert second.returncode == 0, second.stderr
    assert second.stdout == f"built {out}: {n} files, 0 written, {n} unchanged, 1 removed\n"
    assert not (out / "static" / "old-0123456789.js").exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_serve_command(demo_site: Any, tmp_path: Path) -> None:
    """The studio (neither watching nor rendering) builds what `build` built, into its own
    --out, and serves it with the pictures; pages carry its script, data is as built."""
    port = free_port()
    out = tmp_path / "studio"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sitegen", "--catalog", str(demo_site.catalog_root), "serve",
         "--out", str(out), "--renders", str(demo_site.store_root), "--quality",
         demo_site.quality, "--port", str(port), "--no-watch", "--no-render"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}/"
    try:
        status, body = wait_for(base, proc)
        assert read_tree(out) == read_tree(demo_site.build)  # what `build` wrote
        assert status == 200 and body == inject((out / "index.html").read_bytes(), 1)
        address = next(a for a in sorted(_addresses(demo_site)))
        status, body = get(f"{base}renders/{address}")
        assert status == 200 and body == (demo_site.store_root / address).read_bytes()
        thumb = address.rsplit(".", 1)[0] + ".thumb.webp"
        status, body = get(f"{base}renders/{thumb}")
        assert status == 200 and body[:4] == b"RIFF" and body[8:12] == b"WEBP"
        status, body = get(f"{base}products/kino-stool/data.json")
        assert status == 200 and body == (demo_site.build / "products/kino-stool/data.json"
                                          ).read_bytes()
        assert get(f"{base}renders/preview/kino/front/nothing-0.jpg")[0] == 404
        # No way out of the store or the build folder (tests/test_site_serve.py: more).
        assert get(f"{base}renders/..%2f..%2fpyproject.toml")[0] == 400
        assert get(f"{base}renders/%2e%2e/%2e%2e/%2e%2e/etc/passwd")[0] == 400
    finally:
        proc.terminate()
        out_text, err = proc.communicate(timeout=10)
    assert f"serving {out} at http://127.0.0.1:{port}/" in out_text, (out_text, err)
    assert err == "", err


def wait_for(url: str, proc: subprocess.Popen[str]) -> tuple[int, bytes]:
    """GET url once the server answers (30 s at most)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return get(url)
        except (urllib.error.URLError, ConnectionError):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "sitegen serve did not start in 30 s"
            time.sleep(0.1)


def _addresses(demo_site: Any) -> set[str]:
    return {f"{demo_site.quality}/{model}/{view}/{key}.jpg"
            for model, views in demo_site.ready.items()
            for view, keys in views.items() for key in keys}


def test_serve_never_touches_build(tmp_path: Path) -> None:
    """Without --out the studio builds into a folder of its own: no build/ appears where it
    runs, and it stops cleanly."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sitegen", "--catalog", str(DEMO), "serve", "--port",
         str(port), "--no-watch", "--no-render", "--renders", str(tmp_path / "renders")],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        status, body = wait_for(f"http://127.0.0.1:{port}/products/kino-stool/", proc)
        assert status == 200 and b"/_studio/studio.js" in body
        assert list(tmp_path.iterdir()) == []  # no build/, and an empty store is not made
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert err == "" and "stopped" in out, (out, err)
