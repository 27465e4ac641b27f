"""What nodes use of catalog objects whose classes live in slow-to-import modules (MLflow's
registry client, SQLAlchemy, Matplotlib), as protocols, and what a node saves to them.

Kedro resolves every node's type hints when a session starts (to validate typed parameters),
so a node hint must name something importable; these keep that start-up free of those modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd


class RegisteredModel(Protocol):
    """A registry model as ``RegisteredModelDataset`` loads it
    (``codepro_leads.datasets.model_registry.RegisteredModel``)."""

    name: str
    version: str
    model: Any  # the unwrapped python model (LeadScoringModel)


class StoredScores(Protocol):
    """The score store's lookup by lead (``codepro_leads.datasets.stored_scores``)."""

    def for_leads(self, lead_ids: pd.Series) -> pd.DataFrame: ...


class Figure(Protocol):
    """A chart a ``MatplotlibDataset`` saves (``matplotlib.figure.Figure``)."""

    def savefig(self, fname: Any, **kwargs: Any) -> None: ...


@dataclass(frozen=True)
class AlreadyRegistered:
    """What training saves to ``lead_scorer_model`` when a finished version was trained on
    the same data and parameters: ``LeadScorerModelDataset`` registers nothing."""

    version: str
