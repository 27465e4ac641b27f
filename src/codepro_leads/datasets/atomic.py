"""Files that appear all at once: a reader sees the previous complete file or the new one.

On object storage a single upload is already atomic; on a local disk a file is written to a
hidden temporary beside it, then renamed. A temporary a killed process left is removed by the
next save of that file: its name says which process of which machine wrote it.
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import fsspec
from kedro.io import AbstractDataset, DatasetError
from kedro.io.core import get_protocol_and_path

from codepro_leads.errors import UserFacingError

logger = logging.getLogger(__name__)
_HOST = socket.gethostname()


class FileTakenError(UserFacingError, DatasetError):
    """A run's versioned file exists already: another run got the same version."""


def temporary_path(final: str) -> str:
    """A hidden name beside ``final`` (same suffix), unique to this call, naming its process."""
    folder, name = posixpath.split(final)
    stem, suffix = posixpath.splitext(name)
    tag = f"{_HOST}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    return posixpath.join(folder, f".{stem}.tmp-{tag}{suffix}")


def remove_stale_temporaries(fs: fsspec.AbstractFileSystem, folder: str, name: str) -> None:
    """Remove the temporaries of ``name`` in ``folder`` whose process, on this machine, is gone
    (another machine's may still be writing)."""
    stem, suffix = posixpath.splitext(name)
    pattern = re.compile(
        rf"\.{re.escape(stem)}\.tmp-(?P<host>.+)-(?P<pid>\d+)-[0-9a-f]{{8}}{re.escape(suffix)}"
    )
    if not fs.isdir(folder):
        return
    for entry in fs.ls(folder, detail=False):
        found = pattern.fullmatch(posixpath.basename(entry))
        if found and found["host"] == _HOST and not _alive(int(found["pid"])):
            fs.rm(entry)
            logger.info("Removed %s, left by a process that was killed", entry)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


@contextmanager
def atomic_target(
    fs: fsspec.AbstractFileSystem, path: str, overwrite: bool = True
) -> Iterator[str]:
    """The path to write ``path``'s new content to: itself on object storage; on a local disk a
    temporary, renamed over it when the block succeeds and removed when it fails.

    ``overwrite=False`` is for a versioned file alone in its version's folder, one run's record:
    two runs that start in the same millisecond get the same Kedro version (kedro-org/kedro#1731).
    The second fails on entry, before the block (and the stores it feeds) can commit anything.
    """
    taken = FileTakenError(f"{path}: already written by another run with the same version")
    if "file" not in fs.protocol:
        # fsspec has no no-clobber write for object storage: only this check, which a run
        # writing the same version at the same moment can still pass.
        if not overwrite and fs.exists(path):
            raise taken
        yield path
        return
    temporary = temporary_path(path)
    folder = posixpath.dirname(temporary) or "."
    if overwrite:
        remove_stale_temporaries(fs, folder, posixpath.basename(path))
        fs.makedirs(folder, exist_ok=True)
    else:
        fs.makedirs(posixpath.dirname(folder) or ".", exist_ok=True)
        try:
            os.mkdir(folder)  # the claim: only one run creates the version's folder
        except FileExistsError:
            raise taken from None
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        if fs.exists(temporary):
            fs.rm(temporary)
        if not overwrite and not fs.ls(folder):  # a failed run's claim: it holds nothing
            fs.rmdir(folder)


class AtomicDataset(AbstractDataset[Any, Any]):
    """Wraps a file dataset (``dataset: <type or config>``, ``filepath``, ``credentials``, like
    ``PartitionedDataset``) so that its saves are atomic."""

    def __init__(
        self,
        dataset: str | dict[str, Any],
        filepath: str,
        credentials: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._config = {"type": dataset} if isinstance(dataset, str) else dict(dataset)
        if credentials:
            self._config["credentials"] = credentials
        protocol, self._path = get_protocol_and_path(filepath)
        self._fs = fsspec.filesystem(protocol, **(credentials or {}))
        self._filepath = filepath
        self._reader = self._dataset(filepath)
        self.metadata = metadata

    def _dataset(self, filepath: str) -> AbstractDataset:
        return AbstractDataset.from_config("atomic", {**self._config, "filepath": filepath})

    def load(self) -> Any:
        return self._reader.load()

    def save(self, data: Any) -> None:
        with atomic_target(self._fs, self._path) as target:
            (self._reader if target == self._path else self._dataset(target)).save(data)

    def preview(self, **kwargs: Any) -> Any:
        return self._reader.preview(**kwargs)

    def _exists(self) -> bool:
        return self._reader.exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath, "dataset": self._config.get("type")}
