"""Project settings."""

import os
import warnings

from omegaconf.resolvers import oc

from codepro_leads.config_loader import ProjectConfigLoader
from codepro_leads.hooks import PromotionHook, PromotionRulesHook
from codepro_leads.mlflow_hook import TrackedPipelinesMlflowHook
from codepro_leads.mlflow_lineage import MlflowLineageHook
from codepro_leads.run_summary import RunSummaryHook

# omegaconf 2.4 deprecates the resolver API that Kedro and kedro-mlflow still call.
warnings.filterwarnings("ignore", message="register_new_resolver", category=UserWarning)

# An unreachable tracking server fails in seconds, not after MLflow's 7 retries of 120 s.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")

# MLflow's telemetry honours DO_NOT_TRACK=true only, not the Makefile's DO_NOT_TRACK=1.
if os.environ.get("DO_NOT_TRACK", "").lower() in ("1", "true", "yes"):
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

# TrackedPipelinesMlflowHook replaces the plugin's and starts the MLflow run (hooks needing it
# are trylast). RunSummaryHook stays last: among trylast hooks the last registered runs last.
HOOKS = (
    TrackedPipelinesMlflowHook(),
    PromotionRulesHook(),
    PromotionHook(),
    MlflowLineageHook(),
    RunSummaryHook(),
)
DISABLE_HOOKS_FOR_PLUGINS = ("kedro_mlflow",)

CONFIG_LOADER_CLASS = ProjectConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # For MLFLOW_TRACKING_URI and LEAD_SCORES_DB_URL (Kedro enables oc.env for credentials).
    "custom_resolvers": {"oc.env": oc.env},
    # kedro-mlflow's pattern, which its hook adds only once set up.
    "config_patterns": {"mlflow": ["mlflow*", "mlflow*/**", "**/mlflow*"]},
    # Another env overrides single parameters, not whole top-level blocks.
    "merge_strategy": {"parameters": "soft"},
}
