"""The score table on SQLite and on a real PostgreSQL server: a fixed schema with the key as
primary key, a real upsert, all rows of a save or none, and clear errors for rows or tables
of another shape."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa
from kedro.io import DatasetError

from codepro_leads.datasets import UpsertTableDataset
from codepro_leads.datasets.upsert_table_dataset import TableSchemaError

COLUMNS = {
    "lead_id": "text",
    "model_version": "text",
    "created_date": "timestamp",
    "probability": "float",
    "score": "integer",
    "is_junk": "boolean",
    "up_factors": "text",
}
KEY = ["lead_id", "model_version"]


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'scores.db'}"
    return request.getfixturevalue("postgres_url")  # a new database on the test server


def _table(url: str) -> UpsertTableDataset:
    return UpsertTableDataset("scored_leads", COLUMNS, KEY, {"con": url})


def _scores(ids, version="1", score=10) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lead_id": ids,
            "model_version": version,
            "created_date": pd.Timestamp("2022-03-01 10:00:00"),
            "probability": 0.25,
            "score": score,
            "is_junk": False,
            "up_factors": '[{"factor": "city_tier=1", "effect": 0.5}]',
        }
    )


def _stored(table: UpsertTableDataset) -> dict[str, list]:
    stored = table.load().sort_values(["model_version", "lead_id"]).reset_index(drop=True)
    return stored[["lead_id", "model_version", "score"]].to_dict("list")


def test_rerun_replaces_and_new_keys_append(url):
    table = _table(url)
    assert not table.exists()
    table.save(_scores([1, 2, 3], score=10))
    table.save(_scores([2, 3], score=20))  # same leads, same model: replaced
    table.save(_scores(["3"], version="2", score=30))  # another model version: kept beside
    assert _stored(table) == {
        "lead_id": ["1", "2", "3", "3"],
        "model_version": ["1", "1", "1", "2"],
        "score": [10, 20, 20, 30],
    }


def test_keys_are_text_whatever_their_type_in_a_batch(url):
    table = _table(url)
    table.save(_scores([7, 8]))
    table.save(_scores(["7", "x-9"], score=40))  # 7 and "7" are the same lead
    assert _stored(table) == {
        "lead_id": ["7", "8", "x-9"],
        "model_version": ["1", "1", "1"],
        "score": [40, 10, 40],
    }


def test_values_round_trip_with_their_types_and_missing_values(url):
    table = _table(url)
    rows = _scores([1, 2])
    rows["created_date"] = pd.to_datetime(["2022-03-01 10:00:01", None])
    rows["probability"] = [0.123456789012, float("nan")]
    rows["is_junk"] = [True, False]
    rows["up_factors"] = ["", None]  # an empty text is not a missing one
    table.save(rows)
    stored = table.load().sort_values("lead_id").reset_index(drop=True)
    assert stored["created_date"].tolist()[0] == pd.Timestamp("2022-03-01 10:00:01")
    assert pd.isna(stored["created_date"].tolist()[1])
    assert stored["probability"].tolist()[0] == 0.123456789012
    assert pd.isna(stored["probability"].tolist()[1])
    assert stored["is_junk"].tolist() == [True, False]
    assert stored["up_factors"].tolist() == ["", None]
    assert stored["score"].tolist() == [10, 10]


def test_the_key_is_the_primary_key_of_the_created_table(url):
    table = _table(url)
    table.save(_scores([1]).head(0))  # an empty batch still creates the table
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        assert inspector.get_pk_constraint("scored_leads")["constrained_columns"] == KEY
        assert [col["name"] for col in inspector.get_columns("scored_leads")] == list(COLUMNS)
    finally:
        engine.dispose()


def test_a_save_that_fails_half_way_stores_none_of_its_rows(url):
    table = _table(url)
    table.save(_scores([1], score=10))
    batch = _scores([1, 2, 3, None], score=50)  # the last row breaks the NOT NULL key
    with pytest.raises(Exception, match="(?i)not.null"):
        table.save(batch)
    assert _stored(table) == {"lead_id": ["1"], "model_version": ["1"], "score": [10]}
    engine = sa.create_engine(url)
    try:  # no staging table left behind
        assert sa.inspect(engine).get_table_names() == ["scored_leads"]
    finally:
        engine.dispose()


def test_rows_of_another_shape_are_refused_before_anything_is_written(url):
    table = _table(url)
    with pytest.raises(TableSchemaError, match="rows for table scored_leads have columns"):
        table.save(_scores([1]).assign(up_factor_4="a=1"))
    assert not table.exists()
    with pytest.raises(DatasetError, match=r"repeat a key \['lead_id', 'model_version'\]"):
        table.save(_scores([7, "7"]))  # one lead twice, as stored keys are text


def test_a_table_of_an_older_schema_is_named_not_patched(url):
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        pd.DataFrame({"lead_id": [1], "up_factor_1": ["a=1"]}).to_sql("scored_leads", conn)
    engine.dispose()
    with pytest.raises(TableSchemaError, match="table scored_leads of .* rename or drop it"):
        _table(url).save(_scores([1]))


def test_the_declared_schema_is_checked():
    with pytest.raises(DatasetError, match="scored_leads: credentials need a 'con' database URL"):
        UpsertTableDataset("scored_leads", COLUMNS, KEY, {})
    with pytest.raises(DatasetError, match=r"unknown column types \{'score': 'int'\}"):
        UpsertTableDataset("scored_leads", {**COLUMNS, "score": "int"}, KEY, {"con": "x"})
    with pytest.raises(DatasetError, match=r"key columns \['run_id'\] are not in columns"):
        UpsertTableDataset("scored_leads", COLUMNS, ["run_id"], {"con": "x"})


def test_batches_of_one_save_are_one_transaction(url):
    table = _table(url)
    table.save(iter([_scores([1, 2], score=10), _scores([3], score=10), _scores([])]))
    assert _stored(table)["lead_id"] == ["1", "2", "3"]

    def batches_then_failure():
        yield _scores([4, 5], score=20)  # stored in the open transaction...
        yield _scores([1], score=20)
        raise RuntimeError("row accounting failed")  # ...which the failure rolls back

    with pytest.raises(DatasetError, match="row accounting failed"):
        table.save(batches_then_failure())
    assert _stored(table) == {
        "lead_id": ["1", "2", "3"],
        "model_version": ["1", "1", "1"],
        "score": [10, 10, 10],
    }


def test_a_declared_added_column_is_added_to_an_older_table_with_its_value(url):
    _table(url).save(_scores([1, 2], score=10))  # a table from before the role column
    declared = {"lead_id": "text", "model_version": "text", "role": "text", **COLUMNS}
    with_role = UpsertTableDataset(
        "scored_leads", declared, KEY, {"con": url}, added_columns={"role": "champion"}
    )
    # Before the save that adds it, the rows load with its value, in the declared place.
    assert with_role.load().sort_values("lead_id")["role"].tolist() == ["champion", "champion"]
    assert list(with_role.load().columns) == list(declared)
    # A declared column that is not an added one must be stored.
    with_grade = UpsertTableDataset(
        "scored_leads",
        {**declared, "grade": "text"},
        KEY,
        {"con": url},
        added_columns={"role": "champion"},
    )
    with pytest.raises(TableSchemaError, match="table scored_leads of .* rename or drop it"):
        with_grade.load()
    with_role.save(_scores([3], version="2").assign(role="shadow"))
    stored = with_role.load().sort_values("lead_id")
    assert stored[["lead_id", "role"]].to_dict("list") == {
        "lead_id": ["1", "2", "3"],
        "role": ["champion", "champion", "shadow"],
    }
    with pytest.raises(DatasetError, match=r"added columns \['lead_id'\] must be declared value"):
        UpsertTableDataset("t", COLUMNS, KEY, {"con": url}, added_columns={"lead_id": "x"})
