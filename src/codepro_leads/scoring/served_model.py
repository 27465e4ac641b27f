"""MLflow's models-from-code entry point; the state comes from an artifact (``load_context``)."""

from mlflow.models import set_model

from codepro_leads.scoring.pyfunc import LeadScoringModel

set_model(LeadScoringModel.to_load())
