"""Run every benchmark and print its tables (`make bench`; see bench/README.md).

python -m bench.run_all            # 100,000 and 1,000,000 leads (builds the data once)
python -m bench.run_all --quick    # 100,000 leads only, fewer repetitions
python -m bench.run_all --only lead_pages reports --sizes 1000000
"""

from __future__ import annotations

import argparse
import time

from bench import inquiry_throughput, lead_pages, matching, reports
from bench.common import SIZES, load_average, machine

BENCHMARKS = ("inquiry_throughput", "lead_pages", "matching", "reports")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 leads, fewer repetitions")
    parser.add_argument("--sizes", type=int, nargs="+", help="lead counts (default 100k and 1M)")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=list(BENCHMARKS))
    args = parser.parse_args(argv)
    sizes = tuple(args.sizes or ((100_000,) if args.quick else SIZES))
    repeat = 10 if args.quick else 30
    print(f"# ParkLead benchmarks — {machine()}; load average {load_average()}")
    started = time.perf_counter()
    if "inquiry_throughput" in args.only:
        inquiry_throughput.run(requests=500 if args.quick else 2000)
    if "lead_pages" in args.only:
        lead_pages.run(sizes, repeat=repeat)
    if "matching" in args.only:
        matching.run(lead_size=max(sizes), repeat=5 if args.quick else 10)
    if "reports" in args.only:
        reports.run(sizes, repeat=3 if args.quick else 5)
    print(
        f"\nAll done in {time.perf_counter() - started:.0f} s; load average {load_average()}. "
        "Raw figures: bench/results/*.json"
    )


if __name__ == "__main__":
    main()
