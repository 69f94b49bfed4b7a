"""The terminal side of the commands: tables, progress bars fed by a stage's events, and
SIGTERM taken as Ctrl-C."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import click


def print_table(rows: Sequence[Sequence[str]]) -> None:
    """Print rows in columns as wide as their widest cell (the first row is the header)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


class Progress:
    """A progress bar that a stage's events move (rendering, verifying, uploading).

    One step per picture rendered or failed and per comparison; an upload moves it by its
    bytes. A failure, or a worker killed, is written above the bar; a verification's plan
    sets the total, a model refused takes its pictures off it.
    """

    def __init__(self, total: int, *, unit: str, desc: str | None = None,
                 in_bytes: bool = False) -> None:
        from tqdm import tqdm

        scale: dict[str, Any] = ({"unit_scale": True, "unit_divisor": 1024} if in_bytes
                                 else {})
        self.bar = tqdm(total=total, unit=unit, dynamic_ncols=True, desc=desc, **scale)

    def on_event(self, event: Mapping[str, Any]) -> None:
        """Move the bar by one event of render_jobs, Farm.render, run_verification or
        apply_plan."""
        bar, kind = self.bar, event["event"]
        if kind == "plan" and "pictures" in event:  # renders, then one comparison per picture
            bar.total = event["render"] + event["pictures"]
            bar.refresh()
        elif kind in ("rendered", "failed", "compared"):
            if kind == "compared":
                bar.set_description("compare")
            bar.update(1)
            if kind == "failed":
                bar.write(f"failed: {event['address']}: {event['error']}")
        elif kind == "worker" and event["state"] == "killed":
            bar.write(f"worker killed ({event['error']}); retrying {event['address']}")
        elif kind == "broker" and event["state"] == "lost":
            bar.write(f"lost the farm's broker ({event['error']}); waiting up to "
                      f"{event['wait']:.0f} s for it")
        elif kind == "broker" and event["state"] == "back":
            bar.write(f"the farm's broker is back: {event['pictures']} picture(s) not yet "
                      f"back sent again in {event['chunks']} chunk(s)")
        elif kind == "refused":  # its pictures will not come
            bar.total -= event["pictures"]
            bar.refresh()
        elif kind == "upload":
            bar.update(event["bytes"])

    def close(self) -> None:
        """Take the bar off the terminal (closing twice is harmless)."""
        self.bar.close()


def interrupt_on_sigterm() -> None:
    """Make SIGTERM stop a long command as Ctrl-C does (what finished is kept, and said)."""
    import signal

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
