"""Which Blender runs the workers, and its version, known before any worker starts.

Three kinds: the `bpy` module of this Python (the default), `--blender PATH` naming a
Python interpreter that has `bpy`, or `--blender PATH` naming a Blender executable (which
prints its banner on stdout before the worker's `ready` line). The version (e.g. "5.0.1")
is an input of every picture's fingerprint, so it must be known at plan time: the module's
from its package metadata, a PATH's by asking it once (`PATH --version`; a Blender
executable's answer is cached by path, modification time and size).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sitegen.cache import CheckCache, check_key
from sitegen.errors import SitegenError

VERSION_RE = re.compile(r"\d+\.\d+(?:\.\d+)?")
PROBE_TIMEOUT = 60.0
# What a Python interpreter given as --blender answers: the bpy package's version.
PYTHON_PROBE = ("import importlib.metadata as m, importlib.util as u\n"
                "print('bpy', m.version('bpy') if u.find_spec('bpy') else '-')\n")
# A Blender executable's arguments before the worker script (blender/README.md).
EXECUTABLE_ARGS = ("-b", "--factory-startup", "--disable-autoexec", "--python-exit-code", "1")


def short_version(text: str | None) -> str | None:
    """A Blender version as fingerprints and the index name it: '4.5.15 LTS' -> '4.5.15'."""
    found = VERSION_RE.search(text or "")
    return found.group(0) if found else None


@dataclass(frozen=True)
class Blender:
    """A way to run Blender workers."""

    kind: str  # "module" (bpy in this Python), "python" (PATH has bpy), "executable"
    path: str | None = None  # --blender PATH; None for the module
    version: str | None = None  # "5.0.1"; None: unknown (no bpy module here)
    missing: str | None = None  # why no worker can run here, when none can

    @property
    def shown(self) -> str:
        """How messages name it."""
        return self.path if self.path is not None else f"{sys.executable} (the bpy module)"

    def command(self, script: Path) -> list[str]:
        """The command line that runs `script` (the worker) in this Blender."""
        if self.kind == "executable":
            assert self.path is not None
            return [self.path, *EXECUTABLE_ARGS, "--python", str(script), "--"]
        return [self.path or sys.executable, str(script)]


def find_blender(path: str | None) -> Blender:
    """The Blender that `--blender PATH` names (None: the bpy module), with its version.

    Raises SitegenError when PATH is neither a Blender executable nor a Python with bpy.
    The bpy module missing is not an error here (a host may only feed a farm): `missing`
    says so, and the version is unknown.
    """
    if path is None:
        if importlib.util.find_spec("bpy") is None:
            return Blender("module", missing=f"the bpy module is not installed in "
                           f"{sys.executable} (pip install bpy==5.0.1) and no --blender PATH "
                           "was given")
        try:
            return Blender("module", version=short_version(importlib.metadata.version("bpy")))
        except importlib.metadata.PackageNotFoundError:  # bpy built by hand: no metadata
            return Blender("module")
    full = os.path.abspath(path)  # not resolved: a venv's python links to the base one
    try:
        stat = os.stat(full)
    except OSError as exc:
        raise SitegenError(f"--blender {path}: {exc.strerror or exc}") from None
    if not os.path.isfile(full) or not os.access(full, os.X_OK):
        raise SitegenError(f"--blender {path}: not an executable file")
    cache = CheckCache("blender")
    key = check_key("blender-executable", full, stat.st_mtime_ns, stat.st_size)
    cached = cache.get(key)
    if isinstance(cached, dict) and isinstance(cached.get("version"), str):
        return Blender("executable", full, cached["version"])
    answer = _ask(full, "--version")
    first = next((line for line in answer.stdout.splitlines() if line.strip()), "")
    if answer.returncode == 0 and first.startswith("Python "):
        # An interpreter: not cached, a `pip install` in its venv changes bpy, not PATH.
        probe = _ask(full, "-c", PYTHON_PROBE)
        words = probe.stdout.split()
        if probe.returncode != 0 or len(words) != 2 or words[0] != "bpy":
            raise SitegenError(f"Blender workers could not start: {path}: a Python that cannot "
                               f"tell its bpy version: {_tail(probe)}")
        if words[1] == "-":
            raise SitegenError(f"Blender workers could not start: {path}: a Python without the "
                               "bpy module (pip install bpy==5.0.1 into it)")
        return Blender("python", full, short_version(words[1]))
    found = re.search(r"^Blender (\d+\.\d+(?:\.\d+)?)", answer.stdout, re.MULTILINE)
    if answer.returncode != 0 or found is None:
        raise SitegenError(f"Blender workers could not start: {path}: neither a Blender "
                           "executable nor a Python with bpy: `--version` "
                           + (f"exited with status {answer.returncode}"
                              if answer.returncode else "names no Blender version")
                           + f": {_tail(answer)}")
    cache.put(key, {"version": found.group(1)})
    return Blender("executable", full, found.group(1))


def _ask(path: str, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run([path, *args], capture_output=True, text=True, errors="replace",
                              stdin=subprocess.DEVNULL, timeout=PROBE_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise SitegenError(f"Blender workers could not start: {path} {' '.join(args[:1])} "
                           f"did not answer within {PROBE_TIMEOUT:g} s") from None
    except OSError as exc:
        raise SitegenError(f"Blender workers could not start: {path}: "
                           f"{exc.strerror or exc}") from None


def _tail(result: subprocess.CompletedProcess[str], lines: int = 5) -> str:
    """The last lines a probe printed (stdout, then stderr), on one line."""
    text = [line.strip() for line in (result.stdout + "\n" + result.stderr).splitlines()
            if line.strip()]
    return " | ".join(text[-lines:]) or "(no output)"
