"""Files sweep writes (reports, exports, predictions): checked first, written atomically.

A command checks its output paths with :func:`check_file` and :func:`check_folder`
before it prints or computes anything, so a path that cannot be written is one
line (``OutputError``) and nothing else happens. Each file is then written to a
temporary file in its own folder and renamed onto its path (:func:`atomic_path`):
a write that fails leaves the old file, or none, never half a file.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from sweep.errors import OutputError

__all__ = ["atomic_path", "check_file", "check_folder", "make_folder", "write_text"]


def check_file(path: str | Path, option: str | None = None) -> Path:
    """Check that ``path`` can be written as a file (missing folders are made on writing).

    Args:
        path: The file.
        option: The command-line flag that named it (``--csv``), for the message.

    Returns:
        ``path`` as a Path.

    Raises:
        OutputError: ``path`` is a directory or a read-only file, or the folder
            it goes in is a file, or cannot be written.
    """
    p = Path(path)
    if p.is_dir():
        raise OutputError(path, f"{p} is a directory", option)
    if p.exists():
        if not p.is_file():
            return p  # a device or a pipe (/dev/stdout): written in place
        if not os.access(p, os.W_OK):
            raise OutputError(path, f"{p} is read-only", option)
    _check_ancestor(p.parent, path, option)
    return p


def check_folder(path: str | Path, option: str | None = None) -> Path:
    """Check that files can be written in folder ``path`` (made on writing if missing).

    Raises:
        OutputError: ``path`` is a file, or it (or the folder it goes in) cannot be written.
    """
    p = Path(path)
    _check_ancestor(p, path, option)
    return p


def _check_ancestor(folder: Path, path: str | Path, option: str | None) -> None:
    """``folder``, or else its nearest ancestor that exists, must be a writable directory."""
    for candidate in (folder, *folder.parents):
        try:
            candidate.stat()
        except (FileNotFoundError, NotADirectoryError):
            continue  # missing, or below a file: look further up
        except OSError as e:
            why = e.strerror or type(e).__name__
            raise OutputError(path, f"{candidate}: {why}", option) from None
        if not candidate.is_dir():
            what = "a file" if candidate.is_file() else "not a directory"
            raise OutputError(path, f"{candidate} is {what}", option)
        if not os.access(candidate, os.W_OK | os.X_OK):
            raise OutputError(path, f"{candidate} is not writable", option)
        # Permissions do not tell everything (root, read-only mounts, /proc): try it.
        try:
            _new_temp(candidate / ".sweep-check").unlink()
        except OSError as e:
            why = e.strerror or type(e).__name__
            raise OutputError(path, f"{candidate} is not writable ({why})", option) from None
        return


def make_folder(path: str | Path) -> Path:
    """Create folder ``path`` and its parents where missing.

    Raises:
        OutputError: it cannot be created (a file is in the way, no permission...).
    """
    return _make_folder(Path(path), path)


def _make_folder(folder: Path, path: str | Path) -> Path:
    _check_ancestor(folder, path, None)
    with _as_output_error(path):
        folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary file beside ``path`` to write; renamed onto ``path`` when the block ends.

    Missing folders are created. If the block raises, the temporary file is removed
    and ``path`` is left as it was. An existing file keeps its permissions; a path
    that exists and is not a regular file (``/dev/stdout``) is written in place.
    A symbolic link stays one: the file it points to is replaced.

    Raises:
        OutputError: a folder, the temporary file, the write or the rename fails.
    """
    given = Path(path)
    if given.exists() and not given.is_file():
        with _as_output_error(path):
            yield given
        return
    target = Path(os.path.realpath(given)) if given.is_symlink() else given
    if not target.parent.is_dir():
        _make_folder(target.parent, path)
    with _as_output_error(path):
        temp = _new_temp(target)
    try:
        with _as_output_error(path):
            yield temp
            if target.exists():
                shutil.copymode(target, temp)
            os.replace(temp, target)
    finally:
        with suppress(OSError):
            temp.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns ``path`` as a Path."""
    with atomic_path(path) as temp:
        temp.write_text(text, encoding="utf-8")
    return Path(path)


def _new_temp(target: Path) -> Path:
    """Create an empty, hidden file beside ``target``, with ``target``'s suffix (pandas and
    matplotlib pick the format from it) and the permissions a new file gets."""
    temp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp{target.suffix}")
    os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    return temp


@contextmanager
def _as_output_error(path: str | Path) -> Iterator[None]:
    try:
        yield
    except OSError as e:
        raise OutputError(path, e.strerror or " ".join(str(e).split())) from None
