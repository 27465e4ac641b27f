"""Read-only queries of the score store; tables that do not exist yet read as empty."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
import sqlalchemy as sa

SCORES = "scored_leads"
MONITORING = "monitoring_runs"
PERFORMANCE = "model_performance"


@dataclass(frozen=True)
class LeadFilter:
    """Which stored leads to list (None: any); the days are inclusive."""

    grades: tuple[str, ...] | None = None
    created_from: date | None = None
    created_to: date | None = None
    junk: bool | None = None


def _table(engine: sa.Engine, name: str) -> sa.Table | None:
    if not sa.inspect(engine).has_table(name):
        return None
    return sa.Table(name, sa.MetaData(), autoload_with=engine)


def _latest_scores(table: sa.Table) -> sa.Subquery:
    """Each lead's most recent champion score (a rescored lead has a row per version)."""
    rank = (
        sa.func.row_number()
        .over(partition_by=table.c.lead_id, order_by=table.c.scored_at.desc())
        .label("recency")
    )
    # Stores written before the `role` column existed hold champion scores only.
    champion = [table.c.role == "champion"] if "role" in table.c else []
    ranked = sa.select(table, rank).where(*champion).subquery()
    return sa.select(ranked).where(ranked.c.recency == 1).subquery()


def leads_to_call(engine: sa.Engine, wanted: LeadFilter) -> pd.DataFrame:
    """The latest score of every lead matching ``wanted``, best score first."""
    table = _table(engine, SCORES)
    if table is None:
        return pd.DataFrame()
    latest = _latest_scores(table)
    where = []
    if wanted.grades is not None:
        where.append(latest.c.grade.in_(wanted.grades))
    if wanted.created_from is not None:
        where.append(latest.c.created_date >= wanted.created_from)
    if wanted.created_to is not None:
        where.append(latest.c.created_date < wanted.created_to + timedelta(days=1))
    if wanted.junk is not None:
        where.append(latest.c.is_junk == wanted.junk)
    columns = [c for c in latest.c if c.name not in ("recency", "role")]
    query = (
        sa.select(*columns)
        .where(*where)
        .order_by(latest.c.score.desc(), latest.c.probability.desc(), latest.c.lead_id)
    )
    return pd.read_sql(query, engine)


@dataclass(frozen=True)
class StoreSummary:
    """What the filters can offer: grades present and the span of creation dates."""

    leads: int
    grades: tuple[str, ...]
    first_created: date | None
    last_created: date | None


def summary(engine: sa.Engine) -> StoreSummary:
    table = _table(engine, SCORES)
    if table is None:
        return StoreSummary(0, (), None, None)
    current = _latest_scores(table)
    with engine.connect() as connection:
        leads, first, last = connection.execute(
            sa.select(
                sa.func.count(),
                sa.func.min(current.c.created_date),
                sa.func.max(current.c.created_date),
            )
        ).one()
        grades = connection.scalars(sa.select(current.c.grade).distinct()).all()
    return StoreSummary(
        leads=int(leads),
        grades=tuple(sorted(g for g in grades if g is not None)),
        first_created=pd.Timestamp(first).date() if first is not None else None,
        last_created=pd.Timestamp(last).date() if last is not None else None,
    )


def score_distribution(engine: sa.Engine, model_version: str) -> pd.DataFrame:
    """Leads per score (0-100) among the latest champion scores of ``model_version``."""
    table = _table(engine, SCORES)
    if table is None:
        return pd.DataFrame({"score": [], "leads": []})
    latest = _latest_scores(table)
    query = (
        sa.select(latest.c.score, sa.func.count().label("leads"))
        .where(latest.c.model_version == model_version)
        .group_by(latest.c.score)
        .order_by(latest.c.score)
    )
    return pd.read_sql(query, engine)


def whole_table(engine: sa.Engine, name: str, order_by: str) -> pd.DataFrame:
    """Every row of a small reporting table (monitoring runs, realized performance)."""
    table = _table(engine, name)
    if table is None:
        return pd.DataFrame()
    query = sa.select(table)
    if order_by in table.c:
        query = query.order_by(table.c[order_by])
    return pd.read_sql(query, engine)
