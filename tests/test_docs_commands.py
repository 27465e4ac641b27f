"""Every shell command in the docs (README.md and docs/, in the site's page order) works.

A shell block (```bash, sh, shell or console) must follow one of these markers on the line
above it, or this test fails, so a command added to the docs is never left unchecked:

- ``<!-- run -->``: run here, in document order, in a throw-away copy of the project on small
  demo data (each block with ``bash -euo pipefail``; it must exit 0);
- ``<!-- serve: http://127.0.0.1:PORT/PATH -->``: a server: started in its own process
  group, done once the URL answers and its clients ran, then stopped;
- ``<!-- while-serving -->``: a client of the page's last ``serve`` block above it: run like a
  ``run`` block while that server is up;
- ``<!-- tested-by: tests/FILE.py::TEST -->`` (or ``.ci/run``): run by that test, which must
  exist.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from codepro_leads.config_loader import ProjectConfigLoader
from codepro_leads.settings import CONFIG_LOADER_ARGS
from tests.conftest import LOW_FLOOR, PROJECT_ROOT, SMALL_DEMO
from tests.services import stop_process_group

SHELLS = {"bash", "sh", "shell", "console"}
FENCE = re.compile(r"^```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^```\s*$", re.M | re.S)
MARKER = re.compile(r"<!-- (run|serve: \S+|while-serving|tested-by: \S+) -->\s*$")
BLOCK_TIMEOUT_S = 600
SERVE_TIMEOUT_S = 120


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    marker: str | None  # "run", "serve: <url>", "while-serving", "tested-by: <ref>" or None
    body: str

    def __str__(self) -> str:
        return f"{self.page}:{self.line}"


def doc_pages() -> list[Path]:
    """README.md, then the site's pages in mkdocs.yml's nav order, then any others."""
    nav = re.findall(r":\s*([\w/.-]+\.md)\s*$", (PROJECT_ROOT / "mkdocs.yml").read_text(), re.M)
    pages = [PROJECT_ROOT / "README.md"] + [PROJECT_ROOT / "docs" / p for p in nav]
    others = sorted(set((PROJECT_ROOT / "docs").rglob("*.md")) - set(pages))
    return pages + others


def shell_blocks() -> list[Block]:
    blocks = []
    for page in doc_pages():
        text = page.read_text()
        for fence in FENCE.finditer(text):
            if fence["lang"] not in SHELLS:
                continue
            before = text[: fence.start()].rstrip("\n").rsplit("\n", 1)[-1]
            marker = MARKER.search(before)
            blocks.append(
                Block(
                    page=str(page.relative_to(PROJECT_ROOT)),
                    line=text.count("\n", 0, fence.start()) + 1,
                    marker=marker.group(1) if marker else None,
                    body=fence["body"],
                )
            )
    return blocks


def test_every_shell_block_is_marked_and_every_named_test_exists():
    blocks = shell_blocks()
    assert [str(b) for b in blocks if b.marker is None] == []
    missing = []
    for block in blocks:
        if not block.marker.startswith("tested-by: "):
            continue
        path, _, test = block.marker.removeprefix("tested-by: ").partition("::")
        source = PROJECT_ROOT / path
        if not source.is_file() or (test and f"def {test}(" not in source.read_text()):
            missing.append(f"{block}: {block.marker}")
    assert missing == []
    clients = [b for b in blocks if b.marker == "while-serving"]
    assert [str(b) for b in clients if _server_of(b, blocks) is None] == []
    # The checks above see the blocks at all: the docs do have commands of each kind.
    kinds = {b.marker.split(":")[0] for b in blocks}
    assert kinds == {"run", "serve", "while-serving", "tested-by"}


def _server_of(client: Block, blocks: list[Block]) -> Block | None:
    """The serve block a while-serving block talks to: the last one above it on its page."""
    above = [
        b
        for b in blocks
        if b.page == client.page and b.line < client.line and b.marker.startswith("serve: ")
    ]
    return above[-1] if above else None


def _replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{path}: {old!r} not found once"
    path.write_text(text.replace(old, new))


def _project_copy(root: Path) -> Path:
    """The repository's tracked files that commands use, the same .venv, small demo data, and
    copies of the demo exports under exports/ (the runbook's "your file")."""
    for name in ("conf", "src", "tests", "benchmarks", "deploy", "docs"):
        shutil.copytree(
            PROJECT_ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.rmtree(root / "conf" / "local")
    (root / "conf" / "local").mkdir()
    # copy2 keeps modification times: make must see the .venv stamp as newer than the lock.
    for name in ("Makefile", "pyproject.toml", "requirements.lock", "mkdocs.yml", "README.md"):
        shutil.copy2(PROJECT_ROOT / name, root / name)
    (root / ".venv").symlink_to(PROJECT_ROOT / ".venv")
    (root / "data").mkdir()

    demo, floor = SMALL_DEMO["demo_data"], LOW_FLOOR["training"]["quality_floor"]
    params = root / "conf" / "base"
    _replace_once(params / "parameters_demo_data.yml", "  rows: 240000", f"  rows: {demo['rows']}")
    _replace_once(
        params / "parameters_demo_data.yml", "  new_rows: 25000", f"  new_rows: {demo['new_rows']}"
    )
    for metric, minimum in floor.items():
        text = (params / "parameters_training.yml").read_text()
        line = re.search(rf"^    {metric}: [\d.]+$", text, re.M).group(0)
        _replace_once(params / "parameters_training.yml", line, f"    {metric}: {minimum}")
    return root


def _environment() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "LEAD_SCORES_DB_URL"}
        and not k.startswith("PYTEST_")
    }
    return {**env, "DO_NOT_TRACK": "1", "KEDRO_DISABLE_TELEMETRY": "1"}


def _run(block: Block, project: Path, env: dict[str, str]) -> str | None:
    """Run a block; the failure's description, or None."""
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.body],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode == 0:
        return None
    return f"{block} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"


def _serve(
    block: Block, project: Path, env: dict[str, str], url: str, clients: list[Block]
) -> str | None:
    """Start a server block, wait for its URL to answer, run its clients, stop it; the first
    failure, or None."""
    log = project / f"serve-{block.line}.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            ["bash", "-c", block.body],
            cwd=project,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + SERVE_TIMEOUT_S
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(url, timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            return f"{block}: {url} never answered:\n{log.read_text()[-3000:]}"
        for client in clients:
            if failure := _run(client, project, env):
                return f"{failure}\nserver log:\n{log.read_text()[-3000:]}"
        return None
    finally:
        stop_process_group(server)


@pytest.mark.slow
def test_make_run_ends_by_naming_the_latest_crm_export():
    """The last line of `make run` names the catalog's stable CRM export, not a stale path."""
    loader = ProjectConfigLoader(str(PROJECT_ROOT / "conf"), **CONFIG_LOADER_ARGS)
    catalog = loader["catalog"]  # as Kedro resolves it: ${globals:data_root} is data/ here
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    recipe = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    last = recipe.rsplit("@echo", 1)[1]
    assert f" {catalog['scored_leads_crm_latest']['filepath']};" in last


def test_documented_commands_run_in_a_copy_of_the_project(tmp_path):
    project = _project_copy(tmp_path / "project")
    env = _environment()
    setup = Block("setup", 0, "run", "make demo-data\nmkdir exports\ncp data/01_raw/*.csv exports/")
    assert _run(setup, project, env) is None
    blocks = shell_blocks()
    ran, failures, seen = [], [], set()
    for block in blocks:
        if block.body in seen:  # the same command on two pages runs once
            continue
        seen.add(block.body)
        if block.marker == "run":
            failure = _run(block, project, env)
        elif block.marker.startswith("serve: "):
            clients = [
                b for b in blocks if b.marker == "while-serving" and _server_of(b, blocks) == block
            ]
            url = block.marker.removeprefix("serve: ")
            failure = _serve(block, project, env, url, clients)
            ran.extend(str(b) for b in clients)
        else:
            continue
        ran.append(str(block))
        if failure:
            failures.append(failure)
    assert failures == []
    # What the commands left behind: a trained champion scored new leads, the lineage site.
    assert (project / "build" / "api" / "main").is_file()
    assert list((project / "data" / "07_model_output" / "scored_leads_crm.csv").iterdir())
    assert (project / "data" / "07_model_output" / "scored_leads_crm_latest.csv").is_file()
    assert len(ran) >= 15
