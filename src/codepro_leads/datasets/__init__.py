"""Project-specific Kedro datasets, imported lazily by name: code that needs one of them does
not import the libraries of all."""

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
