"""The one error family: every failure a user can act on is a SitegenError."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import click


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
        return f"{self.file}:{self.line}: {kind}{field}{self.message}"


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
