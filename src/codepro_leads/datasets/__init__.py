"""Project-specific Kedro datasets."""

from codepro_leads.datasets.model_registry import (
    LeadScorerModelDataset,
    ModelAliasDataset,
    RegisteredModel,
    RegisteredModelDataset,
)
from codepro_leads.datasets.optional_parquet_dataset import OptionalParquetDataset
from codepro_leads.datasets.raw_leads_dataset import PARSE_ERROR_COLUMN, RawLeadsDataset
from codepro_leads.datasets.upsert_table_dataset import UpsertTableDataset

__all__ = [
    "PARSE_ERROR_COLUMN",
    "LeadScorerModelDataset",
    "ModelAliasDataset",
    "OptionalParquetDataset",
    "RawLeadsDataset",
    "RegisteredModel",
    "RegisteredModelDataset",
    "UpsertTableDataset",
]
