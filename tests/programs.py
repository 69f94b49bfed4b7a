"""The programs some tests drive for real: Chromium, redis-server, Node.js, Blender's bpy.

`make test` installs them (scripts/system-deps.sh; bpy with the `render` extra), so a
missing one is an error that says how to get it, never a quiet skip. Skipping is asked for
by name (README, "Two commands"): SITEGEN_SKIP_BROWSER=1, SITEGEN_SKIP_FARM=1,
SITEGEN_SKIP_NODE=1, SITEGEN_SKIP_BLENDER=1 skip the tests that need each one.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest


def require(group: str, found: bool, problem: str) -> None:
    """Skip when SITEGEN_SKIP_<GROUP>=1 asks for it, else fail saying `problem` if not found."""
    variable = f"SITEGEN_SKIP_{group.upper()}"
    if os.environ.get(variable) == "1":
        pytest.skip(f"{variable}=1")
    if not found:
        pytest.fail(f"{problem}: `make test` installs it (as root), or set {variable}=1 to "
                    "skip these tests", pytrace=False)


def need_program(group: str, name: str, package: str) -> Path:
    """The path of program `name` (Debian package `package`), for the tests of `group`."""
    path = shutil.which(name)
    require(group, path is not None, f"{name} is not installed (apt-get install {package})")
    assert path is not None
    return Path(path)


def need_chromium() -> Path:
    """Chromium's executable, for Playwright (the browser tests)."""
    return need_program("browser", "chromium", "chromium fonts-dejavu-core")


def need_redis_server() -> Path:
    """redis-server, the render farm's broker (the farm tests)."""
    return need_program("farm", "redis-server", "redis-server")


def need_node() -> Path:
    """Node.js, to run the sketchbook's modules outside a browser."""
    return need_program("node", "node", "nodejs")


def need_bpy() -> None:
    """The bpy module (real Blender renders), installed with sitegen's `render` extra."""
    require("blender", importlib.util.find_spec("bpy") is not None,
            "the bpy module is not installed (pip install -e '.[render]')")


def need_rabbitmq_server() -> Path:
    """rabbitmq-server, the render farm's other broker (the farm tests on AMQP).

    Debian's package puts the real scripts in /usr/lib/rabbitmq/bin (the ones on PATH switch
    to the `rabbitmq` user when run as root); those are returned when present.
    """
    path = need_program("farm", "rabbitmq-server", "rabbitmq-server")
    debian = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
    return debian if debian.is_file() else path
