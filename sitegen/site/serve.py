"""The preview's HTTP handler: a built site locally, with the renders where it expects them.

`sitegen serve` (sitegen.site.studio) builds on it. The preview serves what `publish`
would upload and nothing else: files inside the build
folder (hidden ones left out) and pictures, thumbnails and sized copies inside the store, with every
path resolved (symlinks followed) and refused (404) when it leads outside them. A
malformed path (a NUL or control byte, bad percent-encoding or UTF-8, a `..` segment,
too long) is answered 400.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from sitegen.site import is_absolute_url
from sitegen.store import is_companion_name, is_picture_name

MAX_PATH = 2048  # characters of the request's path, encoded
MAX_NAME = 255  # bytes of one segment, decoded (NAME_MAX)
BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class BadPath(ValueError):
    """A request path that cannot name a file: answered 400."""


def is_served_render(name: str) -> bool:
    """A file the preview serves from the store: a picture, a thumbnail, a sized copy."""
    return is_picture_name(name) or is_companion_name(name)


def path_segments(raw: str) -> list[str]:
    """The decoded segments of a request target's path (`.` and empty ones dropped).

    Raises BadPath for a path no file can have: too long, a control byte (NUL included),
    a `%` not followed by two hex digits, bytes that are not UTF-8, a `..` segment
    (encoded or not), a segment longer than a file name can be.
    """
    if len(raw) > MAX_PATH:
        raise BadPath("path too long")
    if CONTROL.search(raw):
        raise BadPath("control character in path")
    path = urlsplit(raw).path
    if not path.startswith("/"):
        raise BadPath("path must start with /")
    if BAD_PERCENT.search(path):
        raise BadPath("bad percent-encoding")
    try:
        # The request line arrives as latin-1: its characters are the bytes sent.
        decoded = unquote_to_bytes(path.encode("latin-1")).decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        raise BadPath("path is not UTF-8") from None
    if CONTROL.search(decoded):
        raise BadPath("control character in path")
    segments = [s for s in decoded.split("/") if s not in ("", ".")]
    if ".." in segments:
        raise BadPath("'..' in path")
    if any(len(s.encode()) > MAX_NAME for s in segments):
        raise BadPath("path segment too long")
    return segments


def inside(root: str, segments: list[str]) -> str | None:
    """The real path of `root`/segments when it stays inside the real `root`, else None."""
    target = os.path.realpath(os.path.join(root, *segments))
    if target == root or target.startswith(root.rstrip(os.sep) + os.sep):
        return target
    return None


class PreviewHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the build folder, and the render store under the site's renders_url."""

    renders_prefix: list[str] | None = None  # e.g. ["renders"]
    renders_dir: str | None = None  # the store's real path
    missing = "\x00"  # translate_path's answer for "not served": no file has this name
    private: tuple[str, ...] = ()  # path prefixes answered without CORS (the studio's own)

    def do_GET(self) -> None:
        if self._check_path():
            super().do_GET()

    def do_HEAD(self) -> None:
        if self._check_path():
            super().do_HEAD()

    def _check_path(self) -> bool:
        try:
            path_segments(self.path)
        except BadPath as exc:
            self.send_error(400, f"Bad request path: {exc}")
            return False
        return True

    def translate_path(self, path: str) -> str:
        """The real path to serve, or `missing` (404) for anything outside the two roots."""
        try:
            segments = path_segments(path)
        except BadPath:
            return self.missing
        prefix = self.renders_prefix
        if (prefix is not None and self.renders_dir is not None
                and segments[:len(prefix)] == prefix):
            target = inside(self.renders_dir, segments[len(prefix):])
            # Only pictures and thumbnails: not the index, the lock or the blobs.
            if target is None or not is_served_render(os.path.basename(target)):
                return self.missing
            return target
        if any(s.startswith(".") for s in segments):
            return self.missing  # the marker and the manifest: not part of the site
        root = os.path.realpath(self.directory)
        target = inside(root, segments)
        if target is None:
            return self.missing
        if urlsplit(path).path.endswith("/"):
            if not os.path.isdir(target):
                return self.missing  # `index.html/` names no file
            # The folder's index.html, which must stay inside as well.
            index = inside(root, [*segments, "index.html"])
            return index if index is not None else self.missing
        return target

    def send_head(self) -> Any:
        path = self.translate_path(self.path)
        if path == self.missing:
            self.send_error(404, "File not found")
            return None
        return super().send_head()

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        self.send_error(404, "No listing")  # a preview shows pages, not folders
        return None

    def end_headers(self) -> None:
        # The site may be embedded in a page of another origin (docs/embed.md): its files
        # and pictures may be read from anywhere, as `publish --cors '*'` allows.
        if self.command in ("GET", "HEAD") and not self.path.startswith(self.private):
            self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # quiet: the CLI prints the address once


class PreviewServer(http.server.ThreadingHTTPServer):
    """A threading server that ignores a browser hanging up mid-transfer."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def renders_prefix(renders_url: str) -> list[str] | None:
    """The path segments under which the preview serves the store, for a relative
    renders_url; None for an absolute one, or an empty one (pictures among the pages)."""
    if is_absolute_url(renders_url):
        return None
    return [s for s in renders_url.split("/") if s not in ("", ".")] or None


def make_handler(base: type[PreviewHandler], build: Path, renders: Path,
                 renders_url: str | None, **attrs: object) -> Callable[..., PreviewHandler]:
    """A handler class for `build`, a relative renders_url mapped to the store folder
    (None: `base` knows its renders_prefix itself)."""
    attrs = {**attrs, "renders_dir": os.path.realpath(renders)}
    if renders_url is not None:
        attrs["renders_prefix"] = renders_prefix(renders_url)
    handler = type("Handler", (base,), attrs)
    return functools.partial(handler, directory=os.path.realpath(build))


def make_server(build: Path, renders: Path, renders_url: str, host: str, port: int
                ) -> PreviewServer:
    """A preview server for `build`; a relative renders_url is mapped to the store folder."""
    return PreviewServer((host, port), make_handler(PreviewHandler, build, renders,
                                                    renders_url))
