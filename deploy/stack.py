"""The production-like stack on one machine, on loopback only (`make stack`, `make stack-stop`).

    python deploy/stack.py up [--root .stack]    start everything, print URLs and logins
    python deploy/stack.py down [--root .stack]  stop everything, by process group
    python deploy/stack.py start-worker --worker a|b [--root .stack]  bring a lost worker back

PostgreSQL (Airflow's metadata, MLflow's backend store, the score store), Redis (Celery's
broker), SeaweedFS (the S3 bucket: every hand-off file and MLflow's artifacts), the MLflow
server (artifacts proxied to the bucket), Airflow 3 (api-server, scheduler, dag-processor;
CeleryExecutor) and two Celery workers. Each worker has a folder of its own, built like the
deployment image of docs/deployment.md: a Python environment with the locked libraries and
the project's wheel, the conf archive, the DAG files; no checkout on its path, no data/ shared.

Every port is a free one; secrets are generated per stack. ROOT/stack.json records the
processes and URLs, ROOT/stack.env the environment a shell or a test needs to use the stack
(`set -a; . .stack/stack.env; set +a; kedro run --env prod ...`).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tarfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

PROJECT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the locked environment (make install)
BUCKET = "codepro"
# Worker a takes the default queue (data_processing, inference, outcomes, profiling); both
# take the training queue (conf/base/airflow.yml), so a training retry can go to either.
WORKERS = {"a": "default,training", "b": "training"}
READY_TIMEOUT_S = 120
STOP_GRACE_S = 10


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(what: str, check, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        with contextlib.suppress(OSError, ValueError):
            if check():
                return
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"{what} did not start (log {log}):\n{tail}")
        time.sleep(0.5)


def _parallel(*steps) -> None:
    """Run the steps in threads; the first failure is raised once all have ended."""
    with ThreadPoolExecutor(len(steps)) as pool:
        for future in [pool.submit(step) for step in steps]:
            future.result()


def _run(command: list[str], **kwargs) -> None:
    """Run a set-up command; fail with its output."""
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode:
        raise RuntimeError(
            f"{' '.join(command)} failed:\n{(result.stdout + result.stderr)[-3000:]}"
        )


def _write_private(path: Path, text: str) -> None:
    """Write a file of secrets readable by its owner only, from its first byte."""
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        out.write(text)


def _ready_since(log: Path, offset: int) -> bool:
    with log.open(errors="replace") as text:
        text.seek(offset)
        return " ready." in text.read()


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status == 200


class Stack:
    """One stack's folder, ports and processes."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.state_file = self.root / "stack.json"
        self.lock = threading.Lock()
        self.state: dict = {"processes": {}}
        if self.state_file.exists():
            self.state = json.loads(self.state_file.read_text())

    # -- processes ---------------------------------------------------------------------------

    def spawn(
        self, name: str, command: list[str], env: dict | None = None, cwd: Path | None = None
    ):
        """Start ``command`` in its own process group (stopped as a whole), logging to
        ROOT/logs/<name>.log."""
        log = self.root / "logs" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as out:
            process = subprocess.Popen(
                command,
                env=env or os.environ.copy(),
                cwd=cwd or self.root,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.state["processes"][name] = process.pid
        self.save()
        return process, log

    def save(self) -> None:
        with self.lock:  # steps run in parallel threads
            _write_private(self.state_file, json.dumps(self.state, indent=2))

    def stop(self, names: list[str] | None = None) -> None:
        """SIGTERM each process group and every descendant (Airflow's task processes have
        groups of their own), SIGKILL what is left after a grace period."""
        processes = self.state["processes"]
        names = list(reversed(processes)) if names is None else names
        victims: list[psutil.Process] = []
        for name in names:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                leader = psutil.Process(processes[name])
                victims += [leader, *leader.children(recursive=True)]
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(processes[name], signal.SIGTERM)
        for victim in victims:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                victim.terminate()
        _, alive = psutil.wait_procs(victims, timeout=STOP_GRACE_S)
        for name in names:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(processes[name], signal.SIGKILL)
        for victim in alive:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                victim.kill()
        psutil.wait_procs(alive, timeout=STOP_GRACE_S)
        for name in names:
            processes.pop(name, None)
        self.save()

    # -- services ----------------------------------------------------------------------------

    def start_postgres(self) -> None:
        found = sorted(
            glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
        )
        binaries = Path(found[-1]).parent if found else Path(shutil.which("initdb") or "").parent
        if not (binaries / "postgres").exists():
            raise RuntimeError("PostgreSQL server binaries not found: apt-get install postgresql")
        data, sockets = self.root / "postgres", self.root / "postgres-sockets"
        sockets.mkdir()
        as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if (
            os.geteuid() == 0
            and subprocess.run([*as_user, "test", "-x", str(self.root)]).returncode
        ):
            raise RuntimeError(
                f"PostgreSQL runs as the postgres user, who cannot enter {self.root}: "
                "choose a folder it can reach, e.g. make stack STACK_ROOT=/tmp/codepro-stack"
            )
        if os.geteuid() == 0:  # PostgreSQL refuses root
            shutil.chown(sockets, "postgres")
            data.mkdir()
            shutil.chown(data, "postgres")
        _run(
            [*as_user, str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
            + ["-E", "UTF8", "--no-sync"]
        )
        port = self.state["ports"]["postgres"] = free_port()
        process, log = self.spawn(
            "postgres",
            [*as_user, str(binaries / "postgres"), "-D", str(data), "-k", str(sockets)]
            + ["-p", str(port), "-h", "127.0.0.1"],
        )
        import psycopg

        def ready() -> bool:
            psycopg.connect(host="127.0.0.1", port=port, user="postgres", connect_timeout=2).close()
            return True

        _wait("postgres", ready, process, log)
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", autocommit=True) as db:
            for database in ("airflow", "mlflow", "lead_scores"):
                db.execute(f"CREATE DATABASE {database}")

    def postgres_url(self, database: str, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.state['ports']['postgres']}/{database}"

    def start_redis(self) -> None:
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server not found: apt-get install redis-server")
        port = self.state["ports"]["redis"] = free_port()
        folder = self.root / "redis"
        folder.mkdir()
        process, log = self.spawn(
            "redis",
            ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", str(folder)]
            + ["--save", "", "--appendonly", "no", "--protected-mode", "yes"],
        )

        def ready() -> bool:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")

        _wait("redis", ready, process, log)

    def start_seaweedfs(self) -> None:
        ports = {
            f"{server}.{port}": free_port()
            for server in ("master", "volume", "filer", "s3")
            for port in ("port", "port.grpc")
        }
        self.state["ports"]["s3"] = ports["s3.port"]
        config = self.root / "seaweedfs-s3.json"
        identity = {
            "name": "codepro",
            "credentials": [
                {"accessKey": self.state["s3_key"], "secretKey": self.state["s3_secret"]}
            ],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        _write_private(config, json.dumps({"identities": [identity]}))
        data = self.root / "seaweedfs"
        data.mkdir()
        process, log = self.spawn(
            "seaweedfs",
            [str(BIN / "weed"), "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data}"]
            + [f"-{flag}={port}" for flag, port in ports.items()]
            + ["-s3", f"-s3.config={config}", "-s3.port.iceberg=0", "-s3.port.lance=0"]
            + ["-metricsPort=0", "-master.volumeSizeLimitMB=256"],
        )
        import boto3

        client = boto3.client("s3", **self.s3_client_args())

        def bucket() -> bool:
            client.create_bucket(Bucket=BUCKET)
            return True

        _wait("seaweedfs (S3)", bucket, process, log)

    def s3_client_args(self) -> dict:
        return {
            "endpoint_url": self.s3_endpoint(),
            "aws_access_key_id": self.state["s3_key"],
            "aws_secret_access_key": self.state["s3_secret"],
            "region_name": "us-east-1",
        }

    def s3_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.state['ports']['s3']}"

    def s3_env(self) -> dict[str, str]:
        """Bucket credentials and endpoint, as boto3 and s3fs read them from the environment."""
        return {
            "AWS_ACCESS_KEY_ID": self.state["s3_key"],
            "AWS_SECRET_ACCESS_KEY": self.state["s3_secret"],
            "AWS_ENDPOINT_URL": self.s3_endpoint(),
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def start_mlflow(self) -> None:
        port = self.state["ports"]["mlflow"] = free_port()
        env = {
            **os.environ,
            **self.s3_env(),
            "MLFLOW_S3_ENDPOINT_URL": self.s3_endpoint(),
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        }
        process, log = self.spawn(
            "mlflow",
            [str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port)]
            + ["--workers", "1", "--backend-store-uri", self.postgres_url("mlflow")]
            + ["--artifacts-destination", f"s3://{BUCKET}/mlflow", "--serve-artifacts"],
            env=env,
        )
        _wait("mlflow server", lambda: _http_ok(f"http://127.0.0.1:{port}/health"), process, log)

    # -- Airflow -----------------------------------------------------------------------------

    def airflow_env(self, home: Path, dags: Path) -> dict[str, str]:
        """What every Airflow process shares (its metadata DB, broker, JWT secret) plus its own
        home and DAG folder."""
        # Nothing of the caller's project or stores (a PYTHONPATH to a checkout among them).
        inherited = ("AIRFLOW", "MLFLOW", "KEDRO", "CODEPRO", "LEAD_SCORES", "AWS_", "PYTHONPATH")
        env = {k: v for k, v in os.environ.items() if not k.startswith(inherited)}
        ports, settings = self.state["ports"], self.state["settings"]
        api = f"http://127.0.0.1:{ports['airflow']}"
        env.update(
            AIRFLOW_HOME=str(home),
            AIRFLOW__CORE__DAGS_FOLDER=str(dags),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
            AIRFLOW__CORE__PARALLELISM="4",
            AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY=str(settings["retry_delay"]),
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin",
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(
                self.root / "airflow-passwords.json"
            ),
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"{api}/execution/",
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=self.postgres_url("airflow"),
            # psycopg 3 serves the async engine too (Airflow would pick asyncpg otherwise).
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC=self.postgres_url("airflow"),
            AIRFLOW__CELERY__BROKER_URL=f"redis://127.0.0.1:{ports['redis']}/0",
            AIRFLOW__CELERY__RESULT_BACKEND="db+" + self.postgres_url("airflow"),
            AIRFLOW__API__HOST="127.0.0.1",
            AIRFLOW__API__PORT=str(ports["airflow"]),
            AIRFLOW__API__WORKERS="1",
            AIRFLOW__API__BASE_URL=api,
            AIRFLOW__API_AUTH__JWT_SECRET=self.state["jwt_secret"],
            AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT=str(settings["heartbeat_timeout"]),
            AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE=str(settings["schedules"]),
            AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port()),
            AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(ports["worker-log-a"]),
        )
        return env

    def start_airflow(self) -> None:
        home = self.root / "airflow"
        dags = home / "dags"
        shutil.copytree(
            PROJECT / "airflow_dags", dags, ignore=shutil.ignore_patterns("__pycache__")
        )
        self.state["ports"]["airflow"] = free_port()
        passwords = self.root / "airflow-passwords.json"
        _write_private(passwords, json.dumps({"admin": self.state["airflow_password"]}))
        env = self.airflow_env(home, dags)
        airflow = str(BIN / "airflow")
        _run([airflow, "db", "migrate"], env=env, cwd=home)
        port = self.state["ports"]["airflow"]
        process, log = self.spawn("airflow-api-server", [airflow, "api-server"], env, home)
        self.spawn("airflow-dag-processor", [airflow, "dag-processor"], env, home)
        self.spawn("airflow-scheduler", [airflow, "scheduler"], env, home)
        _wait(
            "airflow api-server",
            lambda: _http_ok(f"http://127.0.0.1:{port}/api/v2/monitor/health"),
            process,
            log,
        )

    # -- the workers' folders ----------------------------------------------------------------

    def build(self) -> tuple[Path, Path]:
        """The project's wheel and conf archive (what `kedro package` makes), built from a copy
        of the sources so the checkout gets no build/ or egg-info."""
        build = self.root / "build"
        source = build / "source"
        source.mkdir(parents=True)
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(PROJECT / name, source)
        shutil.copytree(
            PROJECT / "src",
            source / "src",
            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
        )
        _run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index"]
            + ["--no-build-isolation", "--wheel-dir", str(build / "dist"), str(source)]
        )
        [wheel] = (build / "dist").glob("codepro_leads-*.whl")
        archive = build / "dist" / "conf-codepro_leads.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:  # as `kedro package`: conf/ but conf/local
            tar.add(
                PROJECT / "conf",
                "conf",
                filter=lambda i: None if i.name.startswith("conf/local/") else i,
            )
        return wheel, archive

    def build_worker_folders(self) -> None:
        wheel, archive = self.build()
        for name in WORKERS:
            self.make_worker_folder(name, wheel, archive)

    def make_worker_folder(self, name: str, wheel: Path, archive: Path) -> Path:
        """venv/ (the locked libraries, as the image's environment, plus the wheel), project/conf
        from the archive, dags/: a folder that shares nothing with the checkout."""
        folder = self.root / f"worker-{name}"
        _run([sys.executable, "-m", "venv", "--without-pip", str(folder / "venv")])
        purelib = Path(sysconfig.get_paths()["purelib"])
        worker_lib = folder / "venv" / purelib.relative_to(sys.prefix)
        # The locked libraries by path: the .pth files there (the checkout's editable install
        # among them) are not processed, so only the wheel provides codepro_leads.
        (worker_lib / "locked-libraries.pth").write_text(f"{purelib}\n")
        _run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
            + ["--target", str(worker_lib), str(wheel)]
        )
        (folder / "project").mkdir()
        (self.root / f"tmp-{name}").mkdir()
        with tarfile.open(archive) as tar:
            tar.extractall(folder / "project", filter="data")
        shutil.copytree(
            PROJECT / "airflow_dags", folder / "dags", ignore=shutil.ignore_patterns("__pycache__")
        )
        return folder

    def worker_env(self, name: str) -> dict[str, str]:
        folder = self.root / f"worker-{name}"
        env = self.airflow_env(folder, folder / "dags")
        env.update(self.project_env())
        env.update(
            AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(self.state["ports"][f"worker-log-{name}"]),
            CODEPRO_PROJECT_PATH=str(folder / "project"),
            KEDRO_ENV="prod",
            PYTHONDONTWRITEBYTECODE="1",  # nothing but logs in the worker's folder
            # The machine's own /tmp (kedro-mlflow stages the files it logs there).
            TMPDIR=str(self.root / f"tmp-{name}"),
            PATH=f"{folder / 'venv' / 'bin'}:{env['PATH']}",
        )
        return env

    def start_worker(self, name: str) -> None:
        folder = self.root / f"worker-{name}"
        log = self.root / "logs" / f"worker-{name}.log"
        # A restarted worker appends to its log: only what it wrote since counts.
        offset = log.stat().st_size if log.exists() else 0
        process, log = self.spawn(
            f"worker-{name}",
            [str(folder / "venv" / "bin" / "python"), "-m", "airflow", "celery", "worker"]
            + ["--queues", WORKERS[name], "--concurrency", "1"]
            + ["--celery-hostname", f"worker-{name}@%h", "--without-mingle", "--without-gossip"],
            self.worker_env(name),
            folder,
        )
        _wait(f"worker {name}", lambda: _ready_since(log, offset), process, log)

    def project_env(self) -> dict[str, str]:
        """What `kedro run --env prod` needs to use the stack (conf/prod/README.md)."""
        return {
            "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{self.state['ports']['mlflow']}",
            "LEAD_SCORES_DB_URL": self.postgres_url("lead_scores"),
            "CODEPRO_DATA_ROOT": f"s3://{BUCKET}/leads",
            **self.s3_env(),
        }

    # -- the whole -----------------------------------------------------------------------------

    def up(self, settings: dict) -> None:
        if self.state_file.exists():
            raise SystemExit(f"{self.root} holds a stack already: `make stack-stop` first")
        self.root.mkdir(parents=True, exist_ok=True)
        self.state = {
            "processes": {},
            "ports": {"worker-log-a": free_port(), "worker-log-b": free_port()},
            "settings": settings,
            "s3_key": "codepro" + secrets.token_hex(4),
            "s3_secret": secrets.token_urlsafe(24),
            "airflow_password": secrets.token_urlsafe(12),
            "jwt_secret": secrets.token_urlsafe(32),
        }
        self.save()
        started = time.monotonic()
        try:
            # In three waves of independent steps, each wave in parallel.
            _parallel(
                self.build_worker_folders,
                self.start_postgres,
                self.start_redis,
                self.start_seaweedfs,
            )
            _parallel(self.start_mlflow, self.start_airflow)
            _parallel(*(lambda name=name: self.start_worker(name) for name in WORKERS))
        except BaseException:
            self.stop()
            raise
        self.state["start_seconds"] = round(time.monotonic() - started, 1)
        self.save()
        env_file = self.root / "stack.env"
        _write_private(env_file, "".join(f"{k}={v}\n" for k, v in self.project_env().items()))
        self.report()

    def report(self) -> None:
        ports, state, root = self.state["ports"], self.state, self.root
        scores = self.postgres_url("lead_scores", "postgresql")
        lines = [
            f"Stack up in {state['start_seconds']} s (folder {root}), loopback only:",
            f"  Airflow     http://127.0.0.1:{ports['airflow']}"
            f"  login admin / {state['airflow_password']}",
            f"  MLflow      http://127.0.0.1:{ports['mlflow']}",
            f"  S3          {self.s3_endpoint()}  bucket {BUCKET}"
            f"  key {state['s3_key']} / secret {state['s3_secret']}",
            f"  PostgreSQL  {scores} (and /airflow, /mlflow; user postgres, no password)",
            f"  Redis       redis://127.0.0.1:{ports['redis']}/0",
            *(f"  worker {n}    {root / f'worker-{n}'}  queues {q}" for n, q in WORKERS.items()),
            f"Use it: set -a; . {root / 'stack.env'}; set +a; kedro run --env prod ...",
            "Stop it: make stack-stop",
        ]
        print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["up", "down", "start-worker"])
    parser.add_argument("--root", type=Path, default=PROJECT / ".stack")
    parser.add_argument("--worker", choices=list(WORKERS), help="for start-worker")
    # Airflow's defaults; the cluster test shortens them to see a failover within minutes.
    parser.add_argument("--retry-delay", type=int, default=300, help="seconds before a retry")
    parser.add_argument(
        "--heartbeat-timeout", type=int, default=300, help="seconds until a silent task fails"
    )
    parser.add_argument("--no-schedules", action="store_true", help="only triggered DAG runs")
    args = parser.parse_args()
    stack = Stack(args.root)
    if args.command == "up":
        stack.up(
            {
                "retry_delay": args.retry_delay,
                "heartbeat_timeout": args.heartbeat_timeout,
                "schedules": not args.no_schedules,
            }
        )
    elif args.command == "down":
        if not stack.state_file.exists():
            print(f"No stack in {stack.root}: nothing to stop")
            return
        count = len(stack.state["processes"])
        stack.stop()
        shutil.rmtree(stack.root, ignore_errors=True)
        print(f"Stack stopped: {count} services and their processes ended, {stack.root} removed")
    else:
        stack.start_worker(args.worker)


if __name__ == "__main__":
    main()
