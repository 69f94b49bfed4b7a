"""`sitegen serve` stays inside the build and the store, and answers bad paths 400.

A real `sitegen serve` (port 0, the studio neither watching nor rendering) on 127.0.0.1;
requests sent raw (http.client, sockets), so that nothing on the client side cleans a path
up first. The server's stderr must stay
empty: a traceback there is a bug.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import base_catalog, write_catalog
from sitefixtures import ROOT

from sitegen.site.serve import BadPath, path_segments
from sitegen.site.studio import inject

PICTURE = "preview/kino/front/frame-1127_top-1127_insert-0_rim-0.png"
SITE = {"index.html": b"<!doctype html><title>home</title>",
        "products/kino-stool/index.html": b"<!doctype html><title>kino</title>",
        "products/kino-stool/data.json": b'{"version":1}\n',
        "static/app-0123456789.js": b"app();\n"}


@dataclass
class Preview:
    """A running `sitegen serve` and the folders it serves."""

    port: int
    root: Path  # holds build/, renders/ and outside/
    proc: subprocess.Popen[str]

    def request(self, method: str, path: str) -> tuple[int, bytes]:
        """One request with the path sent exactly as given."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", f"127.0.0.1:{self.port}")
            conn.endheaders()
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def raw(self, line: bytes) -> bytes:
        """Send raw bytes as the request line; the status line answered."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(line + b"\r\nHost: x\r\n\r\n")
            answer = b""
            while b"\r\n" not in answer:
                chunk = s.recv(4096)
                if not chunk:
                    break
                answer += chunk
        return answer.split(b"\r\n", 1)[0]


@pytest.fixture(scope="module")
def preview(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Preview]:
    """One server for the module (the studio, neither watching nor rendering), on a build
    and a store with links leading out, made once it has built."""
    tmp_path = tmp_path_factory.mktemp("serve")
    catalog = write_catalog(tmp_path / "cat", {"catalog.yaml": base_catalog()})  # renders/
    build, store, outside = tmp_path / "build", tmp_path / "renders", tmp_path / "outside"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sitegen", "--catalog", str(catalog), "serve", "--out",
         str(build), "--renders", str(store), "--port", "0", "--no-watch", "--no-render"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout is not None
    line = proc.stdout.readline()
    while line and not line.startswith("serving "):  # the studio's build comes first
        line = proc.stdout.readline()
    assert line.startswith("serving "), (line, proc.stderr.read() if proc.stderr else "")
    port = int(line.split("http://127.0.0.1:", 1)[1].split("/", 1)[0])
    for name, data in SITE.items():  # over the studio's build: nothing rebuilds it
        (build / name).parent.mkdir(parents=True, exist_ok=True)
        (build / name).write_bytes(data)
    outside.mkdir()
    (outside / "secret.png").write_bytes(b"secret picture")
    (outside / "secret.html").write_bytes(b"secret page")
    picture = store / PICTURE
    picture.parent.mkdir(parents=True)
    picture.write_bytes(b"\x89PNG picture")
    picture.with_name(picture.name.replace(".png", ".w32.png")).write_bytes(b"\x89PNG sized")
    (store / "index.sqlite").write_bytes(b"SQLite format 3\x00")
    # Links leaving the two roots, and one staying inside (allowed).
    (build / "passwd.html").symlink_to("/etc/passwd")
    (build / "secret.html").symlink_to(outside / "secret.html")
    (build / "products/away").symlink_to(outside, target_is_directory=True)
    (build / "home.html").symlink_to(build / "index.html")
    (picture.parent / "leak.png").symlink_to(outside / "secret.png")
    (picture.parent / "up").symlink_to(tmp_path, target_is_directory=True)
    (store / "preview/kino/side").symlink_to(outside, target_is_directory=True)
    (build / "products/linked").symlink_to(outside, target_is_directory=True)
    (outside / "index.html").write_bytes(b"outside index")
    served = Preview(port, tmp_path, proc)
    try:
        yield served
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    # Not one traceback (nor anything else) on the server's side, whatever was asked.
    assert err == "", err


def page(html: bytes) -> bytes:
    """A page as the studio serves it (its script and stylesheet added)."""
    return inject(html, 1)


def test_serves_the_site_and_the_pictures(preview: Preview) -> None:
    assert preview.request("GET", "/") == (200, page(SITE["index.html"]))
    assert preview.request("GET", "/products/kino-stool/") == (
        200, page(SITE["products/kino-stool/index.html"]))
    assert preview.request("GET", "/products/kino-stool/data.json?v=2") == (
        200, SITE["products/kino-stool/data.json"])
    assert preview.request("GET", "/products//kino-stool/./data.json")[0] == 200
    assert preview.request("GET", "/home.html") == (200, page(SITE["index.html"]))  # inside
    assert preview.request("GET", f"/renders/{PICTURE}") == (200, b"\x89PNG picture")
    assert preview.request("HEAD", f"/renders/{PICTURE}")[0] == 200
    sized = PICTURE.replace(".png", ".w32.png")  # a sized copy (sitegen/sizes.py)
    assert preview.request("GET", f"/renders/{sized}") == (200, b"\x89PNG sized")
    assert preview.request("GET", "/products/kino-stool")[0] == 301  # to the folder's URL


@pytest.mark.parametrize("path", [
    "/passwd.html",                          # a link to /etc/passwd
    "/secret.html",                          # a link to a file outside
    "/products/away/secret.html",            # through a linked folder
    "/products/linked/",                     # a linked folder's index.html
    "/renders/preview/kino/front/leak.png",  # a picture-named link out of the store
    "/renders/preview/kino/front/up/outside/secret.png",
    "/renders/preview/kino/side/secret.png",
    "/renders/index.sqlite",                 # in the store, but not a picture
    "/renders/",
    "/.sitegen-build", "/.sitegen-manifest.json",  # not part of the site
    "/index.html/",                          # a file is no folder
    "/products/",                            # no listing
    "/nothing.html",
])
def test_what_leaves_the_roots_or_is_not_served_is_404(preview: Preview, path: str) -> None:
    status, body = preview.request("GET", path)
    assert status == 404, (path, body)
    assert b"secret" not in body and b"root:" not in body


@pytest.mark.parametrize("path", [
    "/index.html%00",                         # a NUL byte
    "/renders/%00/x.png",
    "/index%2",                               # bad percent-encoding
    "/index%zz.html",
    "/%ff%fe.html",                           # not UTF-8
    "/../../etc/passwd",                      # `..` escapes, plain or encoded
    "/renders/..%2f..%2fpyproject.toml",
    "/renders/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/products/%2E%2E/index.html",
    "/%0a.html",                              # a control byte
    "/" + "a" * 300 + ".html",                # longer than a file name can be
    "/" + "a/" * 1500,                        # longer than a path should be
])
def test_malformed_paths_are_400(preview: Preview, path: str) -> None:
    status, body = preview.request("GET", path)
    assert status == 400, (path, status, body)
    assert preview.request("HEAD", path)[0] == 400


def test_raw_bytes_in_the_request_line_are_400(preview: Preview) -> None:
    assert preview.raw(b"GET /index.html\x00 HTTP/1.1").split(b" ")[1] == b"400"
    assert preview.raw(b"GET /\xff\xfe.html HTTP/1.1").split(b" ")[1] == b"400"
    assert preview.raw(b"GET http://x/../etc/passwd HTTP/1.1").split(b" ")[1] == b"400"
    assert preview.raw(b"GET /index.html HTTP/1.1").split(b" ")[1] == b"200"
    time.sleep(0.1)  # the server is still up, and said nothing (checked at teardown)
    assert preview.proc.poll() is None


def test_path_segments() -> None:
    assert path_segments("/a/./b//c.html?x=1#y") == ["a", "b", "c.html"]
    assert path_segments("/Seat%20pad/%C3%A9.png") == ["Seat pad", "é.png"]
    for bad in ["/a%00", "/a%2", "/%c3", "/../x", "/a/%2e%2E/x", "x", "/\x7f",
                "/" + "é" * 200]:
        with pytest.raises(BadPath):
            path_segments(bad)
