"""The score table: saving the same keys again replaces rows, other keys are appended."""

from __future__ import annotations

import pandas as pd
import pytest
from kedro.io import DatasetError

from codepro_leads.datasets import UpsertTableDataset


def _scores(ids, version, score):
    return pd.DataFrame({"lead_id": ids, "model_version": version, "score": score})


def test_rerun_replaces_and_new_keys_append(tmp_path):
    table = UpsertTableDataset(
        "scored_leads", ["lead_id", "model_version"], {"con": f"sqlite:///{tmp_path / 's.db'}"}
    )
    assert not table.exists()
    table.save(_scores([1, 2, 3], "1", 10))
    table.save(_scores([2, 3], "1", 20))  # same leads, same model: replaced
    table.save(_scores([3], "2", 30))  # another model version: kept beside
    stored = table.load().sort_values(["model_version", "lead_id"]).reset_index(drop=True)
    assert stored.to_dict("list") == {
        "lead_id": [1, 2, 3, 3],
        "model_version": ["1", "1", "1", "2"],
        "score": [10, 20, 20, 30],
    }


def test_credentials_must_name_a_database():
    with pytest.raises(DatasetError, match="scored_leads: credentials need a 'con' database URL"):
        UpsertTableDataset("scored_leads", ["lead_id"], {})
