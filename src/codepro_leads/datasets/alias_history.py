"""The audit trail of registry aliases: one row per move of ``champion`` or ``challenger``
(training, promote, rollback), in the score store beside the scores.

A move is recorded before the alias moves (``state`` pending), then marked done, or undone if
the move failed. A pending row left by a crash in between is settled by the next command that
moves an alias (``model_registry``): done if the alias points at its version, else undone.
"""

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
    """One history row, stamped with a new id, the current UTC time and who made the change:
    CODEPRO_USER when set (a scheduler acting for someone), else the operating-system user."""
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
    """``alias_history`` in the score store (``credentials: {con: <database URL>}``). Loading
    gives every row, oldest first; saving adds rows, or sets the state of an event saved
    before (same event id). Rows of a table from before ``state`` existed are done."""

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
