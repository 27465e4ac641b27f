"""MLflow's models-from-code entry point for the logged LeadScoringModel.

MLflow runs this file when it loads the model; the model's state comes from the artifact the
logging dataset wrote (see ``LeadScoringModel.load_context``), so no Python object is pickled
by MLflow itself.
"""

from mlflow.models import set_model

from codepro_leads.scoring.pyfunc import LeadScoringModel

set_model(LeadScoringModel.to_load())
