"""The lineage kedro-viz shows: `kedro viz build` (as `make viz-build` runs it) in a throw-away
copy of the project, checked through the JSON it exports, then drawn by headless Chromium.

The screenshot of the training graph is kept at data/08_reporting/screens/viz_training.png for
a reviewer to look at.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.browser import browser_page, screen_path
from tests.conftest import PROJECT_ROOT, make_project
from tests.services import free_port, stop_process_group

# kedro-viz's layers, in the order data flows through them.
LAYERS = ["raw", "intermediate", "primary", "model_input", "models", "model_output", "reporting"]


@pytest.fixture(scope="module")
def viz_build(tmp_path_factory) -> Path:
    """The static site of `kedro viz build`, made in a copy of the project."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        root = make_project(tmp_path_factory.mktemp("viz"), monkeypatch)
        kedro = Path(sys.executable).with_name("kedro")
        env = {**os.environ, "DO_NOT_TRACK": "1", "KEDRO_DISABLE_TELEMETRY": "1"}
        done = subprocess.run(
            [str(kedro), "viz", "build"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (root / "build" / "api" / "main").exists(), done.stdout[-3000:]
    return root / "build"


@pytest.fixture(scope="module")
def registered() -> set[str]:
    from kedro.framework.project import pipelines
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(PROJECT_ROOT)
    return set(pipelines)


def _exported(build: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in (build / "api" / "pipelines").iterdir()}


def _datasets(graph: dict) -> dict[str, dict]:
    return {n["id"]: n for n in graph["nodes"] if n["type"] == "data"}


def _produced_and_consumed(graph: dict) -> tuple[set[str], set[str]]:
    """Names of the datasets a pipeline's nodes write, and of those they read."""
    data = _datasets(graph)
    written = {data[e["target"]]["name"] for e in graph["edges"] if e["target"] in data}
    read = {data[e["source"]]["name"] for e in graph["edges"] if e["source"] in data}
    return written, read


@pytest.mark.slow
def test_every_registered_pipeline_is_exported(viz_build, registered):
    main = json.loads((viz_build / "api" / "main").read_text())
    assert {p["id"] for p in main["pipelines"]} == registered
    assert set(_exported(viz_build)) == registered


@pytest.mark.slow
def test_every_dataset_of_every_pipeline_has_a_layer(viz_build):
    missing = {
        (pipeline, node["name"])
        for pipeline, graph in _exported(viz_build).items()
        for node in _datasets(graph).values()
        if node.get("layer") not in LAYERS
    }
    assert missing == set()


def test_every_catalog_entry_and_factory_declares_a_layer():
    """Entries no pipeline uses yet included ("_name" keys are YAML anchors, not datasets)."""
    missing = []
    for path in sorted((PROJECT_ROOT / "conf" / "base").glob("catalog*.yml")):
        for name, entry in (yaml.safe_load(path.read_text()) or {}).items():
            if name.startswith("_"):
                continue
            layer = ((entry.get("metadata") or {}).get("kedro-viz") or {}).get("layer")
            if layer not in LAYERS:
                missing.append(f"{path.name}: {name}")
    assert missing == []


@pytest.mark.slow
def test_layers_only_flow_forward_through_each_node(viz_build):
    """No node reads a later layer than it writes, so kedro-viz can order the layer bands."""
    backwards = []
    for pipeline, graph in _exported(viz_build).items():
        data = _datasets(graph)
        reads: dict[str, list[dict]] = {}
        writes: dict[str, list[dict]] = {}
        for edge in graph["edges"]:
            if edge["source"] in data:
                reads.setdefault(edge["target"], []).append(data[edge["source"]])
            if edge["target"] in data:
                writes.setdefault(edge["source"], []).append(data[edge["target"]])
        for task, inputs in reads.items():
            for read, written in itertools.product(inputs, writes.get(task, [])):
                if LAYERS.index(read["layer"]) > LAYERS.index(written["layer"]):
                    backwards.append(f"{pipeline}: {read['name']} -> {written['name']}")
        assert graph["layers"], f"{pipeline}: kedro-viz found no order of its layers"
    assert backwards == []


@pytest.mark.slow
def test_no_in_memory_dataset_is_handed_from_one_pipeline_to_another(viz_build, registered):
    """A hand-off between pipelines must be persisted: each pipeline runs on its own."""
    graphs = {name: g for name, g in _exported(viz_build).items() if name != "__default__"}
    memory = {
        n["name"]
        for g in graphs.values()
        for n in _datasets(g).values()
        if n["dataset_type"].endswith("MemoryDataset")
    }
    dangling = []
    for (writer, w_graph), (reader, r_graph) in itertools.permutations(graphs.items(), 2):
        written, _ = _produced_and_consumed(w_graph)
        r_written, r_read = _produced_and_consumed(r_graph)
        for name in sorted(memory & written & (r_read - r_written)):
            dangling.append(f"{name}: written by {writer}, read by {reader}")
    assert dangling == []
    # The real hand-offs are there, persisted.
    for name in ("raw_leads", "new_leads", "model_input_leads", "tuned_lightgbm_params"):
        assert name not in memory


def _serve(build: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--directory", str(build)]
        + ["--bind", "127.0.0.1", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, stopped as one
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/main", timeout=2).close()
            return server, url
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                stop_process_group(server)
                raise
            time.sleep(0.2)


@pytest.mark.slow
def test_the_training_view_as_make_viz_serves_it(viz_build, registered, chromium):
    """The per-pipeline link the docs give (``?pid=training``), in a first-time browser."""
    version = json.loads((viz_build / "api" / "version").read_text())
    assert version["is_outdated"] is False
    assert version["latest"] == version["installed"]
    server, url = _serve(viz_build)
    try:
        with browser_page(chromium, 1800, 1300) as page:
            page.goto(f"{url}/?pid=training")
            page.locator('[data-id="layer-label--model_input"]').wait_for(timeout=60_000)
            # kedro-viz's tour of new features opens over the graph on a first visit;
            # closed once, the browser keeps it closed (the docs say so).
            page.locator(".feature-hints__close").click(timeout=30_000)
            page.locator(".feature-hints__description").wait_for(state="hidden")
            page.wait_for_timeout(2000)  # the graph's layout transition
            page.screenshot(path=screen_path("viz_training"))
            text = page.inner_text("body")
            labels = page.locator('[data-id^="layer-label--"]').evaluate_all(
                "labels => labels.map(l => [l.dataset.id, l.getBoundingClientRect().top])"
            )
    finally:
        stop_process_group(server)

    assert "is here" not in text  # no upgrade banner
    # Every layer of the training graph, drawn top to bottom in data-flow order.
    top_down = sorted(labels, key=lambda label: label[1])
    drawn = [name.removeprefix("layer-label--") for name, _ in top_down]
    assert drawn == ["model_input", "models", "model_output", "reporting"]
    from kedro.framework.project import pipelines

    for node in pipelines["training"].nodes:
        assert node.name in text
    assert "score_new_leads" not in text  # the training pipeline alone
