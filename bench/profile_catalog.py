"""Profile one catalog-stage operation with cProfile, on the benchmarks' generated catalogs.

    .venv/bin/python bench/profile_catalog.py load              # load_catalog, big catalog
    .venv/bin/python bench/profile_catalog.py count             # count_colourings, chain6
    .venv/bin/python bench/profile_catalog.py keys              # iter_keys over 1.04e6 keys
    .venv/bin/python bench/profile_catalog.py load --sort tottime --top 40 --dump /tmp/load.prof

Prints the top functions by cumulative time (or --sort tottime), and sitegen's own functions
separately, so it is clear where inside sitegen the time goes.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import io
import pstats
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_catalog as bc  # noqa: E402

from sitegen.catalog.load import load_catalog  # noqa: E402
from sitegen.expand import count_colourings, iter_keys  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["load", "count", "keys"])
    parser.add_argument("--sort", default="cumulative", choices=["cumulative", "tottime"])
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--dump", type=Path, help="also save the raw profile (for snakeviz...)")
    args = parser.parse_args()

    profile = cProfile.Profile()
    with tempfile.TemporaryDirectory(prefix="sitegen-prof-") as tmp:
        if args.what == "load":
            root = Path(tmp) / "cat"
            bc.big_catalog(root)
            profile.runcall(load_catalog, root)
        elif args.what == "count":
            plan = bc._kind(bc.chain(), "chain6", "k")
            profile.runcall(count_colourings, plan)
        else:
            plan = bc._kind(bc.chain(), "keys", "k")
            profile.runcall(lambda: collections.deque(iter_keys(plan), maxlen=0))
    if args.dump:
        profile.dump_stats(args.dump)
    for title, restrict in (("all functions", ()), ("sitegen's functions", ("sitegen/",))):
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out).strip_dirs() if not restrict else \
            pstats.Stats(profile, stream=out)
        stats.sort_stats(args.sort).print_stats(*restrict, args.top)
        print(f"===== {title}, by {args.sort}")
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
