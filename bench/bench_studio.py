"""Studio benchmark (issue 12): how long `sitegen serve` keeps a customer's page waiting.

A real `sitegen serve` (a subprocess: `--quality preview --workers 1`, real Blender
workers) on a copy of the demo catalog, into an empty store (every colouring missing) and
an --out folder of its own, driven by headless Chromium through Playwright. One studio
session, in this order:

- `first_open`: the product page opened right after the studio said `serving`: its
  starting colouring is rendered (the model check and the worker's first `open` included)
  and the page reloads itself onto it.
- `save_to_page`: a finish's name rewritten in the catalog copy's YAML; from the file's
  write until the page (which reloads itself) shows the new name. EDITS times.
- `first_click`: a warm-up `window.sketchbook.select(...)` of a missing colouring.
- `click_to_picture`: CLICKS more missing colourings, one at a time with the studio idle:
  from the `select` call until the page shows that picture ready and loaded; against
  `render_s`, the worker's own `seconds` for it (the SSE `rendered` event's).
- `quick_clicks`: QUICK missing colourings selected QUICK_INTERVAL_S apart; from the last
  `select` until the last colouring shows, against that colouring's `render_s`.

Times are taken in this process (`time.perf_counter`): the studio's Server-Sent Events
(`/_studio/events`, read in a thread) and its stdout lines are stamped as they arrive,
and the page is polled every POLL_S, so each figure is good to about 20 ms.

    .venv/bin/python bench/run.py --only studio
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `sitegen` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sitegen.catalog.load import load_catalog  # noqa: E402
from sitegen.expand import expand_product, iter_colourings  # noqa: E402
from sitegen.plan import wanted_renders  # noqa: E402

SECTION = "studio"
ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "catalog"
CHROMIUM = "/usr/bin/chromium"
# tests/browsing.py's CHROMIUM_ARGS and VIEWPORT
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
VIEWPORT = {"width": 1280, "height": 1000}
PRODUCT = "kino-stool"
PAGE = f"products/{PRODUCT}/"
QUALITY = "preview"  # the demo's full-picture quality: one JPEG per colouring
FINISH_FILE = "materials/wood.yaml"  # under the catalog copy
FINISH_NAME = "Walnut, natural oil"  # finish 1140: the kino stool's frame and top offer it
EDIT_NAMES = ("Walnut, oiled", "Walnut, waxed")  # alternated, one per edit
EDITS = 5
CLICKS = 3
QUICK = 10
QUICK_INTERVAL_S = 0.1
POLL_S = 0.01
START_TIMEOUT_S = 60  # `sitegen serve` until it says `serving`
PICTURE_TIMEOUT_S = 120  # one colouring until it shows (renders are ~3 s on 2 cores)
EDIT_TIMEOUT_S = 20
AIM_SAVE_S = 1.0
AIM_OVERHEAD_S = 0.5

# The page shows this picture, ready and loaded (the page may be reloading: then false).
SHOWN_JS = """(address) => {
  try {
    const img = document.querySelector('.sb-figure .sb-img');
    return window.sketchbook.isReady() && !!img && img.src.includes(address)
      && img.complete && img.naturalWidth > 0;
  } catch (e) { return false; }
}"""
SELECT_JS = """([kind, parts, view]) => {
  window.sketchbook.select(parts, { kind, view });
  return window.sketchbook.imageUrl();
}"""


class StudioProcess:
    """`sitegen serve` as a subprocess: its stdout lines and its events, time-stamped."""

    def __init__(self, catalog: Path, store: Path, out: Path, cwd: Path) -> None:
        self.lines: list[tuple[float, str]] = []
        self.events: list[tuple[float, dict[str, Any]]] = []
        self.lock = threading.Lock()
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sitegen", "--catalog", str(catalog), "serve",
             "--renders", str(store), "--out", str(out), "--quality", QUALITY,
             "--port", "0", "--workers", "1"],
            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        threading.Thread(target=self._read_stdout, daemon=True, name="studio-out").start()
        self.url = ""
        self.serving_s = 0.0

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.lock:
                self.lines.append((time.perf_counter(), line.rstrip("\n")))

    def _read_events(self, response: Any) -> None:
        try:
            for raw in response:
                line = raw.decode("utf-8", "replace").strip()
                if line.startswith("data: "):
                    event = json.loads(line[6:])
                    with self.lock:
                        self.events.append((time.perf_counter(), event))
        except (OSError, ValueError):
            pass  # the studio stopped

    def output(self, last: int = 30) -> str:
        with self.lock:
            return "\n".join(line for _, line in self.lines[-last:])

    def fail(self, message: str) -> RuntimeError:
        return RuntimeError(f"{message}\n--- sitegen serve, last lines:\n{self.output()}")

    def wait_serving(self) -> None:
        deadline = time.perf_counter() + START_TIMEOUT_S
        while True:
            with self.lock:
                line = next((li for _, li in self.lines if li.startswith("serving ")), None)
            if line is not None:
                break
            if self.proc.poll() is not None:
                raise self.fail(f"sitegen serve exited ({self.proc.returncode}) before serving")
            if time.perf_counter() > deadline:
                raise self.fail(f"sitegen serve not serving after {START_TIMEOUT_S} s")
            time.sleep(POLL_S)
        self.serving_s = time.perf_counter() - self.started
        self.url = line.split(" at ", 1)[1].split(" ", 1)[0]
        response = urllib.request.urlopen(self.url + "_studio/events?viewer=bench-listener",
                                          timeout=60)
        threading.Thread(target=self._read_events, args=(response,), daemon=True,
                         name="studio-events").start()
        self.wait_for(lambda: self.event_since(0, "hello"), 10, "no hello event")

    def stop(self) -> int | None:
        """SIGINT (Ctrl-C), then wait; killed if it does not stop in 30 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode

    # -- what happened when ---------------------------------------------------------------

    def event_since(self, since: float, kind: str, address: str | None = None
                    ) -> tuple[float, dict[str, Any]] | None:
        """The first event of this kind (for this address) stamped at or after `since`."""
        with self.lock:
            for t, event in self.events:
                if t >= since and event.get("event") == kind and (
                        address is None or event.get("address") == address):
                    return t, event
        return None

    def events_since(self, since: float, kind: str) -> list[dict[str, Any]]:
        with self.lock:
            return [e for t, e in self.events if t >= since and e.get("event") == kind]

    def line_since(self, since: float, prefix: str, contains: str = ""
                   ) -> tuple[float, str] | None:
        """The first stdout line stamped at or after `since` that starts with `prefix`
        (and holds `contains`)."""
        with self.lock:
            return next(((t, li) for t, li in self.lines
                         if t >= since and li.startswith(prefix) and contains in li), None)

    def busy(self) -> list[str]:
        """Addresses queued or rendering now (by the events seen so far)."""
        state: dict[str, str] = {}
        with self.lock:
            for _, event in self.events:
                if "address" in event:
                    state[event["address"]] = event["event"]
        return [a for a, s in state.items() if s in ("queued", "rendering", "progress")]

    def wait_for(self, found: Callable[[], Any], timeout: float, what: str) -> Any:
        deadline = time.perf_counter() + timeout
        while True:
            value = found()
            if value:
                return value
            if self.proc.poll() is not None:
                raise self.fail(f"{what}: sitegen serve exited ({self.proc.returncode})")
            if time.perf_counter() > deadline:
                raise self.fail(f"{what} (after {timeout} s)")
            time.sleep(POLL_S)


def _poll(page: Any, studio: StudioProcess, expression: str, arg: Any, timeout: float,
          what: str) -> float:
    """Poll the page until the expression is true; the time it was seen true. (A page that
    is reloading is polled again once back: an error on the way counts as false.)"""
    from playwright.sync_api import Error

    deadline = time.perf_counter() + timeout
    last = ""
    while True:
        try:
            if page.evaluate(expression, arg):
                return time.perf_counter()
        except Error as exc:
            last = exc.message.splitlines()[0] if exc.message else str(exc)
        if studio.proc.poll() is not None:
            raise studio.fail(f"{what}: sitegen serve exited ({studio.proc.returncode})")
        if time.perf_counter() > deadline:
            raise studio.fail(f"{what}: not after {timeout} s"
                              + (f" (last page error: {last})" if last else ""))
        time.sleep(POLL_S)


def _settle(page: Any, studio: StudioProcess, address: str) -> None:
    """Wait until nothing is queued or rendering and the page shows `address`; then let
    the page's look (every 100 ms) go out."""
    studio.wait_for(lambda: not studio.busy(), PICTURE_TIMEOUT_S,
                    "the studio still rendering")
    _poll(page, studio, SHOWN_JS, address, PICTURE_TIMEOUT_S, f"the page not showing {address}")
    time.sleep(0.3)


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def _breakdown(studio: StudioProcess, address: str, t0: float, shown: float
               ) -> dict[str, Any]:
    """Where the time from t0 (the select call) to `shown` went, for one picture."""
    queued = studio.event_since(t0, "queued", address)
    rendering = studio.event_since(t0, "rendering", address)
    sampling = studio.event_since(t0, "progress", address)
    rendered = studio.event_since(t0, "rendered", address)
    line = studio.line_since(t0, f"rendered {address} ")
    if rendering is None or rendered is None or line is None:
        raise studio.fail(f"{address}: shown without its rendering/rendered events")
    seconds = float(rendered[1].get("seconds") or 0)
    worker = line[0] - rendering[0]  # render started .. stored (the stdout line)
    return {
        "address": address,
        "click_s": _round(shown - t0),
        "render_s": _round(seconds),
        "overhead_s": _round(shown - t0 - seconds),
        "breakdown": {
            # the page's look (it reads the selection every 100 ms) and the POST
            "to_queued_s": _round(queued[0] - t0) if queued else None,
            # queued .. the worker took it (waits for a render in progress)
            "queued_to_rendering_s": _round(rendering[0] - (queued or rendering)[0]),
            # the worker's open (when needed) and scene sync, until sampling starts
            "rendering_to_sampling_s": _round(sampling[0] - rendering[0]) if sampling else None,
            # rendering .. stored and indexed (stdout line), less the worker's seconds:
            # open round trip, IPC, thumbnail, index
            "worker_outside_render_s": _round(worker - seconds),
            # stdout line .. SSE `rendered` (sent after the rebuild that shows it)
            "rebuild_s": _round(rendered[0] - line[0]),
            # SSE `rendered` .. shown: the page's reload, data, scripts, picture
            "reload_s": _round(shown - rendered[0]),
        },
    }


def _timing(values: list[float]) -> dict[str, Any]:
    return {"median_s": _round(statistics.median(values)), "min_s": _round(min(values)),
            "max_s": _round(max(values)), "runs": len(values)}


def _colourings(catalog_dir: Path) -> list[tuple[str, dict[str, int], str, str]]:
    """(kind, parts, view, address) of every colouring of PRODUCT at QUALITY, kinds and
    views interleaved (so that consecutive clicks change kind or view too)."""
    catalog, _ = load_catalog(catalog_dir)
    product = catalog.products[PRODUCT]
    address = {(w.view, w.key): w.address
               for w in wanted_renders(catalog, quality=QUALITY, products=[PRODUCT])}
    views = catalog.models[product.model].views
    lists = []
    for plan in expand_product(catalog, product):
        for view in views:
            lists.append([(plan.kind, dict(zip(plan.part_names, values, strict=True)), view,
                           address[(view, plan.key(values))])
                          for values in iter_colourings(plan)])
    out = []
    for n in range(max(len(li) for li in lists)):
        out.extend(li[n] for li in lists if n < len(li))
    return out


def _click(page: Any, studio: StudioProcess, colouring: tuple[str, dict[str, int], str, str]
           ) -> float:
    kind, parts, view, address = colouring
    t0 = time.perf_counter()
    url = page.evaluate(SELECT_JS, [kind, parts, view])
    if address not in url:
        raise studio.fail(f"select({parts}, {kind}, {view}) shows {url}, not {address}")
    return t0


def _save_to_page(page: Any, studio: StudioProcess, catalog: Path) -> dict[str, Any]:
    path = catalog / FINISH_FILE
    text = path.read_text(encoding="utf-8")
    if text.count(f"name: {FINISH_NAME}\n") != 1:
        raise RuntimeError(f"{path}: no single 'name: {FINISH_NAME}' line to edit")
    _poll(page, studio, "(name) => document.body.textContent.includes(name)", FINISH_NAME,
          EDIT_TIMEOUT_S, f"the page does not show {FINISH_NAME!r}")
    before = len(studio.events_since(0, "rendering"))
    runs, current = [], FINISH_NAME
    for n in range(EDITS):
        name = EDIT_NAMES[n % len(EDIT_NAMES)]
        page.evaluate("() => { window.__bench_before_edit = true; }")
        text = text.replace(f"name: {current}\n", f"name: {name}\n")
        t0 = time.perf_counter()
        path.write_text(text, encoding="utf-8")
        shown = _poll(page, studio, "(name) => document.body.textContent.includes(name)",
                      name, EDIT_TIMEOUT_S, f"edit {n + 1}: the page does not show {name!r}")
        build = studio.event_since(t0, "build")
        said = studio.line_since(t0, "", "rebuilt in")
        rebuilt = said[1] if said else ""
        reloaded = page.evaluate("() => window.__bench_before_edit === undefined")
        runs.append({
            "name": name, "save_to_page_s": _round(shown - t0),
            # write .. SSE `build` (the watcher's debounce, reload of the catalog, build)
            "write_to_build_s": _round(build[0] - t0) if build else None,
            # the studio's own "rebuilt in X s"
            "rebuild_reported_s": (float(rebuilt.split("rebuilt in ")[1].split(" s")[0])
                                   if rebuilt else None),
            # SSE `build` .. the new name on screen: the page's reload
            "build_to_page_s": _round(shown - build[0]) if build else None,
            "page_reloaded": bool(reloaded),
            "changed": build[1].get("changed") if build else None,
        })
        current = name
        _poll(page, studio, "() => document.body.dataset.sketchbook === 'ready'", None,
              EDIT_TIMEOUT_S, "the page not ready after an edit")
        time.sleep(0.3)  # the next edit on a settled page
    times = [r["save_to_page_s"] for r in runs]
    return {
        **_timing(times), "runs_detail": runs,
        "write_to_build_median_s": _round(statistics.median(
            r["write_to_build_s"] for r in runs if r["write_to_build_s"] is not None)),
        "build_to_page_median_s": _round(statistics.median(
            r["build_to_page_s"] for r in runs if r["build_to_page_s"] is not None)),
        "renders_started": len(studio.events_since(0, "rendering")) - before,
        "aim_s": AIM_SAVE_S, "aim_met": statistics.median(times) <= AIM_SAVE_S,
        "aim_met_max": max(times) <= AIM_SAVE_S,
    }


def _quick_clicks(page: Any, studio: StudioProcess,
                  colourings: list[tuple[str, dict[str, int], str, str]]) -> dict[str, Any]:
    start = time.perf_counter()
    stamps = []
    for n, colouring in enumerate(colourings):
        delay = start + n * QUICK_INTERVAL_S - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        stamps.append(_click(page, studio, colouring))
    last_address = colourings[-1][3]
    t_last = stamps[-1]
    shown = _poll(page, studio, SHOWN_JS, last_address, PICTURE_TIMEOUT_S,
                  f"the last quick click's {last_address} not shown")
    studio.wait_for(lambda: not studio.busy(), PICTURE_TIMEOUT_S, "the studio still rendering")
    last = _breakdown(studio, last_address, t_last, shown)
    addresses = [c[3] for c in colourings]
    rendered = [e["address"] for e in studio.events_since(start, "rendered")
                if e["address"] in addresses]
    looked = {e["address"] for e in studio.events_since(start, "queued")
              if e["address"] in addresses}
    dropped = {e["address"] for e in studio.events_since(start, "dropped")
               if e["address"] in addresses}
    last_rendering = studio.event_since(t_last, "rendering", last_address)
    render_s = last["render_s"] or 0.0
    took = shown - t_last
    return {
        "clicks": len(colourings), "interval_s": QUICK_INTERVAL_S,
        "clicks_spread_s": _round(t_last - stamps[0]),
        "last_click_to_picture_s": _round(took), "render_s": render_s,
        "over_one_render_s": _round(took - render_s),
        # last click .. its render started: the page's look, the burst's pause (the
        # studio's HOLD), a render nobody wants stopped
        "waited_to_start_s": _round(last_rendering[0] - t_last)
        if last_rendering else None,
        "last": last,
        "looked": len(looked), "rendered": len(rendered), "rendered_addresses": rendered,
        "dropped": len(dropped),
        "aim_s": _round(render_s + AIM_OVERHEAD_S), "aim_met": took <= render_s + AIM_OVERHEAD_S,
    }


def bench_studio() -> dict[str, Any]:
    import shutil

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="sitegen-bench-studio-") as name:
        tmp = Path(name)
        catalog = tmp / "catalog"
        shutil.copytree(CATALOG, catalog, ignore=shutil.ignore_patterns("*.blend1"))
        colourings = _colourings(catalog)
        if len(colourings) < 2 + CLICKS + QUICK:
            raise RuntimeError(f"{PRODUCT}: {len(colourings)} colourings, "
                               f"{2 + CLICKS + QUICK} needed")
        figures: dict[str, Any] = {"product": PRODUCT, "quality": QUALITY, "workers": 1,
                                   "colourings_available": len(colourings)}
        studio = StudioProcess(catalog, tmp / "renders", tmp / "out", tmp)
        problems: list[str] = []
        try:
            studio.wait_serving()
            figures["serving_s"] = _round(studio.serving_s)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    context = browser.new_context(viewport=VIEWPORT)
                    context.set_default_timeout(PICTURE_TIMEOUT_S * 1000)
                    page = context.new_page()
                    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
                    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                            if m.type in ("error", "warning") else None)
                    figures.update(_session(page, studio, catalog, colourings))
                finally:
                    browser.close()
        finally:
            code = studio.stop()
            output = studio.output(last=10_000)
        figures["page_problems"] = problems[:20]
        figures["studio_exit_code"] = code
        figures["studio_stopped_cleanly"] = code == 0 and "Traceback" not in output
        figures["renders_total"] = sum(1 for li in output.splitlines()
                                       if li.startswith("rendered "))
    return figures


def _session(page: Any, studio: StudioProcess, catalog: Path,
             colourings: list[tuple[str, dict[str, int], str, str]]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    # The page's starting colouring: missing, so rendered as soon as the page looks.
    t0 = time.perf_counter()
    page.goto(studio.url + PAGE)
    _poll(page, studio, "() => window.sketchbook && document.body.dataset.sketchbook "
          "=== 'ready'", None, 30, "the product page not ready")
    url = page.evaluate("() => window.sketchbook.imageUrl()")
    start = next((c for c in colourings if c[3] in url), None)
    if start is None:
        raise studio.fail(f"the page starts on {url}, not a colouring of {PRODUCT}")
    shown = _poll(page, studio, SHOWN_JS, start[3], PICTURE_TIMEOUT_S,
                  f"the page's first picture {start[3]} not shown")
    first = _breakdown(studio, start[3], t0, shown)
    first["open_to_picture_s"] = first.pop("click_s")
    first["after_serving_s"] = _round(t0 - studio.started - studio.serving_s)
    figures["first_open"] = first
    _settle(page, studio, start[3])
    todo = [c for c in colourings if c is not start]

    figures["save_to_page"] = _save_to_page(page, studio, catalog)
    _settle(page, studio, start[3])

    def one_click(colouring: tuple[str, dict[str, int], str, str]) -> dict[str, Any]:
        t0 = _click(page, studio, colouring)
        shown = _poll(page, studio, SHOWN_JS, colouring[3], PICTURE_TIMEOUT_S,
                      f"clicked {colouring[3]}: not shown")
        result = _breakdown(studio, colouring[3], t0, shown)
        _settle(page, studio, colouring[3])
        return result

    figures["first_click"] = one_click(todo.pop(0))
    runs = [one_click(todo.pop(0)) for _ in range(CLICKS)]
    overheads = [r["overhead_s"] for r in runs]
    figures["click_to_picture"] = {
        "runs_detail": runs,
        "click": _timing([r["click_s"] for r in runs]),
        "render": _timing([r["render_s"] for r in runs]),
        "overhead": _timing(overheads),
        "breakdown_median": {k: _round(statistics.median(
            r["breakdown"][k] for r in runs if r["breakdown"][k] is not None))
            for k in runs[0]["breakdown"]},
        "aim_overhead_s": AIM_OVERHEAD_S,
        "aim_met": statistics.median(overheads) <= AIM_OVERHEAD_S,
        "aim_met_max": max(overheads) <= AIM_OVERHEAD_S,
    }
    figures["quick_clicks"] = _quick_clicks(page, studio, todo[:QUICK])
    return figures


BENCHMARKS = {"studio": bench_studio}


def summary(name: str, r: dict[str, Any]) -> list[str]:
    f, s, c, q = r["first_open"], r["save_to_page"], r["click_to_picture"], r["quick_clicks"]
    fc = r["first_click"]
    b = c["breakdown_median"]
    lines = [
        f"{r['product']} at {r['quality']}, {r['workers']} worker; serving after "
        f"{r['serving_s']} s",
        f"first open: page to picture {f['open_to_picture_s']} s (render {f['render_s']} s, "
        f"to sampling {f['breakdown']['rendering_to_sampling_s']} s: check, open, sync)",
        f"save-to-page: median {s['median_s']} s, max {s['max_s']} s over {s['runs']} edits "
        f"(write->build {s['write_to_build_median_s']} s, build->page "
        f"{s['build_to_page_median_s']} s; aim <= {s['aim_s']} s: "
        f"{'met' if s['aim_met'] else 'NOT met'})",
        f"first click: {fc['click_s']} s, render {fc['render_s']} s, overhead "
        f"{fc['overhead_s']} s",
    ]
    for n, run in enumerate(c["runs_detail"], 1):
        lines.append(f"click {n}: {run['click_s']} s, render {run['render_s']} s, overhead "
                     f"{run['overhead_s']} s")
    lines.append(
        f"click overhead median {c['overhead']['median_s']} s, max {c['overhead']['max_s']} s "
        f"(aim <= {c['aim_overhead_s']} s: {'met' if c['aim_met'] else 'NOT met'}); medians: "
        f"look {b['to_queued_s']}, to sampling {b['rendering_to_sampling_s']}, worker outside "
        f"render {b['worker_outside_render_s']}, rebuild {b['rebuild_s']}, reload "
        f"{b['reload_s']} s")
    lines.append(
        f"{q['clicks']} quick clicks {q['interval_s']} s apart: last click to picture "
        f"{q['last_click_to_picture_s']} s vs one render {q['render_s']} s (waited "
        f"{q['waited_to_start_s']} s for its render to start; aim <= "
        f"{q['aim_s']} s: {'met' if q['aim_met'] else 'NOT met'}); looked at {q['looked']}, "
        f"rendered {q['rendered']}, dropped {q['dropped']}")
    if r["page_problems"]:
        lines.append(f"page problems: {len(r['page_problems'])}: {r['page_problems'][0]}")
    if not r["studio_stopped_cleanly"]:
        lines.append(f"the studio did not stop cleanly (exit {r['studio_exit_code']})")
    return lines


if __name__ == "__main__":
    result = bench_studio()
    print(json.dumps(result, indent=2))
    for text in summary("studio", result):
        print(text)
