"""Project settings. kedro-mlflow registers its own hooks through its plugin entry point."""

import warnings

from omegaconf.resolvers import oc

from codepro_leads.hooks import PipelineTimer

# Known, harmless warnings from the pinned dependencies that would bury the run log:
# omegaconf 2.4 deprecates the resolver API that Kedro and kedro-mlflow still call, and MLflow
# warns about kedro-mlflow's model class on import.
warnings.filterwarnings("ignore", message="register_new_resolver", category=UserWarning)
warnings.filterwarnings("ignore", message=".*Add type hints to the `predict`", category=UserWarning)

HOOKS = (PipelineTimer(),)

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # Lets mlflow.yml read MLFLOW_TRACKING_URI (Kedro enables oc.env for credentials only).
    "custom_resolvers": {"oc.env": oc.env},
}
