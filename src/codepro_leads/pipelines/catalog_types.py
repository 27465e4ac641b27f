"""Node type hints for catalog objects of slow-to-import modules (MLflow, SQLAlchemy, Matplotlib),
as protocols: Kedro resolves every node's hints when a session starts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd


class RegisteredModel(Protocol):
    """A registry model as ``RegisteredModelDataset`` loads it."""

    name: str
    version: str
    model: Any  # the unwrapped python model (LeadScoringModel)


class StoredScores(Protocol):
    """The score store's lookup by lead."""

    def for_leads(self, lead_ids: pd.Series) -> pd.DataFrame: ...


class Figure(Protocol):
    """A chart a ``MatplotlibDataset`` saves (``matplotlib.figure.Figure``)."""

    def savefig(self, fname: Any, **kwargs: Any) -> None: ...


@dataclass(frozen=True)
class AlreadyRegistered:
    """Saved to ``lead_scorer_model`` when a version of the same data and parameters exists."""

    version: str
