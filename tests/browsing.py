"""The browser the page tests drive: Chromium through Playwright, and a tab that records
everything that went wrong in it (console errors, CSP violations, failed loads, dialogs).

Shared by test_browser.py and test_studio.py. Needs Chromium (`make test` installs it):
without it these tests fail; they are skipped only when SITEGEN_SKIP_BROWSER=1 asks for it
(tests/programs.py).
"""

from __future__ import annotations

from typing import Any

from sitefixtures import ARTIFACTS

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
VIEWPORT = {"width": 1280, "height": 1000}

# Recorded in every page before its own scripts run: CSP violations, as events.
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


class Tab:
    """A page in a fresh context, with everything that went wrong in it recorded."""

    def __init__(self, browser: Any, base: str, name: str, *,
                 viewport: dict[str, int] | None = None, scale: float = 1,
                 script: bool = True) -> None:
        self.base = base
        self.name = name
        self.context = browser.new_context(viewport=viewport or VIEWPORT,
                                           device_scale_factor=scale,
                                           java_script_enabled=script)
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.page.add_init_script(WATCH_CSP)
        self.context_script = script
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", self._failed)
        self.page.on("response", self._response)
        self.page.on("dialog", self._dialog)

    def _console(self, message: Any) -> None:
        if message.type in ("error", "warning"):
            self.problems.append(f"console {message.type}: {message.text}")

    def _failed(self, request: Any) -> None:
        failure = request.failure or ""
        if "ERR_ABORTED" not in failure:  # a navigation cancels loads in flight
            self.problems.append(f"request failed: {request.url} {failure}")

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    # -- navigation -------------------------------------------------------------------

    def open(self, path: str, *, sketchbook: bool = True) -> Any:
        self.page.goto(self.base + path)
        if sketchbook:
            self.wait("document.body.dataset.sketchbook === 'ready'")
            # Polled like the rest: the studio may reload the page meanwhile (a render
            # another test asked for ends and the site is rebuilt).
            self.wait("window.sketchbook.ready.then((api) => api === window.sketchbook)")
        return self.page

    def js(self, expression: str, arg: Any = None) -> Any:
        return self.page.evaluate(expression, arg)

    def wait(self, expression: str, arg: Any = None, timeout: float = 10) -> None:
        """Poll until the expression is true. (Playwright's wait_for_function polls with
        eval(), which the pages' CSP rightly refuses.) A page that reloads meanwhile (the
        studio's) is polled again once it is back: an error on the way counts as false."""
        import time

        from playwright.sync_api import Error

        deadline = time.monotonic() + timeout
        last = ""
        while True:
            try:
                if self.page.evaluate(expression, arg):
                    return
            except Error as exc:  # a navigation destroyed the context; not loaded yet
                last = f" (last error: {exc.message.splitlines()[0]})"
            if time.monotonic() > deadline:
                raise AssertionError(f"still false after {timeout} s: {expression} ({arg!r})"
                                     + last)
            self.page.wait_for_timeout(20)

    def selection(self) -> dict[str, Any]:
        result: dict[str, Any] = self.js("sketchbook.selection()")
        return result

    def hash(self) -> str:
        result: str = self.js("location.hash")
        return result

    def swatch(self, part: str, value: int) -> Any:
        return self.page.locator(
            f'.sb-palettes .sb-part[data-part="{part}"] button[data-value="{value}"]')

    def click_swatch(self, part: str, value: int) -> None:
        self.swatch(part, value).click()
        self.wait(
            "([p, v]) => sketchbook.selection().parts[p] === v", arg=[part, value])

    def palette(self, part: str) -> list[int]:
        """The values the part's palette offers (swatches and Remove), in page order."""
        values: list[int] = self.js(
            """(part) => [...document.querySelectorAll(
                   `.sb-palettes .sb-part[data-part="${part}"] button[data-value]`)]
                 .map((b) => Number(b.dataset.value))""", part)
        return values

    def shown_image(self) -> str | None:
        src: str | None = self.js("document.querySelector('.sb-figure .sb-img').src || null")
        return src

    def wait_images(self) -> None:
        """Scroll through the page so lazy pictures load, then wait for every rendered
        <img> to finish (loaded or failed)."""
        self.page.wait_for_load_state("load")
        self.js("window.scrollTo(0, document.body.scrollHeight)")
        self.wait(
            """() => [...document.images].filter((i) => i.getClientRects().length && i.src)
                 .every((i) => i.complete)""")
        self.js("window.scrollTo(0, 0)")

    def broken_images(self) -> list[str]:
        broken: list[str] = self.js(
            """() => [...document.images].filter((i) => i.getClientRects().length)
                 .filter((i) => !i.src || !i.complete || i.naturalWidth === 0)
                 .map((i) => i.getAttribute('src') || '(no src) ' + i.className)""")
        return broken

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def assert_clean(self) -> None:
        csp: list[str] = []
        if self.context_script:
            from playwright.sync_api import Error

            for attempt in range(3):  # a page that reloads itself (the studio's): again
                try:
                    csp = self.js("window.__csp || []")
                    break
                except Error:
                    if attempt == 2:
                        raise
                    self.page.wait_for_load_state("load")
        assert csp == [], f"CSP violations: {csp}"
        assert self.problems == [], "\n".join(self.problems)
        assert self.dialogs == [], f"dialogs opened: {self.dialogs}"

    def close(self) -> None:
        self.context.close()
