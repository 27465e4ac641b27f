"""Project-specific Kedro datasets.

Imported lazily by name (``codepro_leads.datasets.RawLeadsDataset`` in the catalog), so a
pipeline that reads a CSV does not pay for importing MLflow.
"""

from importlib import import_module
from typing import Any

_HOMES = {
    "AtomicDataset": "atomic",
    "BatchedRunDataset": "batched_run_dataset",
    "LeadBatchesDataset": "lead_batches_dataset",
    "LeadScorerModelDataset": "scorer_model_dataset",
    "ModelAliasDataset": "model_registry",
    "OptionalParquetDataset": "optional",
    "OptionalYAMLDataset": "optional",
    "RawLeadsDataset": "raw_leads_dataset",
    "RegisteredModel": "model_registry",
    "RegisteredModelDataset": "model_registry",
    "UpsertTableDataset": "upsert_table_dataset",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
