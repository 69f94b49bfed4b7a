"""The farm losing a worker machine: cut-to-finish time on RabbitMQ and Redis (issue 14).

The machine-loss test's run (tests/netns.py, the same harness): workers A (in its own
network namespace) and B, the test catalog's 14 pictures; A's link cut once it has stored a
picture of its chunk. Per broker, the same run with no loss first, as the baseline. Needs
root (network namespaces) and the bpy module.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[1] / "tests"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))
if str(TESTS.parent) not in sys.path:
    sys.path.insert(0, str(TESTS.parent))

SECTION = "farm"


def bench_loss(kind: str) -> dict[str, Any]:
    """One run without loss and one with A's link cut, on a fresh broker of `kind`."""
    from blender_scenes import build_scenes
    from netns import (
        HEARTBEAT,
        RESTORE_SWEEP,
        VISIBILITY_TIMEOUT,
        isolated_link,
        loss_project,
        machine_loss,
    )

    with tempfile.TemporaryDirectory(prefix="bench-farm-") as tmp:
        root = Path(tmp)
        scenes = build_scenes(root / "scenes")
        runs = {}
        for name, cut in (("no_loss", False), ("loss", True)):
            with isolated_link() as link:
                out = machine_loss(loss_project(root / name, scenes), kind, link, cut=cut)
            if out.code != 0:
                raise RuntimeError(f"{kind} {name}: {out.describe()}")
            runs[name] = out
    loss, base = runs["loss"], runs["no_loss"]
    assert loss.cut_s is not None and loss.cut_to_finish_s is not None
    return {
        "broker": kind,
        "setting": {"heartbeat_s": HEARTBEAT} if kind == "rabbitmq" else {
            "visibility_timeout_s": VISIBILITY_TIMEOUT, "restore_sweep_s": RESTORE_SWEEP},
        "pictures": 14,
        "no_loss_total_s": round(base.total_s, 2),
        "no_loss_rest_after_cut_point_s": round(base.total_s - loss.cut_s, 2),
        "loss_total_s": round(loss.total_s, 2),
        "cut_at_s": round(loss.cut_s, 2),
        "cut_to_finish_s": round(loss.cut_to_finish_s, 2),
        "extra_s": round(loss.total_s - base.total_s, 2),
        "back_after_restore_s": round(loss.back_after_restore_s or 0, 2),
        "second_run_renders_nothing": loss.second_run.endswith("render nothing\n"),
    }


BENCHMARKS = {"rabbitmq": lambda: bench_loss("rabbitmq"), "redis": lambda: bench_loss("redis")}


def summary(name: str, figures: dict[str, Any]) -> list[str]:
    return [f"no loss: {figures['no_loss_total_s']} s; A cut at {figures['cut_at_s']} s, "
            f"finished {figures['cut_to_finish_s']} s after the cut "
            f"(total {figures['loss_total_s']} s, +{figures['extra_s']} s); "
            f"{figures['setting']}",
            f"A back {figures['back_after_restore_s']} s after the link; rerun renders "
            f"nothing: {figures['second_run_renders_nothing']}"]
