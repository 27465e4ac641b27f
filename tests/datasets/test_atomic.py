"""Atomic saves: a reader sees the old complete file or the new one, never a temporary."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import fsspec
import pandas as pd
import pytest
from kedro.io import DatasetError

from codepro_leads.datasets.atomic import AtomicDataset, atomic_target, temporary_path


def test_temporary_path_is_hidden_beside_the_file_with_its_suffix():
    first, second = temporary_path("data/x/leads.csv"), temporary_path("data/x/leads.csv")
    assert first.startswith("data/x/.leads.") and first.endswith(".csv")
    assert first != second


def test_saves_through_the_stock_dataset_and_leaves_only_the_file(tmp_path):
    path = tmp_path / "out" / "leads.csv"
    dataset = AtomicDataset(dataset="pandas.CSVDataset", filepath=str(path))
    assert not dataset.exists()
    dataset.save(pd.DataFrame({"a": [1, 2]}))
    assert path.read_text() == "a\n1\n2\n"
    assert dataset.exists() and dataset.load()["a"].tolist() == [1, 2]
    assert [p.name for p in path.parent.iterdir()] == ["leads.csv"]


def test_a_failed_save_keeps_the_previous_file(tmp_path):
    path = tmp_path / "report.json"
    dataset = AtomicDataset(dataset={"type": "json.JSONDataset"}, filepath=str(path))
    dataset.save({"rows": 1})
    with pytest.raises(DatasetError):
        dataset.save({"rows": object()})  # not JSON: fails half-way through the write
    assert dataset.load() == {"rows": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_object_storage_is_written_directly():
    dataset = AtomicDataset(dataset="pandas.CSVDataset", filepath="memory:///atomic/leads.csv")
    dataset.save(pd.DataFrame({"a": [3]}))
    assert fsspec.filesystem("memory").find("/atomic") == ["/atomic/leads.csv"]
    assert dataset.load()["a"].tolist() == [3]


@pytest.mark.parametrize("root", ["file", "memory"])
def test_a_target_that_must_not_overwrite_fails_on_an_existing_file(tmp_path, root):
    fs = fsspec.filesystem(root)
    path = f"{tmp_path if root == 'file' else '/no-clobber'}/run/leads.csv"
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    fs.pipe_file(path, b"first run")
    with (
        pytest.raises(DatasetError, match=f"^{path}: already written"),
        atomic_target(fs, path, overwrite=False) as target,
    ):
        fs.pipe_file(target, b"second run")
    assert fs.cat_file(path) == b"first run"
    assert fs.ls(path.rsplit("/", 1)[0], detail=False) == [path]
    with atomic_target(fs, path) as target:  # a file that is not a run's record is replaced
        fs.pipe_file(target, b"latest")
    assert fs.cat_file(path) == b"latest"


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_temporaries_of_killed_processes_are_removed_by_the_next_save(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    host = socket.gethostname()
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as alive:
        try:
            names = {
                "killed": f".leads.tmp-{host}-{_dead_pid()}-0123abcd.csv",
                "writing": f".leads.tmp-{host}-{alive.pid}-0123abcd.csv",
                "other machine": f".leads.tmp-elsewhere-{_dead_pid()}-0123abcd.csv",
                "other file": f".other.tmp-{host}-{_dead_pid()}-0123abcd.csv",
            }
            for name in names.values():
                (folder / name).write_text("half a file")
            AtomicDataset("pandas.CSVDataset", str(folder / "leads.csv")).save(
                pd.DataFrame({"a": [1]})
            )
        finally:
            alive.kill()
    left = sorted(p.name for p in folder.iterdir())
    assert left == sorted(["leads.csv", *(n for k, n in names.items() if k != "killed")])


def test_sigterm_removes_the_temporary_being_written(tmp_path):
    target = str(tmp_path / "x.csv")
    script = (
        "import sys, time, click, fsspec\n"
        "from codepro_leads import cli\n"
        "from codepro_leads.datasets.atomic import atomic_target\n"
        "try:\n"
        "    with cli._errors_in_one_line():\n"
        f"        with atomic_target(fsspec.filesystem('file'), {target!r}) as t:\n"
        "            open(t, 'w').write('half')\n"
        "            print('writing', t, flush=True)\n"
        "            time.sleep(60)\n"
        "except click.ClickException as error:\n"
        "    error.show()\n"
        "    sys.exit(error.exit_code)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    line = process.stdout.readline()
    while not line.startswith("writing "):  # the package logs its set-up first
        line = process.stdout.readline()
    temporary = line.removeprefix("writing ").strip()
    assert Path(temporary).exists()
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 1
    assert stderr.strip() == "Error: stopped by SIGTERM: files being written were removed"
    assert not Path(temporary).exists() and not (tmp_path / "x.csv").exists()
