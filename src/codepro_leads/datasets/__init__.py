"""Project-specific Kedro datasets.

Imported lazily by name (``codepro_leads.datasets.RawLeadsDataset`` in the catalog), so code
that needs one of them (the app, a node's type hints) does not import the libraries of all.
(A ``kedro run`` builds every entry anyway: kedro-mlflow's hook walks the whole catalog.)
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
