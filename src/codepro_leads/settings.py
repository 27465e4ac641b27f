"""Project settings. kedro-mlflow registers its hooks through its plugin entry point."""

from omegaconf.resolvers import oc

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # Lets mlflow.yml read MLFLOW_TRACKING_URI (Kedro enables oc.env for credentials only).
    "custom_resolvers": {"oc.env": oc.env},
}
