"""Servers the tests need, started by the tests themselves: a throw-away PostgreSQL.

``postgres_server`` (session scope) initialises a cluster in a temporary folder and starts
``postgres`` on a free local port in its own process group; the whole group is stopped at the
end. ``postgres_url`` is a new, empty database on it for each test, as a
``postgresql+psycopg://`` URL. Without PostgreSQL's
server binaries (and no apt to install them) the tests that need it are skipped, except in CI
(``CI=true``), where they fail.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

_READY_TIMEOUT_S = 60
_STOP_TIMEOUT_S = 15


def _server_binaries() -> Path | None:
    """The folder of ``initdb`` and ``postgres``: Debian's newest version, else the PATH."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _install_with_apt() -> None:
    """Debian's PostgreSQL server, as .ci/run installs it (root with apt only)."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    wait = ["-o", "DPkg::Lock::Timeout=300"]  # two pytest workers may both try
    for command in (
        ["apt-get", *wait, "update"],
        ["apt-get", *wait, "install", "-y", "--no-install-recommends", "postgresql"],
    ):
        subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    """A loopback port nothing listens on (for a server a test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the ``postgres`` system user then."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def stop_process_group(server: subprocess.Popen) -> None:
    """SIGTERM to a server's whole process group (started with ``start_new_session``: the
    server and its children), then SIGKILL if it has not exited."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, sig)
        try:
            server.wait(timeout=_STOP_TIMEOUT_S)
            return
        except subprocess.TimeoutExpired:
            continue


def _wait_until_ready(server: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while True:
        try:
            psycopg.connect(
                host="127.0.0.1", port=port, user="postgres", dbname="postgres", connect_timeout=2
            ).close()
            return
        except psycopg.OperationalError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"postgres did not start:\n{log.read_text()[-2000:]}") from None
            time.sleep(0.2)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[int]:
    """The port of a fresh local PostgreSQL server (user ``postgres``, no password)."""
    binaries = _server_binaries()
    if binaries is None:
        _install_with_apt()
        binaries = _server_binaries()
    if binaries is None:
        _unavailable("PostgreSQL server binaries not found (apt-get install postgresql)")

    # Not under pytest's tmp_path: its parents are private to root, and the server may run as
    # the postgres user.
    root = Path(tempfile.mkdtemp(prefix="codepro-postgres-"))
    data, sockets, log = root / "data", root / "sockets", root / "postgres.log"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    init = subprocess.run(
        _as_server_user(
            [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
            + ["-E", "UTF8", "--no-sync"]
        ),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"initdb failed:\n{init.stderr}")

    port = free_port()
    with log.open("w") as log_file:
        server = subprocess.Popen(
            _as_server_user(
                [str(binaries / "postgres"), "-D", str(data), "-k", str(sockets)]
                + ["-p", str(port), "-h", "127.0.0.1"]
                # A test server: durability is not the point, speed is.
                + ["-c", "fsync=off", "-c", "synchronous_commit=off"]
            ),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, stopped as a whole
        )
    try:
        _wait_until_ready(server, port, log)
        yield port
    finally:
        stop_process_group(server)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: int) -> str:
    """A new, empty database of the test server: tests never see each other's tables."""
    database = f"lead_scores_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(
        host="127.0.0.1", port=postgres_server, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f"CREATE DATABASE {database}")
    return f"postgresql+psycopg://postgres@127.0.0.1:{postgres_server}/{database}"


def wait_for_session(run: subprocess.Popen) -> None:
    """Read ``run``'s output until Kedro names the project, once its session exists: its id,
    the version of every file it writes, is a timestamp to the millisecond, so runs of one
    project started in the same millisecond would share it (kedro-org/kedro#1731)."""
    for line in run.stdout:
        if "Kedro project" in line:
            return
