"""Writing what the commands produce: atomically, all files or none, with ordinary permissions.

Every command that writes files goes through here (``lrgen build``, ``lrgen plot -o``,
``lrgen init -o``):

- A file is written to a temporary file next to its target and renamed into place, so a reader
  sees the old file or the new one, never half of one.
- ``lrgen build`` renders everything first and then writes all its files or none: each one is
  staged before any is renamed, and if a rename still fails, the files already replaced get their
  old content back.
- A new file gets the permissions any tool gives a file (``0666 & ~umask``); a file that is
  rewritten keeps its own mode.
- Problems with the output place (``--out`` is a file, a target is a directory, no permission)
  are :class:`OutputError`, one line naming the path, never a traceback.

``--check`` compares instead of writing (:func:`check`): a stale file is exit 1 with a diff; an
output that cannot be compared at all (a directory where a file should be, no permission) is an
:class:`OutputError`, so that exit 1 always means "out of date".
"""

from __future__ import annotations

import contextlib
import difflib
import os
import stat
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from lrgen.errors import display_path

__all__ = ["OutputError", "check", "new_file_mode", "write_all", "write_atomically"]


class OutputError(OSError):
    """A file cannot be written (or compared) where the command was told to put it.

    ``str()`` is ``PATH: reason``; ``strerror`` is the reason alone (as for any ``OSError``).
    """

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        super().__init__(f"{_shown(path)}: {reason}")
        self.path, self.reason, self.strerror = os.fspath(path), reason, reason


def new_file_mode() -> int:
    """The mode of a newly created file: ``0666`` less the process's umask."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomically(
    path: str | os.PathLike[str], write: Callable[[IO[Any]], object], *, binary: bool = False
) -> None:
    """Call ``write(handle)`` on a temporary file next to ``path``, then rename it into place.
    The folder must exist (only ``lrgen build`` creates its output folder)."""
    target = Path(path)
    if target.is_dir():
        raise OutputError(target, "is a directory")
    staged = _stage(target, write, binary)
    try:
        os.replace(staged, target)
    except OSError as err:
        _remove(staged)
        raise _error(target, err) from None


def write_all(files: Mapping[Path, str]) -> None:
    """Write every file of ``files`` (path -> text) or none of them.

    Raises :class:`OutputError` (nothing changed on disk) when any of them cannot be written.
    """
    for directory in sorted({path.parent for path in files}):
        _prepare_directory(directory)
    for path in files:
        if path.is_dir():
            raise OutputError(path, "is a directory; cannot write the generated file there")
    staged: dict[Path, str] = {}
    try:
        for path, text in files.items():
            staged[path] = _stage(path, _text_writer(text), binary=False)
        _replace_all(staged)
    finally:
        for temporary in staged.values():
            _remove(temporary)


def check(files: Mapping[Path, str], echo: Callable[[str], None]) -> int:
    """``--check``: 0 when every file on disk equals ``files``; else 1, after a diff of each."""
    stale = 0
    for path, text in files.items():
        current = _read_current(path)
        if current == text:
            continue
        stale += 1
        if current is None:
            echo(f"{_shown(path)} (on disk) is not UTF-8 text; the build would replace it")
            continue
        diff = difflib.unified_diff(
            current.splitlines(keepends=True),
            text.splitlines(keepends=True),
            fromfile=f"{_shown(path)} (on disk)",
            tofile=f"{_shown(path)} (from spec)",
        )
        echo("".join(diff).rstrip("\n"))
    if stale:
        echo(f"{stale} file(s) out of date; run lrgen build without --check")
        return 1
    echo(f"{len(files)} file(s) up to date")
    return 0


# --- the parts ----------------------------------------------------------------------------------


def _prepare_directory(directory: Path) -> None:
    """Create ``directory`` (and its parents) or say precisely why it cannot be one."""
    for parent in (directory, *directory.parents):
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                what = "the output folder" if parent == directory else f"a parent of {directory}"
                raise OutputError(parent, f"is a file, not a folder ({what})")
            break
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _error(directory, err) from None


def _stage(target: Path, write: Callable[[IO[Any]], object], binary: bool) -> str:
    """A temporary file next to ``target`` holding the new content, with the final mode."""
    try:
        fd, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
        )
    except OSError as err:
        raise _error(target.parent, err) from None
    try:
        handle = (
            os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="\n")
        )
        with handle:
            write(handle)
        os.chmod(temporary, _mode_for(target))
    except BaseException as err:
        _remove(temporary)
        if isinstance(err, OSError):
            raise _error(target, err) from None
        raise
    return temporary


def _replace_all(staged: Mapping[Path, str]) -> None:
    """Rename every staged file into place; on a failure, put back what was replaced."""
    done: list[tuple[Path, str | None]] = []  # target, backup of its old content (None: new)
    try:
        for target, temporary in staged.items():
            backup = _backup(target)
            try:
                os.replace(temporary, target)
            except OSError:
                if backup is not None:
                    _remove(backup)
                raise
            done.append((target, backup))
    except OSError as err:
        failed = target
        for replaced, backup in reversed(done):
            with contextlib.suppress(OSError):
                if backup is None:
                    replaced.unlink()
                else:
                    os.replace(backup, replaced)
        raise _error(failed, err) from None
    for _, backup in done:
        if backup is not None:
            _remove(backup)


def _backup(target: Path) -> str | None:
    """A hard link to the current ``target`` (None when there is none to keep)."""
    if not target.is_file():
        return None
    backup = target.with_name(f".{target.name}.{os.getpid()}.bak")
    _remove(str(backup))
    try:
        os.link(target, backup)
    except OSError:  # no hard links here: copy
        backup.write_bytes(target.read_bytes())
    return str(backup)


def _mode_for(target: Path) -> int:
    try:
        current = os.stat(target)
    except OSError:
        return new_file_mode()
    return stat.S_IMODE(current.st_mode) if stat.S_ISREG(current.st_mode) else new_file_mode()


def _read_current(path: Path) -> str | None:
    """The file's text, ``""`` when it does not exist, None when it is not UTF-8."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return ""
    except IsADirectoryError:
        raise OutputError(path, "is a directory, where the generated file should be") from None
    except NotADirectoryError:
        raise OutputError(path, "a parent of it is a file, not a folder") from None
    except OSError as err:
        raise _error(path, err) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _text_writer(text: str) -> Callable[[IO[Any]], object]:
    return lambda handle: handle.write(text)


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _error(path: Path | str, err: OSError) -> OutputError:
    return OutputError(path, err.strerror or str(err))


def _shown(path: str | os.PathLike[str]) -> str:
    return display_path(path)
