"""The one error family: every failure a user can act on is a SitegenError."""

from __future__ import annotations

import errno
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import click

LONGEST_WORD = 100  # characters of one name or value a message shows


def shorten(text: str) -> str:
    """Cut every over-long run of non-blank characters (a 5,000-character name echoed in an
    error), saying how long it was."""
    return re.sub(rf"\S{{{LONGEST_WORD + 1},}}",
                  lambda m: f"{m[0][:LONGEST_WORD - 20]}...({len(m[0])} characters)", text)


class SitegenError(click.ClickException):
    """A failure with a message a user can act on; the CLI prints it without a traceback."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True, file=file)


@dataclass(frozen=True, order=True)
class Problem:
    """One finding about the catalog, placed at a file, line and field."""

    file: str
    line: int
    field: str
    message: str
    warning: bool = False

    def __str__(self) -> str:
        kind = "warning: " if self.warning else ""
        field = f"{self.field}: " if self.field else ""
        return f"{self.file}:{self.line}: {kind}{shorten(field + self.message)}"


class CatalogError(SitegenError):
    """The catalog is invalid; carries every problem found, errors and warnings."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        errors = [p for p in self.problems if not p.warning]
        lines = [str(p) for p in self.problems]
        lines.append(f"catalog invalid: {len(errors)} error(s)")
        super().__init__("\n".join(lines))

    def show(self, file: Any = None) -> None:
        click.echo(self.message, err=True, file=file)


# What the machine, not sitegen, got wrong: the cause in words, and what to do about it.
ENVIRONMENT_ERRORS = {
    errno.ENOSPC: "no space left on the device: free some space, then run again",
    errno.EDQUOT: "disk quota exceeded: free some space, then run again",
    errno.EROFS: "read-only file system: use a writable folder",
    errno.EACCES: "permission denied: check the folder's owner and permissions",
    errno.EPERM: "operation not permitted: check the folder's owner and permissions",
    errno.EIO: "input/output error: the disk may be failing",
}
SQLITE_ERRORS = {  # sqlite3's messages for the same conditions
    "database or disk is full": errno.ENOSPC,
    "attempt to write a readonly database": errno.EROFS,
    "unable to open database file": errno.EACCES,
    "disk i/o error": errno.EIO,
}


class EnvironmentFailure(SitegenError):
    """The machine refused: no space, a read-only file system, no permission."""

    def __init__(self, path: object, code: int) -> None:
        self.path = str(path)
        self.errno = code
        super().__init__(f"{self.path}: {ENVIRONMENT_ERRORS[code]}")


def environment_failure(exc: BaseException, path: object = None) -> EnvironmentFailure | None:
    """`exc` as an EnvironmentFailure naming `path` (else the file the OSError names), or
    None when it is not a failure of the machine."""
    import sqlite3

    if isinstance(exc, EnvironmentFailure):
        return exc
    code = None
    if isinstance(exc, OSError) and exc.errno in ENVIRONMENT_ERRORS:
        code = exc.errno
        path = path or exc.filename
    elif isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        code = next((c for message, c in SQLITE_ERRORS.items() if message in text), None)
    if code is None:
        return None
    return EnvironmentFailure(path if path is not None else "a file", code)
