"""A stand-in for a Blender executable, for the `--blender PATH` tests.

`write_standin(path)` writes a shell script that behaves as a Blender executable does where
sitegen can tell: `--version` prints "Blender X.Y.Z" (and build lines); started with
Blender's argument form (`-b --factory-startup ... --python SCRIPT -- ARGS`) it prints a
banner on stdout, then runs SCRIPT with this Python (which has the bpy module), so the real
worker answers. Options make it log each start, print a line that is not JSON after the
worker's first line, or fail at `--version` or at start, as broken installs do.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shlex
import sys
from pathlib import Path

BPY_VERSION = importlib.metadata.version("bpy") if importlib.util.find_spec("bpy") else "5.0.1"
NOISE = "Warning: this stdout line is not JSON"


def write_standin(path: Path, *, version: str = BPY_VERSION, starts: Path | None = None,
                  noise: bool = False, fail: str | None = None) -> Path:
    """Write the stand-in at `path` (executable); returns it.

    `starts`: a file that gets one line per worker start (its arguments). `noise`: a
    non-JSON stdout line after the worker's `ready` line. `fail`: "version" (every call
    prints the banner and exits 1: a Blender that cannot run) or "start" (`--version`
    answers, a worker start prints the banner and exits 1).
    """
    python = shlex.quote(sys.executable)
    log = f"echo \"$*\" >> {shlex.quote(str(starts))}" if starts is not None else ":"
    run = f'{python} "$script" -- "$@"'
    if noise:
        run += f" | sed -u '1a {NOISE}'"  # unbuffered: each line goes on at once
    else:
        run = "exec " + run
    text = f"""#!/bin/sh
# A stand-in for a Blender {version} executable (tests/blender_standin.py).
banner() {{ echo "Blender {version} (hash 0123456789ab built 2025-11-18 00:00:00)"; }}
if [ "$1" = "--version" ]; then
    banner
    {'echo "Error: cannot load libGL.so.1" >&2; exit 1' if fail == "version" else ':'}
    echo "	build date: 2025-11-18"
    exit 0
fi
banner
echo 'Read prefs: "/nonexistent/userpref.blend"'
{'echo "Error: cannot load libGL.so.1" >&2; exit 1' if fail in ("version", "start") else ':'}
case " $* " in
    *" -b --factory-startup "*) ;;
    *) echo "not Blender's argument form: $*" >&2; exit 2 ;;
esac
{log}
script=""
while [ $# -gt 0 ]; do
    case "$1" in
        --python) script="$2"; shift 2 ;;
        --) shift; break ;;
        *) shift ;;
    esac
done
{run}
"""
    path.write_text(text)
    path.chmod(0o755)
    return path
