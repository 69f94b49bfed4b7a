"""Run sitegen's benchmarks and merge their figures into a JSON file.

    .venv/bin/python bench/run.py                          # every section, bench/results.json
    .venv/bin/python bench/run.py --out /tmp/r.json        # another file
    .venv/bin/python bench/run.py --only catalog           # one section
    .venv/bin/python bench/run.py --only catalog.keys      # one benchmark of a section
    .venv/bin/python bench/run.py --list                   # what there is

A section is a module `bench/bench_<something>.py` with:

    SECTION = "catalog"                        # its key in the JSON file
    BENCHMARKS = {"keys": bench_keys, ...}     # name -> function() -> dict of figures (JSON-able)
    def summary(name, figures) -> list[str]:   # optional: readable lines for the console

Sections run in the order of SECTION_ORDER, then any other bench_*.py module alphabetically,
so a new section only needs its module. Each benchmark's dict is stored under
results[SECTION][name], with the machine's facts (cpu count, python, date, commit) added as
its "machine" entry; everything else already in the file (other sections, other benchmarks of
the same section) is kept as it was.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
DEFAULT_OUT = BENCH_DIR / "results.json"

# Known sections first, in this order; any other bench/bench_*.py follows, sorted.
SECTION_ORDER = ("bench_catalog", "bench_render", "bench_site", "bench_layers")

for _path in (str(ROOT), str(BENCH_DIR)):
    if _path not in sys.path:
        sys.path.insert(0, _path)


def discover() -> list[ModuleType]:
    """The bench modules, imported, in run order."""
    found = sorted(p.stem for p in BENCH_DIR.glob("bench_*.py"))
    names = [n for n in SECTION_ORDER if n in found] + [n for n in found if n not in SECTION_ORDER]
    modules = []
    for name in names:
        module = importlib.import_module(name)
        if not hasattr(module, "SECTION") or not hasattr(module, "BENCHMARKS"):
            raise SystemExit(f"bench/{name}.py: a bench module needs SECTION and BENCHMARKS")
        modules.append(module)
    return modules


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                             timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_facts() -> dict[str, Any]:
    """What the figures depend on besides the code: the machine, Python, the date, the commit."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        load = None
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "cpu_usable": usable,
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        # 1, 5, 15 min load averages when the benchmark ended: above cpu_usable, other
        # processes competed for the CPUs and wall times are inflated (see cpu_median_s).
        "loadavg": load,
        "git_commit": commit,
        "git_dirty": bool(status) if status is not None else None,
    }


def select(modules: list[ModuleType], only: list[str] | None
           ) -> list[tuple[ModuleType, list[str]]]:
    """(module, benchmark names) to run, for `--only section` or `--only section.benchmark`."""
    if not only:
        return [(m, list(m.BENCHMARKS)) for m in modules]
    by_section = {m.SECTION: m for m in modules}
    wanted: dict[str, list[str]] = {}
    for item in only:
        section, _, bench = item.partition(".")
        module = by_section.get(section)
        if module is None:
            raise SystemExit(f"--only {item}: unknown section {section!r} "
                             f"(known: {', '.join(by_section)})")
        names = wanted.setdefault(section, [])
        if not bench:
            names.extend(n for n in module.BENCHMARKS if n not in names)
        elif bench not in module.BENCHMARKS:
            raise SystemExit(f"--only {item}: unknown benchmark {bench!r} of section "
                             f"{section!r} (known: {', '.join(module.BENCHMARKS)})")
        elif bench not in names:
            names.append(bench)
    return [(m, [n for n in m.BENCHMARKS if n in wanted[m.SECTION]])
            for m in modules if m.SECTION in wanted]


def read_results(path: Path) -> dict[str, Any]:
    """The figures already in `path` (an empty dict when there is no file)."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"{path}: cannot read the existing results ({exc}); move it away "
                         "or pass another --out") from exc
    if not isinstance(data, dict):
        raise SystemExit(f"{path}: existing results are not a JSON object; move it away "
                         "or pass another --out")
    return data


def write_results(path: Path, section: str, name: str, figures: dict[str, Any]) -> None:
    """Merge one benchmark's figures into `path`: re-read, update, write atomically."""
    data = read_results(path)
    entry = data.get(section)
    if not isinstance(entry, dict):
        entry = data[section] = {}
    entry[name] = figures
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def default_summary(figures: dict[str, Any]) -> list[str]:
    return [f"{k}: {v}" for k, v in figures.items() if not isinstance(v, dict | list)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="JSON file to merge the figures into (default: bench/results.json)")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="a section (catalog) or one benchmark (catalog.keys); repeatable")
    parser.add_argument("--list", action="store_true", help="list sections and benchmarks")
    args = parser.parse_args(argv)

    modules = discover()
    if args.list:
        for m in modules:
            print(f"{m.SECTION}: {', '.join(m.BENCHMARKS)}")
        return 0
    plan = select(modules, args.only)
    read_results(args.out)  # fail now, not after minutes of benchmarks, if it is unreadable
    machine = machine_facts()
    print(f"machine: {machine['cpu_model']}, {machine['cpu_count']} cpus "
          f"({machine['cpu_usable']} usable), Python {machine['python']}, {machine['date']}, "
          f"commit {(machine['git_commit'] or '?')[:10]}"
          f"{' (dirty)' if machine['git_dirty'] else ''}")
    failed = []
    for module, names in plan:
        summary: Callable[[str, dict[str, Any]], list[str]] = getattr(
            module, "summary", lambda _name, figures: default_summary(figures))
        for name in names:
            print(f"\n== {module.SECTION}.{name}", flush=True)
            start = time.perf_counter()
            try:
                figures = dict(module.BENCHMARKS[name]())
            except Exception:  # report it and go on with the other benchmarks
                traceback.print_exc()
                failed.append(f"{module.SECTION}.{name}")
                continue
            figures["bench_wall_s"] = round(time.perf_counter() - start, 3)
            figures["machine"] = machine_facts()  # now: the load average covers this run
            write_results(args.out, module.SECTION, name, figures)  # before a summary can fail
            for line in summary(name, figures):
                print(f"  {line}")
            load = figures["machine"]["loadavg"]
            usable = figures["machine"]["cpu_usable"] or 1
            if load and load[0] > usable:
                print(f"  note: load average {load[0]} > {usable} usable cpus: other processes "
                      "competed, wall times are inflated (compare cpu_median_s)")
    print(f"\nfigures written to {args.out}")
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
