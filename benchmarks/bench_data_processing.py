"""data_processing on N demo rows: wall seconds, pipeline seconds and peak RSS per run.

Targets (2 cores): 240k rows under 2 s of pipeline time and 600 MB peak RSS; 1M rows under 10 s.

    .venv/bin/python benchmarks/bench_data_processing.py --rows 240000 1000000 --repeats 3
"""

from __future__ import annotations

import argparse

from harness import report, scratch_project, timed_run, write_demo_leads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[240_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    project = scratch_project()
    for rows in args.rows:
        raw = project / f"leads_{rows}.csv"
        write_demo_leads(raw, rows)
        runs = [
            timed_run(project, "data_processing", {"raw_leads_path": str(raw)})
            for _ in range(args.repeats)
        ]
        report(f"data_processing {rows:,} rows", runs)


if __name__ == "__main__":
    main()
