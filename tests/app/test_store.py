"""The app's score store queries on SQLite and PostgreSQL: each lead's latest champion score,
the filters, the summary and the score distribution."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa

from codepro_leads.app import store

EARLY, LATE = datetime(2022, 2, 21, 6), datetime(2022, 3, 2, 6)
ROWS = [
    # lead, version, role, created, score, grade, junk, scored at
    ("L1", "1", "champion", datetime(2022, 2, 20, 9), 80, "A", False, EARLY),
    ("L1", "2", "champion", datetime(2022, 2, 20, 9), 60, "B", False, LATE),
    ("L2", "1", "champion", datetime(2022, 2, 21, 23, 59), 30, "C", True, EARLY),
    ("L2", "2", "shadow", datetime(2022, 2, 21, 23, 59), 95, "A", False, LATE),
    ("L3", "2", "champion", datetime(2022, 3, 1, 8), 90, "A", False, LATE),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'lead_scores.db'}"
    return request.getfixturevalue("postgres_url")


def _fill(url: str, with_role: bool) -> sa.Engine:
    """A score table as inference writes it (with or without the later `role` column)."""
    columns = [
        sa.Column("lead_id", sa.Text),
        sa.Column("model_version", sa.Text),
        sa.Column("created_date", sa.DateTime),
        sa.Column("probability", sa.Float),
        sa.Column("score", sa.Integer),
        sa.Column("grade", sa.Text),
        sa.Column("is_junk", sa.Boolean),
        sa.Column("up_factors", sa.Text),
        sa.Column("down_factors", sa.Text),
        sa.Column("scored_at", sa.DateTime),
    ]
    if with_role:
        columns.append(sa.Column("role", sa.Text))
    table = sa.Table(store.SCORES, sa.MetaData(), *columns)
    engine = sa.create_engine(url)
    rows = [
        {
            "lead_id": lead,
            "model_version": version,
            "created_date": created,
            "probability": score / 100,
            "score": score,
            "grade": grade,
            "is_junk": junk,
            "up_factors": '[{"factor": "city_tier=1", "effect": 0.5}]',
            "down_factors": "[]",
            "scored_at": scored_at,
            **({"role": role} if with_role else {}),
        }
        for lead, version, role, created, score, grade, junk, scored_at in ROWS
        if with_role or role == "champion"
    ]
    with engine.begin() as connection:
        table.create(connection)
        connection.execute(table.insert(), rows)
    return engine


@pytest.mark.parametrize("with_role", [True, False])
def test_latest_champion_score_per_lead_filtered(store_url, with_role):
    engine = _fill(store_url, with_role)

    def listed(**wanted) -> list[tuple[str, str, int]]:
        leads = store.leads_to_call(engine, store.LeadFilter(**wanted))
        return list(zip(leads["lead_id"], leads["model_version"], leads["score"], strict=True))

    assert listed() == [("L3", "2", 90), ("L1", "2", 60), ("L2", "1", 30)]
    assert listed(junk=False) == [("L3", "2", 90), ("L1", "2", 60)]
    assert listed(junk=True) == [("L2", "1", 30)]
    assert listed(grades=("A", "C")) == [("L3", "2", 90), ("L2", "1", 30)]
    assert listed(grades=()) == []
    # Whole days, both ends included.
    assert listed(created_from=date(2022, 2, 20), created_to=date(2022, 2, 21)) == [
        ("L1", "2", 60),
        ("L2", "1", 30),
    ]
    assert listed(created_from=date(2022, 2, 22)) == [("L3", "2", 90)]
    assert "role" not in store.leads_to_call(engine, store.LeadFilter()).columns

    assert store.summary(engine) == store.StoreSummary(
        leads=3,
        grades=("A", "B", "C"),
        first_created=date(2022, 2, 20),
        last_created=date(2022, 3, 1),
    )
    distribution = store.score_distribution(engine, "2")
    assert distribution.to_dict("list") == {"score": [60, 90], "leads": [1, 1]}


def test_a_store_without_tables_reads_as_empty(store_url):
    engine = sa.create_engine(store_url)
    assert store.leads_to_call(engine, store.LeadFilter()).empty
    assert store.summary(engine) == store.StoreSummary(0, (), None, None)
    assert store.score_distribution(engine, "1").empty
    assert store.whole_table(engine, store.MONITORING, order_by="scored_at").empty
