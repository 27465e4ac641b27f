"""Errors that mean the input data cannot be used at all (as opposed to bad rows, which are rejected)."""


class LeadDataError(ValueError):
    """A fatal problem with an input file: missing, empty, unreadable or lacking required columns.

    The message is one line that names the file and what is wrong with it; the CLI prints it
    without a traceback.
    """
