"""The champion over HTTP, as `make serve` runs it: one lead per request (p50, p99 of sequential
requests on one keep-alive connection) and 1,000 leads per request (median), on several fresh
server processes, each warmed up first. Prints each figure with its target, the server's
CPU time per request (a steadier figure than wall time when other work shares the machine)
and its peak RSS.

Limits (2 cores, issue 24): one lead p50 at most 15 ms and p99 at most 40 ms; 1,000 leads at
most 300 ms.

    .venv/bin/python benchmarks/bench_serving.py
    CODEPRO_BENCH_KEEP=1 .venv/bin/python benchmarks/bench_serving.py  # keeps its project
    .venv/bin/python benchmarks/bench_serving.py --project /tmp/codepro-bench-xyz  # reuses it

Every request carries different leads (a pool of demo leads), so no answer is repeated.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness import scratch_project, timed_run, write_demo_leads

# The benchmark needs a champion whatever the demo model's quality: no floor.
NO_FLOOR = {"training": {"quality_floor": {"roc_auc": 0.0, "precision": 0.0, "recall": 0.0}}}
MODEL_URI = "models:/codepro-lead-scorer@champion"
BIN = Path(sys.executable).parent


def champion_project(training_rows: int) -> Path:
    """A scratch project with a champion trained on ``training_rows`` demo leads."""
    project = scratch_project()
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{project / 'mlflow.db'}"
    raw = project / "leads.csv"
    write_demo_leads(raw, training_rows)
    timed_run(project, "data_processing", {"raw_leads_path": str(raw)})
    timed_run(project, "training", NO_FLOOR)
    return project


def lead_pool(project: Path, rows: int) -> list[dict[str, Any]]:
    """``rows`` new demo leads as JSON records, keyed ``lead_id``, as a client sends them."""
    import pandas as pd

    path = project / f"serving_leads_{rows}.csv"
    if not path.exists():
        write_demo_leads(path, rows, labeled=False)
    frame = pd.read_csv(path)
    frame = frame.rename(columns={frame.columns[0]: "lead_id"})
    return json.loads(frame.to_json(orient="records"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_command(port: int) -> list[str]:
    return [
        str(BIN / "mlflow"),
        "models",
        "serve",
        "-m",
        MODEL_URI,
        "--env-manager",
        "local",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


def start_server(project: Path, port: int, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}",
        "PATH": f"{BIN}:{os.environ['PATH']}",
    }
    with open(log, "wb") as output:
        server = subprocess.Popen(
            serve_command(port),
            cwd=project,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # uvicorn runs in a child: stop the whole group
        )
    deadline = time.monotonic() + 180
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                pass
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/ping")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            stop_server(server)
            sys.exit(f"mlflow models serve did not come up:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)


def group_peak_rss_mb(server: subprocess.Popen) -> float:
    """The largest peak RSS (VmHWM) of the server's process group (the uvicorn process)."""
    peaks = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            if os.getpgid(int(status.parent.name)) != server.pid:
                continue
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines())
        except (OSError, ValueError):
            continue
        if "VmHWM" in fields:
            peaks.append(int(fields["VmHWM"].split()[0]) / 1024)
    return max(peaks, default=float("nan"))


def group_cpu_seconds(server: subprocess.Popen) -> float:
    """CPU time (user + system) the server's process group has used so far: unlike wall time,
    hardly moved by other work on a shared machine."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if os.getpgid(int(stat.parent.name)) != server.pid:
                continue
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, ValueError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of proc(5)
    return total / os.sysconf("SC_CLK_TCK")


def stop_server(server: subprocess.Popen) -> None:
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    except ProcessLookupError:
        pass


def timed_post(connection: http.client.HTTPConnection, body: bytes, n_leads: int) -> float:
    """Milliseconds from sending the request to having read the whole answer."""
    start = time.perf_counter()
    connection.request(
        "POST", "/invocations", body=body, headers={"Content-Type": "application/json"}
    )
    response = connection.getresponse()
    answer = response.read()
    elapsed = (time.perf_counter() - start) * 1000
    if response.status != 200:
        sys.exit(f"request failed ({response.status}): {answer[:500]!r}")
    if len(json.loads(answer)["predictions"]) != n_leads:
        sys.exit("the answer does not have one row per lead")
    return elapsed


def payloads(pool: list[dict[str, Any]], size: int, count: int, offset: int) -> list[bytes]:
    """``count`` request bodies of ``size`` different leads each, taken round the pool."""
    bodies = []
    for i in range(count):
        start = (offset + i * size) % len(pool)
        leads = [pool[(start + j) % len(pool)] for j in range(size)]
        bodies.append(json.dumps({"dataframe_records": leads}).encode())
    return bodies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure_one_server(
    project: Path, pool: list[dict[str, Any]], args: argparse.Namespace, run: int
) -> dict[str, float]:
    port = free_port()
    server = start_server(project, port, project / f"serve_{run}.log")
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for body in payloads(pool, 1, args.warmup, offset=run * 7919):
            timed_post(connection, body, 1)
        for body in payloads(pool, args.batch_size, 2, offset=run * 7919):
            timed_post(connection, body, args.batch_size)
        bodies = payloads(pool, 1, args.requests, offset=run * 7919 + args.warmup)
        cpu = group_cpu_seconds(server)
        singles = [timed_post(connection, body, 1) for body in bodies]
        singles_cpu, cpu = group_cpu_seconds(server) - cpu, group_cpu_seconds(server)
        bodies = payloads(pool, args.batch_size, args.batch_requests, offset=run * 104729)
        batches = [timed_post(connection, body, args.batch_size) for body in bodies]
        batches_cpu = group_cpu_seconds(server) - cpu
        connection.close()
        peak = group_peak_rss_mb(server)
    finally:
        stop_server(server)
    return {
        "one_lead_p50_ms": statistics.median(singles),
        "one_lead_p99_ms": percentile(singles, 0.99),
        f"{args.batch_size}_leads_median_ms": statistics.median(batches),
        "one_lead_server_cpu_ms": singles_cpu / len(singles) * 1000,
        f"{args.batch_size}_leads_server_cpu_ms": batches_cpu / len(batches) * 1000,
        "server_peak_rss_mb": peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, help="reuse this scratch project's champion")
    parser.add_argument("--training-rows", type=int, default=100_000)
    parser.add_argument("--pool", type=int, default=20_000, help="distinct demo leads to send")
    parser.add_argument("--servers", type=int, default=3, help="fresh server processes")
    parser.add_argument("--requests", type=int, default=1000, help="one-lead requests each")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--batch-requests", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--target-p50-ms", type=float, default=15.0)
    parser.add_argument("--target-p99-ms", type=float, default=40.0)
    parser.add_argument("--target-batch-ms", type=float, default=300.0)
    args = parser.parse_args()

    project = args.project or champion_project(args.training_rows)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{project / 'mlflow.db'}"
    pool = lead_pool(project, args.pool)
    runs = [measure_one_server(project, pool, args, run) for run in range(args.servers)]

    command = shlex.join([Path(sys.executable).name, *sys.argv])
    print(f"project: {project}")
    print(
        f"server: MLFLOW_TRACKING_URI={os.environ['MLFLOW_TRACKING_URI']} "
        + shlex.join(serve_command(0)[:-2])
    )
    for i, run in enumerate(runs, 1):
        print(f"serving server {i}: " + ", ".join(f"{k}={v:.2f}" for k, v in run.items()))
    targets = {
        "one_lead_p50_ms": args.target_p50_ms,
        "one_lead_p99_ms": args.target_p99_ms,
        f"{args.batch_size}_leads_median_ms": args.target_batch_ms,
    }
    for name, target in targets.items():
        median = statistics.median(run[name] for run in runs)
        verdict = "OK" if median <= target else "ABOVE TARGET"
        print(f"serving MEDIAN {name}={median:.2f} (target <= {target:g}) {verdict}")
    for name in ("one_lead_server_cpu_ms", f"{args.batch_size}_leads_server_cpu_ms"):
        print(f"serving MEDIAN {name}={statistics.median(run[name] for run in runs):.2f}")
    peak = statistics.median(run["server_peak_rss_mb"] for run in runs)
    print(f"serving MEDIAN server_peak_rss_mb={peak:.0f}")
    print(f"command: {command}")


if __name__ == "__main__":
    main()
