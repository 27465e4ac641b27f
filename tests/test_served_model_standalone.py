"""The logged model is self-contained: `mlflow models serve` runs it from a fresh virtualenv
built only from the model's own requirements.txt, outside the project (no checkout on the
path, the project not installed, no PYTHONPATH), and answers over HTTP with the scorer's
scores. Takes 1 to 3 minutes, most of it pip."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest

from codepro_leads.features.processing import prepare_leads
from codepro_leads.scoring.factor_texts import factor_texts
from tests.scoring.test_pyfunc import (
    log_model,
    new_leads,
    records,
    refuse_nan,
    tracking_store,
    train_model,
)
from tests.services import free_port, stop_process_group

pytestmark = pytest.mark.slow


def _post(port: int, payload: Any) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/invocations",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read(), parse_constant=refuse_nan)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _wait_until_up(port: int, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2)
            return
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                pytest.fail(f"mlflow models serve did not come up:\n{log.read_text()[-3000:]}")
            time.sleep(1)


def test_logged_model_serves_from_a_fresh_virtualenv_of_its_own_requirements(tmp_path):
    started = time.monotonic()
    model = train_model()
    with tracking_store(tmp_path):
        uri = log_model(model)
        local = Path(mlflow.artifacts.download_artifacts(uri, dst_path=str(tmp_path / "model")))

    venv, elsewhere = tmp_path / "venv", tmp_path / "elsewhere"
    elsewhere.mkdir()
    subprocess.run(["python3.11", "-m", "venv", str(venv)], check=True)
    pip_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    pip = subprocess.run(
        [venv / "bin/python", "-m", "pip", "install", "-q", "-r", local / "requirements.txt"],
        env=pip_env,
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert pip.returncode == 0, pip.stderr[-3000:]
    # Only the virtualenv: the project is neither installed there nor on the path.
    clean_env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    no_project = subprocess.run(
        [venv / "bin/python", "-c", "import codepro_leads"],
        env=clean_env,
        cwd=elsewhere,
        capture_output=True,
    )
    assert no_project.returncode != 0

    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as output:
        server = subprocess.Popen(
            [
                venv / "bin/mlflow",
                "models",
                "serve",
                "-m",
                str(local),
                "--env-manager",
                "local",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=clean_env,
            cwd=elsewhere,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # uvicorn runs in a child: stop the whole group
        )
    try:
        _wait_until_up(port, server, log)
        raw = new_leads(model.processing_params).astype({"total_leads_droppped": object})
        raw.loc[2, "total_leads_droppped"] = "1e20"
        status, body = _post(port, {"dataframe_records": records(raw)})
        one_by_one = [_post(port, {"dataframe_records": [record]}) for record in records(raw)]
        empty_status, empty = _post(port, {"dataframe_records": []})
    finally:
        stop_process_group(server)
    print(f"fresh virtualenv + serve + requests: {time.monotonic() - started:.0f} s")

    assert status == 200
    answer = pd.DataFrame(body["predictions"])
    # Keys come back as text whatever JSON type they were sent as (issue 21).
    assert answer["lead_id"].tolist() == [str(key) for key in raw["lead_id"]]
    assert answer["rejected_reason"].tolist() == [
        None,
        None,
        "total_leads_droppped: above 1e+06 ('1e20')",
        None,
        None,
        None,
    ]
    valid = raw.drop(index=2)
    expected = model.scorer.score(prepare_leads(valid, model.processing_params)[0])
    scored = answer.drop(index=2).reset_index(drop=True)
    assert scored["probability"].tolist() == expected["probability"].round(4).tolist()
    assert scored["score"].tolist() == expected["score"].tolist()
    assert scored["grade"].tolist() == expected["grade"].tolist()
    factors = [c for c in expected.columns if "factor" in c and not c.endswith("_effect")]
    assert (
        scored[factors].to_numpy().tolist()
        == expected[factors].where(expected[factors].notna(), None).to_numpy().tolist()
    )
    crm = factor_texts(expected)  # the CRM export's words
    assert scored["raises_score"].tolist() == crm["raises_score"].tolist()
    assert scored["lowers_score"].tolist() == crm["lowers_score"].tolist()
    # One lead per request answers as the whole request did.
    assert [status for status, _ in one_by_one] == [200] * len(raw)
    assert [answer for _, single in one_by_one for answer in single["predictions"]] == body[
        "predictions"
    ]
    assert empty_status == 400
    assert empty["message"].endswith("Error: no leads: send at least one record")
