"""Fatal input-data errors (bad rows are rejected instead, never raised)."""


class LeadDataError(ValueError):
    """A fatal problem with an input file: missing, empty, unreadable or lacking required columns.

    The message is one line that names the file and what is wrong with it; the CLI prints it
    without a traceback.
    """
