"""Errors a user can act on: the CLI prints them as one line, without a traceback."""


def first_line(error: BaseException) -> str:
    """The gist of an error: SQLAlchemy appends the SQL statement and a link on more lines."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


class UserFacingError(Exception):
    """A problem with the inputs of a run (data or models), not with the code."""


class LeadDataError(UserFacingError, ValueError):
    """An input file is missing, empty, unreadable or lacks columns (bad rows are rejected)."""


class ModelNotFoundError(UserFacingError, LookupError):
    """The model registry has no model under the requested name, alias or version."""


class TrainingDataError(UserFacingError, ValueError):
    """The leads cannot train a model: no label, or too few leads of a class."""


class Terminated(UserFacingError):
    """SIGTERM (an Airflow timeout, a kill), raised so that the run unwinds as on an error."""


class ConfigError(UserFacingError, ValueError):
    """A parameter has a value the project does not know (a typo must not select a default)."""
