"""`sitegen serve`: preview the built site locally, with the renders where the site expects them."""

from __future__ import annotations

import functools
import http.server
import os
import posixpath
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from sitegen.site import is_absolute_url
from sitegen.store import THUMB_SUFFIX, is_picture_name


def is_picture_or_thumb(name: str) -> bool:
    """A file the preview serves from the store."""
    return is_picture_name(name) or (name.endswith(THUMB_SUFFIX) and not name.startswith("."))


class PreviewHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the build folder, and the render store under the site's renders_url."""

    renders_prefix: str | None = None  # e.g. "/renders/"
    renders_dir: Path | None = None

    def translate_path(self, path: str) -> str:
        clean = posixpath.normpath(unquote(urlsplit(path).path))
        prefix = self.renders_prefix
        if prefix and self.renders_dir is not None and (clean + "/").startswith(prefix):
            rest = clean[len(prefix):].lstrip("/")
            target = (self.renders_dir / rest).resolve()
            # Only pictures and thumbnails: not the index, the lock or the blobs.
            if self.renders_dir.resolve() in target.parents and is_picture_or_thumb(target.name):
                return str(target)
            return str(self.renders_dir / "__not_served__")
        return super().translate_path(path)

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        self.send_error(404, "No listing")  # a preview shows pages, not folders
        return None

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # quiet: the CLI prints the address once


class PreviewServer(http.server.ThreadingHTTPServer):
    """A threading server that ignores a browser hanging up mid-transfer."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def make_server(build: Path, renders: Path, renders_url: str, host: str, port: int
                ) -> PreviewServer:
    """A preview server for `build`; a relative renders_url is mapped to the store folder."""
    attrs: dict[str, object] = {}
    if not is_absolute_url(renders_url):
        attrs = {"renders_prefix": "/" + renders_url.strip("/") + "/", "renders_dir": renders}
    handler = type("Handler", (PreviewHandler,), attrs)
    return PreviewServer((host, port), functools.partial(handler, directory=str(build)))
