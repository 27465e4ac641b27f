"""MLflow's models-from-code entry point: the state comes from the artifact the logging dataset
wrote (``LeadScoringModel.load_context``), so MLflow pickles no Python object."""

from mlflow.models import set_model

from codepro_leads.scoring.pyfunc import LeadScoringModel

set_model(LeadScoringModel.to_load())
