"""The audit trail of registry aliases in the score store: one row per move of ``champion`` or
``challenger``, recorded pending before the alias moves, then done or undone (a row a crash
left pending is settled by the next move, see ``model_registry``)."""

from __future__ import annotations

import getpass
import os
import uuid
from typing import Any

import pandas as pd

from codepro_leads.datasets.upsert_table_dataset import UpsertTableDataset

TABLE = "alias_history"
COLUMNS = {
    "event_id": "text",
    "changed_at": "timestamp",
    "model_name": "text",
    "alias": "text",  # champion or challenger
    "model_version": "text",  # the version the alias now points at
    "previous_version": "text",  # the version it pointed at before (null: none)
    "action": "text",  # training (automatic), promote or rollback (by hand)
    "changed_by": "text",
    "reason": "text",
    "run_id": "text",  # the MLflow run of a training; null for changes by hand
    "state": "text",  # pending (recorded, alias not yet moved), done or undone
}
PENDING, DONE, UNDONE = "pending", "done", "undone"


def history_row(
    model_name: str,
    alias: str,
    version: str,
    previous: str | None,
    action: str,
    reason: str,
    run_id: str | None = None,
) -> dict[str, Any]:
    """A new pending row, by CODEPRO_USER (a scheduler acting for someone) or the OS user."""
    return {
        "event_id": uuid.uuid4().hex,
        "changed_at": pd.Timestamp.now(tz="UTC").tz_localize(None),
        "model_name": model_name,
        "alias": alias,
        "model_version": str(version),
        "previous_version": None if previous is None else str(previous),
        "action": action,
        "changed_by": os.environ.get("CODEPRO_USER") or getpass.getuser(),
        "reason": reason,
        "run_id": run_id,
        "state": PENDING,
    }


class AliasHistoryDataset(UpsertTableDataset):
    """Loads every row, oldest first; saving adds rows or sets the state of a saved event.
    Rows of a table from before ``state`` existed are done."""

    def __init__(self, credentials: dict[str, Any], metadata: dict[str, Any] | None = None) -> None:
        super().__init__(
            TABLE,
            COLUMNS,
            ["event_id"],
            credentials,
            added_columns={"state": DONE},
            metadata=metadata,
        )

    def load(self) -> pd.DataFrame:
        rows = super().load()
        rows["changed_at"] = pd.to_datetime(rows["changed_at"])
        return rows.sort_values("changed_at", kind="stable", ignore_index=True)
