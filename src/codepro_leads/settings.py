"""Project settings."""

import atexit
import gc
import os
import warnings

from omegaconf.resolvers import oc

from codepro_leads.config_loader import ProjectConfigLoader
from codepro_leads.deferred_plugin_cli import defer_kedro_mlflow_commands
from codepro_leads.hooks import ArrowMemoryRelease, PipelineTimer, PromotionHook
from codepro_leads.mlflow_lineage import MlflowLineageHook
from codepro_leads.mlflow_tracking_hook import TrackedRunsMlflowHook

# Kedro's CLI imports settings just before its plugins' commands: kedro-mlflow's would import
# MLflow in every command, `kedro run` included.
defer_kedro_mlflow_commands()

# Known, harmless warnings from the pinned dependencies that would bury the run log:
# omegaconf 2.4 deprecates the resolver API that Kedro and kedro-mlflow still call.
warnings.filterwarnings("ignore", message="register_new_resolver", category=UserWarning)

# An unreachable tracking server should fail in seconds with one line, not after minutes of
# retries (MLflow's defaults: 7 retries with exponential back-off, 120 s timeout).
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")

# DO_NOT_TRACK=1 (the usual spelling, as the Makefile sets it) also switches off MLflow's usage
# telemetry, which only honours "true": otherwise every tracked run fetches its config over the
# network and flushes its queue at exit.
if os.environ.get("DO_NOT_TRACK", "").lower() in ("1", "true", "yes"):
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# mlflow.start_run imports IPython (1 s) to look for a Databricks serverless GPU job to resume.
os.environ.setdefault("MLFLOW_ENABLE_SGC_RUN_RESUMPTION_FOR_DATABRICKS_JOBS", "false")

# LightGBM's OpenMP threads wait for each other at every barrier of a fit. libgomp's default
# spins 300,000 times first: next to one busy process a fit of 240k leads took 5 s (longer
# spins up to 28 s). Sleeping at once (OMP_WAIT_POLICY=PASSIVE) costs 2.6 s on a quiet machine
# instead of 1.3 s. A spin of 1,000 keeps both: 1.3 s quiet, 3.2 s next to a busy process
# (PASSIVE: 2.7 s). Read when LightGBM loads OpenMP, i.e. after these settings; a policy the
# user sets wins.
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "1000")

# At exit CPython's finalisation runs full garbage collections over every object still alive
# (~0.4M after a training run): 1-2 s of a run's wall time. The process frees them all anyway,
# so they are frozen out of those collections, at exit only.
atexit.register(gc.freeze)
# Start-up imports ~0.4M long-lived objects (MLflow, SQLAlchemy, pandas, ...). With CPython's
# default thresholds (700, 10, 10) the heap's growth set off 7 full collections over them while
# a training run started: 0.84 s, 1.1 s with the younger generations. Collecting the youngest
# generation every 10,000 allocations instead of 700 takes 0.4 s in all. Data outside reference
# cycles (frames, arrays) is freed by reference counting either way: inference's peak on 5M
# leads went from 949 to 957 MB.
gc.set_threshold(10_000, 10, 10)

# Registered last, so called before PromotionHook: the MLflow run starts before its
# before_pipeline_run (trylast anyway) and kedro-mlflow ends it first, as with the plugin hook.
# MlflowLineageHook (trylast) names the run once it has started, and describes the registered
# version after PromotionHook has moved the alias.
HOOKS = (
    PipelineTimer(),
    ArrowMemoryRelease(),
    PromotionHook(),
    MlflowLineageHook(),
    TrackedRunsMlflowHook(),
)
# kedro-mlflow's plugin hook is replaced by TrackedRunsMlflowHook (MLflow only for tracked runs).
DISABLE_HOOKS_FOR_PLUGINS = ("kedro-mlflow",)

CONFIG_LOADER_CLASS = ProjectConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # Lets mlflow.yml and the catalog read MLFLOW_TRACKING_URI and LEAD_SCORES_DB_URL (Kedro
    # enables oc.env for credentials only).
    "custom_resolvers": {"oc.env": oc.env},
}
