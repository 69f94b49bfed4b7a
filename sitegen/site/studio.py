"""`sitegen serve`, the studio: build, watch, reload the open pages, render what they show.

The studio builds the site itself (into a folder of its own, or `--out`), serves it with
`sitegen.site.serve`'s confinement, and injects into every HTML page it serves two
external files, `/_studio/studio.js` and `/_studio/studio.css` (templates/studio/): the
built files are never changed, and `sitegen build` knows nothing of them. The page's
script listens to `/_studio/events` (Server-Sent Events) and tells `/_studio/look` (a
POST) which colouring it shows; docs/studio.md has the endpoints and events.

- Watch: the catalog folder and the templates, with `watchfiles`. A change reloads the
  catalog; valid, the site is rebuilt (write_site writes only what changed) and a `build`
  event names the changed files, so a page reloads only when its own files changed;
  invalid, an `errors` event carries the problems as the CLI prints them, the last good
  site stays served, and the next valid change clears them.
- Render on demand: a look whose colouring lacks pictures (or holds stale ones) queues
  them on warm workers (sitegen.render.ondemand); once one is stored the site is rebuilt
  and a `rendered` event tells the pages waiting for it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import queue
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sitegen.catalog import file_hashes
from sitegen.catalog.load import load_catalog
from sitegen.catalog.models import Catalog
from sitegen.configuration import resolve_parts
from sitegen.errors import CatalogError, SitegenError
from sitegen.package_data import package_path
from sitegen.plan import check_quality_unchanged, plan_renders, wanted_renders
from sitegen.render import Event, PoolSettings
from sitegen.site import TEMPLATES, build_facts, ready_by_model, site_files
from sitegen.site.serve import PreviewHandler, PreviewServer, make_handler, renders_prefix
from sitegen.site.write import write_site
from sitegen.store import RenderStore, open_store

STUDIO_FILES = {"studio.js": "text/javascript; charset=utf-8",
                "studio.css": "text/css; charset=utf-8"}
KEEPALIVE = 15.0  # seconds between SSE comments on an idle stream
MAX_LOOK = 64 * 1024  # bytes of a look's body
WATCH_DEBOUNCE_MS = 50  # watchfiles: changes closer than this are one


@dataclass
class StudioOptions:
    """What `sitegen serve` was asked for."""

    catalog_dir: Path
    renders: str  # a store folder
    quality: str | None = None  # None: the catalog's primary quality
    out: Path | None = None  # None: a temporary folder of the studio's own
    watch: bool = True
    render: bool = True
    settings: PoolSettings = field(default_factory=PoolSettings)
    templates: Path = TEMPLATES


class Studio:
    """The studio's state: the last good catalog and build, the pages listening, the
    renders on demand. `echo` prints a line of progress to the terminal, `warn` a
    problem (the catalog's errors, a failed render)."""

    def __init__(self, options: StudioOptions, echo: Callable[[str], None],
                 warn: Callable[[str], None]) -> None:
        self.options = options
        self.echo = echo
        self.warn = warn
        self.lock = threading.RLock()  # catalog, generation, errors
        self.catalog: Catalog | None = None
        self.hashes: dict[str, str] = {}
        self.quality = ""
        self.errors: list[str] = []  # the catalog's problems, as the CLI prints them
        self.generation = 0  # bumped by every build that changed a file
        self.stopping = threading.Event()
        self.listeners: dict[str, queue.Queue[Event]] = {}
        self.tasks: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._own_out: Path | None = None
        if options.out is None:
            self._own_out = Path(tempfile.mkdtemp(prefix="sitegen-studio-"))
            self.out = self._own_out / "site"
        else:
            self.out = options.out
        if "://" in options.renders:
            raise SitegenError("the studio renders into a store folder, not "
                               f"{options.renders}: pass --renders FOLDER")
        self.ondemand: Any = None  # sitegen.render.ondemand.OnDemand, when rendering
        self.blender_version: str | None = None
        self.render_off = "" if options.render else "rendering is off (--no-render)"
        self.threads: list[threading.Thread] = []

    # -- start and stop -----------------------------------------------------------------

    def start(self) -> None:
        """Build once (an invalid catalog is reported, not raised), then start the builder,
        the watcher and the render workers."""
        self._rebuild("start", [])
        if self.options.render:
            try:
                from sitegen.render.ondemand import OnDemand

                self.ondemand = OnDemand(self.open_store, self.options.settings,
                                         self._render_event)
                self.blender_version = self.ondemand.blender.version
                if self.catalog is not None:
                    self.ondemand.warm_up(self.catalog)
            except SitegenError as exc:
                self.render_off = f"rendering is off: {exc}"
                self.warn(self.render_off)
        self._thread(self._build_loop, "studio-builder")
        if self.options.watch:
            self._thread(self._watch_loop, "studio-watch")

    def _thread(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def close(self) -> None:
        """Stop watching and rendering (workers killed, temporaries swept), close the
        streams, remove the studio's own build folder."""
        self.stopping.set()
        self.tasks.put(("stop", None))
        if self.ondemand is not None:
            self.ondemand.close()
        for thread in self.threads:
            thread.join(timeout=5)
        if self._own_out is not None:
            shutil.rmtree(self._own_out, ignore_errors=True)

    def open_store(self) -> RenderStore:
        return open_store(self.options.renders)

    # -- building -------------------------------------------------------------------------

    def _rebuild(self, reason: str, changed: list[str]) -> list[str]:
        """Write the site (after a `start` or an `edit`, the catalog loaded again first);
        returns the files that changed. An invalid catalog keeps the last good one and its
        site, and is reported to the pages."""
        started = time.perf_counter()
        try:
            last = self.catalog
            loaded = reason != "render" or last is None
            if reason == "render" and last is not None:
                catalog = last  # a new picture: the last good catalog is as it was
            else:
                catalog, _ = load_catalog(self.options.catalog_dir)
            quality = self.options.quality or catalog.primary_quality.id
            if quality not in catalog.qualities:
                raise SitegenError(f"unknown quality {quality!r} (known: "
                                   f"{', '.join(catalog.qualities)})")
            store = self.open_store()
            try:
                ready = ready_by_model(store.stored(quality), quality)
            finally:
                store.close()
            files = site_files(catalog, quality, ready, self.options.templates)
            report = write_site(files, self.out, facts=build_facts(catalog, quality))
        except SitegenError as exc:
            lines = ([str(p) for p in exc.problems] if isinstance(exc, CatalogError)
                     else [str(exc)])
            with self.lock:
                new = lines != self.errors
                self.errors = lines
            if new:
                self.warn("\n".join(lines) + ("\n" + "the last good site stays served"
                                              if self.catalog is not None else ""))
                self.send({"event": "errors", "errors": lines})
            return []
        written = [*report.written, *report.removed]
        with self.lock:
            recovered = loaded and bool(self.errors)
            if loaded:
                self.errors = []
            if catalog is not self.catalog:
                self.hashes = file_hashes(catalog)
            self.catalog, self.quality = catalog, quality
            if written or reason == "start":
                self.generation += 1
            generation = self.generation
        seconds = time.perf_counter() - started
        if recovered:
            self.echo("the catalog is valid again")
            self.send({"event": "errors", "errors": []})
        if reason == "start":
            self.echo(f"built {len(files)} files in {seconds:.2f} s")
        elif reason == "edit" and (written or recovered):
            what = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more"
                                             if len(changed) > 3 else "")
            self.echo(f"{what} changed: rebuilt in {seconds:.2f} s, "
                      f"{len(written)} file(s) changed")
        if written and reason != "start":
            self.send({"event": "build", "generation": generation, "reason": reason,
                       "changed": written})
        return written

    def _build_loop(self) -> None:
        """Rebuild after edits and renders, one at a time, pending tasks taken together."""
        while not self.stopping.is_set():
            tasks = [self.tasks.get()]
            with contextlib.suppress(queue.Empty):
                while True:
                    tasks.append(self.tasks.get_nowait())
            if any(kind == "stop" for kind, _ in tasks):
                return
            edits = sorted({p for kind, paths in tasks if kind == "edit" for p in paths})
            rendered = [event for kind, event in tasks if kind == "rendered"]
            self._rebuild("edit" if edits else "render", edits)
            with self.lock:
                generation = self.generation
            for event in rendered:  # after the build that shows it
                self.send({**event, "generation": generation})

    def _watch_loop(self) -> None:
        import watchfiles

        roots = [self.options.catalog_dir, self.options.templates]
        out = self.out.resolve()
        store = Path(self.options.renders).resolve()

        def wanted(change: watchfiles.Change, path: str) -> bool:
            p = Path(path).resolve()
            return not (p.is_relative_to(out) or p.is_relative_to(store)
                        or p.name.startswith(".") or p.name.endswith("~"))

        for changes in watchfiles.watch(*roots, watch_filter=wanted,
                                        debounce=WATCH_DEBOUNCE_MS, step=20,
                                        stop_event=self.stopping, yield_on_timeout=False,
                                        raise_interrupt=False):
            # An editor's temporary files come and go: the files there now are shown.
            paths = sorted({_shown(Path(p)) for _, p in changes if Path(p).exists()}
                           or {_shown(Path(p)) for _, p in changes})
            self.tasks.put(("edit", paths))

    # -- pages listening ----------------------------------------------------------------

    def listen(self, viewer: str) -> queue.Queue[Event]:
        """A new page's event queue; it starts with `hello` (generation, errors)."""
        events: queue.Queue[Event] = queue.Queue()
        with self.lock:
            self.listeners[viewer] = events
            events.put({"event": "hello", "generation": self.generation,
                        "errors": self.errors, "render": self.render_off or "on"})
        return events

    def leave(self, viewer: str) -> None:
        with self.lock:
            self.listeners.pop(viewer, None)
        if self.ondemand is not None:
            self.ondemand.forget(viewer)

    def send(self, event: Event) -> None:
        with self.lock:
            for events in self.listeners.values():
                events.put(event)

    def _render_event(self, event: Event) -> None:
        """An event of the render workers: to the terminal and the pages; a stored picture
        first rebuilds the site."""
        kind = event["event"]
        if kind == "rendered":
            self.echo(f"rendered {event['address']} in {event.get('seconds') or 0:.1f} s")
            self.tasks.put(("rendered", event))
            return
        if kind == "failed":
            self.warn(f"failed {event['address']}: {event['error']}")
        elif kind == "locked":
            self.echo(f"waiting: {event['message']}")
        elif kind == "worker":
            if "error" in event:
                self.warn(f"a Blender worker could not start: {event['error']}")
            return
        self.send(event)

    # -- looks ----------------------------------------------------------------------------

    def look(self, viewer: str, body: Any) -> dict[str, Any]:
        """A page shows a colouring ({product, kind, parts, view}): queue what it lacks.

        The answer's `state`: `ready` (with the generation whose data shows it), `queued`
        (with the addresses to wait for), `off` (rendering is off: why), `invalid` (the
        catalog has errors) or `error` (message).
        """
        with self.lock:
            catalog, hashes, quality = self.catalog, self.hashes, self.quality
            generation, errors = self.generation, self.errors
        if catalog is None or errors:
            return {"state": "invalid", "errors": errors}
        try:
            product, view, kind, values = _colouring(catalog, body)
            model = catalog.models[product.model]
            wanted = list(wanted_renders(catalog, quality=quality, products=(product.id,),
                                         view=view, colouring=(kind, values)))
            store = self.open_store()
            try:
                check_quality_unchanged(catalog.qualities[quality],
                                        store.quality_settings(quality))
                stored = store.stored(quality)
            finally:
                store.close()
            plan = plan_renders(catalog, wanted, stored, hashes, stale=True,
                                blender=self.blender_version)
        except SitegenError as exc:
            return {"state": "error", "message": str(exc)}
        missing = [job.wanted.address for job in plan.jobs]
        if self.ondemand is None:
            if missing:
                return {"state": "off", "message": self.render_off, "addresses": missing}
            return {"state": "ready", "generation": generation}
        self.ondemand.want(viewer, catalog, plan.jobs)
        if not missing:
            self.ondemand.warm(catalog, quality, model.id)
            return {"state": "ready", "generation": generation}
        return {"state": "queued", "addresses": missing,
                "reasons": {job.wanted.address: job.reason for job in plan.jobs}}


def _colouring(catalog: Catalog, body: Any) -> tuple[Any, str, str, tuple[int, ...]]:
    """(product, view, kind id, values) of a look's body; SitegenError when it names no
    allowed colouring."""
    if not isinstance(body, dict):
        raise SitegenError("a look is a JSON object")
    product = catalog.products.get(str(body.get("product")))
    if product is None:
        raise SitegenError(f"unknown product {body.get('product')!r}")
    views = catalog.models[product.model].views
    view = body.get("view") or views[0]
    if view not in views:
        raise SitegenError(f"unknown view {view!r} of {product.id}")
    parts, kind = body.get("parts"), body.get("kind")
    if not isinstance(parts, dict) or not isinstance(kind, str):
        raise SitegenError("a look names a kind and its parts")
    try:
        finishes = {str(name): int(value) for name, value in parts.items()}
    except (TypeError, ValueError):
        raise SitegenError("a part's finish must be a number") from None
    plan, values = resolve_parts(catalog, product.id, finishes, kind)
    return product, view, plan.kind, values


def _shown(path: Path) -> str:
    """A changed file as the terminal shows it: relative to the current folder if inside."""
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd()))
    return str(path)


# --- HTTP -------------------------------------------------------------------------------

class StudioHandler(PreviewHandler):
    """The preview's handler, with the studio's endpoints and injection."""

    studio: Studio
    private = ("/_studio/",)  # no other origin may read the events or ask for renders

    @property
    def renders_prefix(self) -> list[str] | None:  # type: ignore[override]
        """From the catalog as it is now (site.yaml may change while serving)."""
        catalog = self.studio.catalog
        return renders_prefix(catalog.site.renders_url) if catalog is not None else None

    def do_GET(self) -> None:
        route = self.path.split("?", 1)[0]
        if route == "/_studio/events":
            self._events()
        elif route.startswith("/_studio/"):
            self._studio_file(route.removeprefix("/_studio/"))
        else:
            super().do_GET()

    def do_POST(self) -> None:
        if self.path.split("?", 1)[0] != "/_studio/look":
            self.send_error(404, "File not found")
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_LOOK:
                raise ValueError("bad length")
            body = json.loads(self.rfile.read(length))
            viewer = str(body.get("viewer") or "")
        except (ValueError, AttributeError):
            self.send_error(400, "A look is a JSON object")
            return
        self._json(self.studio.look(viewer, body))

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")  # a reload always gets the new build
        super().end_headers()

    def _json(self, answer: dict[str, Any]) -> None:
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _studio_file(self, name: str) -> None:
        if name not in STUDIO_FILES:
            self.send_error(404, "File not found")
            return
        data = package_path("sitegen.templates", "studio", name).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", STUDIO_FILES[name])
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _events(self) -> None:
        viewer = self.path.partition("viewer=")[2].split("&", 1)[0] or uuid.uuid4().hex
        events = self.studio.listen(viewer)
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.flush()
            quiet_since = time.monotonic()
            while not self.studio.stopping.is_set():
                try:
                    event = events.get(timeout=1.0)  # the stop is seen within a second
                except queue.Empty:
                    if time.monotonic() - quiet_since < KEEPALIVE:
                        continue
                    self.wfile.write(b": keep-alive\n\n")  # a page gone is found out
                else:
                    self.wfile.write(b"data: " + json.dumps(event).encode() + b"\n\n")
                self.wfile.flush()
                quiet_since = time.monotonic()
        except (ConnectionError, OSError):
            pass  # the page went away
        finally:
            self.studio.leave(viewer)
            self.close_connection = True

    def send_head(self) -> Any:
        """Pages get the studio's two files."""
        path = self.translate_path(self.path)
        if path == self.missing or not path.endswith(".html") or not os.path.isfile(path):
            return super().send_head()
        with open(path, "rb") as f:
            return self._page(f.read())

    def _page(self, html: bytes) -> io.BytesIO:
        data = inject(html, self.studio.generation)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        return io.BytesIO(data)


def inject(html: bytes, generation: int) -> bytes:
    """A page with the studio's stylesheet (end of head) and script (end of body)."""
    style = b'<link rel="stylesheet" href="/_studio/studio.css">'
    script = f'<script type="module" src="/_studio/studio.js?generation={generation}">' \
             f"</script>".encode()
    head = html.rfind(b"</head>")
    if head >= 0:
        html = html[:head] + style + html[head:]
    body = html.rfind(b"</body>")
    return html[:body] + script + html[body:] if body >= 0 else html + script


def make_studio_server(studio: Studio, host: str, port: int) -> PreviewServer:
    """The studio's HTTP server: the preview's confinement, the studio's endpoints."""
    handler = make_handler(StudioHandler, studio.out, Path(studio.options.renders), None,
                           studio=studio)
    return PreviewServer((host, port), handler)


@contextlib.contextmanager
def running(studio: Studio) -> Iterator[Studio]:
    """The studio started, and closed however the block ends."""
    try:
        studio.start()
        yield studio
    finally:
        studio.close()

