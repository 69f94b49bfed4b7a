"""`sitegen serve`: preview the built site locally, with the renders where the site expects them."""

from __future__ import annotations

import functools
import http.server
import posixpath
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sitegen.site import is_absolute_url


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
            if target == self.renders_dir.resolve() or self.renders_dir.resolve() in target.parents:
                return str(target)
            return str(self.renders_dir / "__outside__")
        return super().translate_path(path)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # quiet: the CLI prints the address once


def make_server(build: Path, renders: Path, renders_url: str, host: str, port: int
                ) -> http.server.ThreadingHTTPServer:
    """A preview server for `build`; a relative renders_url is mapped to the store folder."""
    attrs: dict[str, object] = {}
    if not is_absolute_url(renders_url):
        attrs = {"renders_prefix": "/" + renders_url.strip("/") + "/", "renders_dir": renders}
    handler = type("Handler", (PreviewHandler,), attrs)
    return http.server.ThreadingHTTPServer(
        (host, port), functools.partial(handler, directory=str(build)))
