"""Errors a user can act on. The CLI prints them as one line, without a traceback."""


class UserFacingError(Exception):
    """A problem with the inputs of a run (data or models), not with the code."""


class LeadDataError(UserFacingError, ValueError):
    """A fatal problem with an input file: missing, empty, unreadable or lacking columns.

    The message is one line that names the file and what is wrong with it. (Bad rows are
    rejected instead, never raised.)
    """


class ModelNotFoundError(UserFacingError, LookupError):
    """The model registry has no model under the requested name, alias or version."""


class TrainingDataError(UserFacingError, ValueError):
    """The leads cannot train a model: no label, or too few leads of a class."""


class Terminated(UserFacingError):
    """The command was asked to stop (SIGTERM: an Airflow timeout, a kill). Raised where the
    process is, so it unwinds: transactions roll back, temporaries are removed, the MLflow run
    and the promotion gate see a failed run."""


class ConfigError(UserFacingError, ValueError):
    """A parameter has a value the project does not know (a typo would otherwise silently
    select a default)."""
