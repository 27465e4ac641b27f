"""data_processing on N real-shaped demo leads, whole process: wall seconds, session and
pipeline seconds, peak RSS; median of fresh processes.

Each run is ``KedroSession.create(...).run(pipeline_names=["data_processing"])`` in a fresh
Python process, as an Airflow task runs it (``kedro run`` adds the Kedro CLI's plugin
imports, which bench_startup.py measures).

Target (re-agreed in issue 24, 2 cores): 240k leads under 4.3 s and 450 MB, i.e. at least 15x
faster than CodePro's reference pipeline, recorded at 64.7 s and 2,705 MB on the same file size.

    .venv/bin/python benchmarks/bench_data_processing.py --rows 240000 --repeats 3
"""

from __future__ import annotations

import argparse

from harness import (
    median,
    print_command,
    report,
    scratch_project,
    timed_run,
    verdict,
    write_demo_leads,
)

TARGET_SECONDS, TARGET_MB = 4.3, 450
REFERENCE = "CodePro's reference pipeline, 240k leads: 64.7 s, 2,705 MB (recorded in issue 11)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[240_000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    project = scratch_project()
    print_command()
    for rows in args.rows:
        raw = project / f"leads_{rows}.csv"
        write_demo_leads(raw, rows)
        runs = [
            timed_run(project, "data_processing", {"raw_leads_path": str(raw)})
            for _ in range(args.repeats)
        ]
        label = f"data_processing {rows:,} leads"
        report(label, runs)
        print(verdict(f"{label} wall", median(runs, "wall_seconds"), TARGET_SECONDS, "s"))
        print(verdict(f"{label} peak RSS", median(runs, "peak_rss_mb"), TARGET_MB, "MB"))
    print(f"  reference: {REFERENCE}")


if __name__ == "__main__":
    main()
