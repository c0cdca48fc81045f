"""The exception tree. Library code raises these; only the CLI prints them.

Every message is one line that names what is wrong (the file, the key, the
value) and, where there is a closed set, the valid choices.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "SweepError",
    "ConfigError",
    "DataError",
    "StorageError",
    "StudyNotFoundError",
    "ModelError",
    "OutputError",
    "TooManyFailures",
]


def _valid_suffix(valid: Iterable[object] | None) -> str:
    if valid is None:
        return ""
    names = ", ".join(str(v) for v in valid)
    return f"; valid: {names}"


class SweepError(Exception):
    """Root of every error sweep raises on purpose (bad input, unreachable storage...)."""


class ConfigError(SweepError):
    """A study file (or a command-line override) is missing, malformed or invalid.

    Args:
        source: The file (or ``--flag``) the bad value came from.
        key: Dotted key of the bad value, e.g. ``space.optimizer``; empty for the whole file.
        message: What is wrong.
        valid: The valid choices, when the set is closed.
    """

    def __init__(
        self,
        source: str,
        key: str,
        message: str,
        valid: Iterable[object] | None = None,
    ) -> None:
        self.source = source
        self.key = key
        self.message = message
        self.valid = tuple(valid) if valid is not None else None
        where = f"{source}: {key}: " if key else f"{source}: "
        super().__init__(f"{where}{message}{_valid_suffix(self.valid)}")


class SpecValueError(ValueError):
    """Raised inside a spec dataclass's validation; the loader adds the file name.

    Not part of the public tree: it never escapes :func:`sweep.load_spec`.
    """

    def __init__(self, key: str, message: str, valid: Iterable[object] | None = None) -> None:
        self.key = key
        self.message = message
        self.valid = tuple(valid) if valid is not None else None
        super().__init__(f"{key}: {message}{_valid_suffix(self.valid)}")

    def in_section(self, section: str) -> SpecValueError:
        key = f"{section}.{self.key}" if section else self.key
        return SpecValueError(key, self.message, self.valid)

    def to_config_error(self, source: str) -> ConfigError:
        return ConfigError(source, self.key, self.message, self.valid)


class DataError(SweepError):
    """A data set cannot be loaded or does not fit the task (missing file, bad column...)."""


class StorageError(SweepError):
    """The storage URL is invalid or the database cannot be reached.

    Messages never contain the URL's password.
    """


class StudyNotFoundError(SweepError):
    """No study of that name exists in the storage."""


class ModelError(SweepError):
    """A saved model is missing, or prediction input does not fit it."""


class OutputError(SweepError):
    """A file sweep was asked to write (a report, an export, predictions) cannot be written.

    Args:
        path: The path as given.
        reason: Why, e.g. ``/x is a file``.
        option: The command-line flag that named the path (``--csv``), if any.
    """

    def __init__(self, path: object, reason: str, option: str | None = None) -> None:
        self.path = str(path)
        self.reason = reason
        self.option = option
        where = f"{option} {path}" if option else str(path)
        super().__init__(f"{where}: cannot write: {reason}")


class TooManyFailures(SweepError):
    """Trials keep failing: the sweep stops instead of burning its time."""
