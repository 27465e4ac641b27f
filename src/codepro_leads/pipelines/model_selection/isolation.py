"""Run pycaret, which changes process-wide state, and undo every change afterwards.

pycaret replaces ``warnings.showwarning`` and opens ``logs.log``, yellowbrick changes rcParams,
``setup()`` seeds numpy's global RNG and sets scikit-learn's config, joblib leaves files: all is
done in a scratch directory (so: a sequential runner) and restored, loggers too.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import sklearn

# Where pycaret's import-time logger writes (default ./logs.log): nowhere.
PYCARET_LOG_PATH_VARIABLE = "PYCARET_CUSTOM_LOGGING_PATH"


def _logger_states() -> dict[logging.Logger, tuple[list[logging.Handler], int, bool, bool]]:
    known = logging.Logger.manager.loggerDict.values()
    loggers = [logging.getLogger(), *(lg for lg in known if isinstance(lg, logging.Logger))]
    return {lg: (list(lg.handlers), lg.level, lg.propagate, lg.disabled) for lg in loggers}


def _restore_loggers(before: dict[logging.Logger, tuple]) -> None:
    for logger in _logger_states():
        kept = before.get(logger)
        for handler in list(logger.handlers):
            if kept is None or handler not in kept[0]:
                logger.removeHandler(handler)
                handler.close()
        if kept is not None:
            handlers, level, logger.propagate, logger.disabled = kept
            logger.handlers[:] = handlers
            logger.setLevel(level)


@contextmanager
def isolated_global_state() -> Iterator[str]:
    """Yield a scratch working directory; restore process-wide state on exit (even on error)."""
    import matplotlib as mpl  # pycaret draws with it; other pipelines start without it

    cwd = os.getcwd()
    rng_state = np.random.get_state()  # noqa: NPY002 (the legacy global RNG is the state)
    sklearn_config = sklearn.get_config()
    loggers = _logger_states()
    log_path = os.environ.get(PYCARET_LOG_PATH_VARIABLE)
    # catch_warnings restores warnings.showwarning and the filters; rc_context the rcParams.
    with (
        tempfile.TemporaryDirectory(prefix="codepro-isolated-") as scratch,
        warnings.catch_warnings(),
        mpl.rc_context(),
    ):
        os.environ[PYCARET_LOG_PATH_VARIABLE] = os.devnull
        os.chdir(scratch)
        try:
            yield scratch
        finally:
            os.chdir(cwd)
            if log_path is None:
                os.environ.pop(PYCARET_LOG_PATH_VARIABLE, None)
            else:
                os.environ[PYCARET_LOG_PATH_VARIABLE] = log_path
            _restore_loggers(loggers)
            sklearn.set_config(**sklearn_config)
            np.random.set_state(rng_state)  # noqa: NPY002
