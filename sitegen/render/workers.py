"""One Blender worker subprocess: started in its own process group, spoken to in JSON lines.

The worker is `blender/worker.py` (shipped as sitegen.blender), run with the bpy module, in
a Python that has bpy, or inside a Blender executable (sitegen.render.blender says which).
Stdout lines that are not answers (a Blender banner) are skipped and kept for messages; a
worker that dies, or does not answer in time, is killed with its whole group (WorkerGone).
A render asked with `"progress": true` also sends progress events before its answer: `ask`
hands them to its `on_progress` (never returns them).
The pool (sitegen.render) and the model check (sitegen.modelcheck) both use it.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from sitegen.errors import SitegenError
from sitegen.package_data import package_path
from sitegen.protocol import WorkerMessage
from sitegen.render.blender import Blender, find_blender, short_version

WORKER_SCRIPT = package_path("sitegen.blender", "worker.py")  # blender/worker.py in the repo

# A worker's answer as parsed: one of sitegen.protocol.WorkerAnswer, by its `event`; the
# caller checks the event before it casts the answer to its TypedDict.
Answer = dict[str, Any]


def worker_command(blender: str | Blender | None) -> list[str]:
    """The command line that starts one worker (`blender`: the path of a Blender executable
    or of a Python with bpy, or what find_blender made of it; None: the bpy module)."""
    if not WORKER_SCRIPT.is_file():
        raise SitegenError(f"the Blender worker is missing: {WORKER_SCRIPT}")
    found = blender if isinstance(blender, Blender) else find_blender(blender)
    return found.command(WORKER_SCRIPT)


class WorkerGone(Exception):
    """The worker died or did not answer in time; it has been killed."""


class WorkerStartError(WorkerGone):
    """The worker ended, or said nothing of use, before its `ready` line; it is killed."""


NOISE_KEPT = 20  # stdout lines that are not answers (a Blender banner), kept for messages


class WorkerProcess:
    """One Blender worker subprocess, spoken to in JSON lines."""

    def __init__(self, command: list[str], log_dir: Path, name: str) -> None:
        self.command = command
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.lines: queue.Queue[bytes] = queue.Queue()
        self.opened: tuple[str, str] | None = None  # (quality, model) loaded
        self.renders = 0
        self.blender: str | None = None  # its version, as the index records it ("5.0.1")
        self.noise: collections.deque[str] = collections.deque(maxlen=NOISE_KEPT)

    def start(self, timeout: float) -> None:
        """Start the worker and wait for its `ready` line; stdout lines before it (a Blender
        executable's banner) are skipped. Raises WorkerStartError when it never comes."""
        self.noise.clear()
        log: IO[bytes] = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        try:
            self.proc = subprocess.Popen(self.command, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=log,
                                         start_new_session=True)
        except OSError as exc:
            raise WorkerStartError(f"{self.command[0]}: {exc.strerror or exc}") from None
        finally:
            log.close()
        self.lines = queue.Queue()
        threading.Thread(target=self._read, args=(self.proc.stdout, self.lines),
                         daemon=True).start()
        self.opened = None
        self.renders = 0
        try:
            ready = self._answer(timeout, until_ready=True)
        except WorkerGone as exc:
            raise WorkerStartError(str(exc)) from None
        self.blender = short_version(ready.get("blender")) or ready.get("blender")

    @staticmethod
    def _read(stream: IO[bytes] | None, lines: queue.Queue[bytes]) -> None:
        assert stream is not None
        for line in stream:
            lines.put(line)
        lines.put(b"")  # EOF

    def _answer(self, timeout: float, *, until_ready: bool = False,
                on_progress: Callable[[Answer], None] | None = None) -> Answer:
        """The next answer: the next stdout line that is a JSON object (with `until_ready`,
        the `ready` event). Other lines are kept in `noise`, never taken for answers.
        Progress events (sitegen.protocol.ProgressAnswer) go to `on_progress`, or are
        dropped; they do not move the deadline, `timeout` after the call."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.kill()
                what = "no ready line" if until_ready else "no answer"
                raise WorkerGone(f"{what} within {timeout:g} s"
                                 + (f": {self.output_tail()}" if until_ready else "")) from None
            if not line:
                code = self.proc.wait() if self.proc else None
                self.kill()
                raise WorkerGone(f"the worker exited (status {code}): {self.output_tail()}")
            try:
                event = json.loads(line)
            except ValueError:
                event = None
            if isinstance(event, dict) and event.get("event") == "progress":
                if on_progress is not None:
                    on_progress(event)
                continue
            if isinstance(event, dict) and (not until_ready or event.get("event") == "ready"):
                return event
            self.noise.append(line.decode(errors="replace").rstrip())

    def ask(self, message: WorkerMessage, timeout: float,
            on_progress: Callable[[Answer], None] | None = None) -> Answer:
        """Send one message and wait for its answer, at most `timeout` seconds in all. The
        progress events a render with `"progress": true` sends before its answer
        (`{"event": "progress", "id", "fraction"}`) are handed to `on_progress` as they
        come, in the reader's order, or dropped when it is None; never returned."""
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(message).encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self.kill()
            raise WorkerGone(f"the worker is gone: {self.log_tail()}") from None
        return self._answer(timeout, on_progress=on_progress)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def interrupt(self) -> None:
        """Kill the worker's process group from another thread: the thread talking to it
        finds it gone (WorkerGone) and reaps it."""
        proc = self.proc
        if proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)

    def kill(self) -> None:
        """Kill the worker's whole process group and reap it."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.proc = None
        self.opened = None

    def stop(self) -> None:
        """Ask the worker to quit; kill it if it does not."""
        if self.proc is None:
            return
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(b'{"op": "quit"}\n')
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(text[-lines:]) or "(empty log)"

    def output_tail(self, lines: int = 5) -> str:
        """The last lines of its stderr log, and of what it printed on stdout that was not
        an answer (a banner), for messages."""
        noise = [line for line in self.noise if line.strip()][-lines:]
        tail = self.log_tail(lines)
        return tail + (f" (stdout: {' | '.join(noise)})" if noise else "")
