"""Project-specific Kedro datasets."""

from codepro_leads.datasets.raw_leads_dataset import PARSE_ERROR_COLUMN, RawLeadsDataset

__all__ = ["PARSE_ERROR_COLUMN", "RawLeadsDataset"]
