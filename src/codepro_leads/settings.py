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

# MLflow's documented client settings: an unreachable tracking server fails in seconds with
# one line, not after minutes of retries (MLflow's defaults: 7 retries, 120 s timeout). Values
# the user sets win.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")

# The usual opt-out DO_NOT_TRACK=1 (as the Makefile sets it) also reaches MLflow's usage
# telemetry, which only honours DO_NOT_TRACK=true or MLFLOW_DISABLE_TELEMETRY.
if os.environ.get("DO_NOT_TRACK", "").lower() in ("1", "true", "yes"):
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

# kedro-mlflow's hook, set up only when a tracked pipeline runs (mlflow_hook.py), in place of
# the instance its plugin entry point registers. It starts the MLflow run; the project's hooks
# are trylast where they need that run. RunSummaryHook stays last: among the trylast hooks the
# last registered runs last, so its summary is the last thing a run prints.
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
    # Lets mlflow.yml and the catalog read MLFLOW_TRACKING_URI and LEAD_SCORES_DB_URL (Kedro
    # enables oc.env for credentials only).
    "custom_resolvers": {"oc.env": oc.env},
    # kedro-mlflow's pattern, which its hook would otherwise add once it is set up.
    "config_patterns": {"mlflow": ["mlflow*", "mlflow*/**", "**/mlflow*"]},
    # conf/local (or another env) overrides single parameters, e.g. only
    # training.quality_floor, instead of replacing the whole top-level block.
    "merge_strategy": {"parameters": "soft"},
}
