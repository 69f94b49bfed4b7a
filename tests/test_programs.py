"""The programs the tests drive, on a fresh machine: scripts/system-deps.sh installs them
(as root) or says in one line what to install; a test whose program is missing fails
(tests/programs.py), unless SITEGEN_SKIP_<GROUP>=1 asked to skip it.

The script runs with a PATH of stand-ins: `id` says who runs it, `apt-get` records its
arguments and "installs" a package (its program on the PATH, its name for `dpkg-query`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT
from programs import need_program, require

SCRIPT = ROOT / "scripts" / "system-deps.sh"
PROGRAMS = {"chromium": "chromium", "redis-server": "redis-server", "nodejs": "node"}
SKIP_ALL = {"SITEGEN_SKIP_BROWSER": "1", "SITEGEN_SKIP_FARM": "1", "SITEGEN_SKIP_NODE": "1"}


def stand_in(path: Path, script: str) -> None:
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)


def machine(tmp_path: Path, uid: int) -> Path:
    """A bin folder with no Chromium, Redis or Node; `id -u` prints `uid`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "grep").symlink_to(shutil.which("grep") or "/bin/grep")
    stand_in(bin_dir / "id", f"echo {uid}\n")
    packages = tmp_path / "packages"
    packages.mkdir()
    stand_in(bin_dir / "dpkg-query",
             f'for p; do :; done; [ -e "{packages}/$p" ] && printf installed; exit 0\n')
    chmod = shutil.which("chmod") or "/bin/chmod"
    installs = "\n".join(f'  {pkg}) printf "#!/bin/sh\\n" > "{bin_dir}/{prog}"; '
                         f'{chmod} +x "{bin_dir}/{prog}" ;;' for pkg, prog in PROGRAMS.items())
    stand_in(bin_dir / "apt-get", f'echo "$*" >> "{tmp_path}/apt.log"\n'
             f'for p in "$@"; do : > "{packages}/$p"; case "$p" in\n{installs}\nesac; done\n')
    return bin_dir


def system_deps(bin_dir: Path, *groups: str, **env: str) -> subprocess.CompletedProcess[str]:
    variables = {k: v for k, v in os.environ.items() if not k.startswith("SITEGEN_SKIP_")}
    return subprocess.run(["/bin/bash", str(SCRIPT), *groups], capture_output=True, text=True,
                          env={**variables, "PATH": str(bin_dir), **env}, timeout=60,
                          check=False)


def apt_calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "apt.log"
    return log.read_text().splitlines() if log.exists() else []


def test_not_root_one_line_names_the_packages_and_installs_nothing(tmp_path: Path) -> None:
    result = system_deps(machine(tmp_path, uid=1000))
    assert result.returncode == 1 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert "apt-get install --no-install-recommends chromium" in line
    assert {"fonts-dejavu-core", "redis-server", "nodejs"} <= set(line.split())
    assert "SITEGEN_SKIP_BROWSER=1" in line
    assert apt_calls(tmp_path) == []


def test_as_root_apt_installs_what_is_missing_then_nothing_more(tmp_path: Path) -> None:
    bin_dir = machine(tmp_path, uid=0)
    first = system_deps(bin_dir)
    assert first.returncode == 0, first.stderr
    update, install = apt_calls(tmp_path)
    assert update == "update -qq"
    assert install.startswith("install -y -qq --no-install-recommends chromium")
    assert {"fonts-dejavu-core", "redis-server", "nodejs"} <= set(install.split())
    again = system_deps(bin_dir)  # all there now: no apt-get at all
    assert again.returncode == 0 and again.stdout == "" and len(apt_calls(tmp_path)) == 2


def test_groups_and_skip_variables_drop_their_packages(tmp_path: Path) -> None:
    bin_dir = machine(tmp_path, uid=1000)
    browser_only = system_deps(bin_dir, "browser")
    assert browser_only.returncode == 1
    assert "chromium" in browser_only.stderr and "redis-server" not in browser_only.stderr
    farm_skipped = system_deps(bin_dir, SITEGEN_SKIP_FARM="1")
    assert farm_skipped.returncode == 1 and "redis-server" not in farm_skipped.stderr
    assert system_deps(bin_dir, **SKIP_ALL).returncode == 0
    assert system_deps(bin_dir, "bogus").returncode == 2


def test_a_missing_program_fails_the_test_and_a_variable_skips_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SITEGEN_SKIP_FARM", raising=False)
    with pytest.raises(pytest.fail.Exception, match=r"no-such-server is not installed .*"
                       r"SITEGEN_SKIP_FARM=1"):
        need_program("farm", "no-such-server", "no-such-package")
    require("farm", True, "unused")  # found: nothing happens
    monkeypatch.setenv("SITEGEN_SKIP_FARM", "1")
    with pytest.raises(pytest.skip.Exception, match="SITEGEN_SKIP_FARM=1"):
        need_program("farm", "no-such-server", "no-such-package")
