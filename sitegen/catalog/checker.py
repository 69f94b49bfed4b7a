"""Placing problems: entities and paths inside them -> `file:line: field: message`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sitegen.catalog.models import Catalog, Entity
from sitegen.catalog.source import Document
from sitegen.errors import Problem


def listing(values: Iterable[Any], limit: int = 12) -> str:
    """Values for a message, comma-separated, the first `limit` only."""
    items = [str(v) for v in values]
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")


class Locator:
    """Turns an entity and a path inside it into a placed Problem."""

    def __init__(self, docs: Mapping[str, Document] | None = None) -> None:
        self.docs: dict[str, Document] = dict(docs or {})

    def at(self, entity: Entity, *sub: str | int, message: str, warning: bool = False) -> Problem:
        """A problem at field `sub` of `entity`."""
        file, where = entity._where
        return self.docs[file].place((*where, *sub), message, warning=warning)

    def line(self, entity: Entity, *sub: str | int) -> str:
        """`file:line` of a field of an entity, to name a second place in a message."""
        file, where = entity._where
        return f"{file}:{self.docs[file].line_of((*where, *sub))}"


class Checker:
    """One pass of checks over a loaded catalog: the problems it finds, placed."""

    def __init__(self, catalog: Catalog, locator: Locator, loaded: bool) -> None:
        self.catalog = catalog
        self.locator = locator
        self.loaded = loaded
        self.problems: list[Problem] = []

    def error(self, entity: Entity, *sub: str | int, message: str) -> None:
        """An error at field `sub` of `entity`."""
        self.problems.append(self.locator.at(entity, *sub, message=message))

    def warn(self, entity: Entity, *sub: str | int, message: str) -> None:
        """A warning at field `sub` of `entity`."""
        self.problems.append(self.locator.at(entity, *sub, message=message, warning=True))

    def known(self, section: str, what: str, value: Any, entity: Entity, *sub: str | int) -> bool:
        """Whether `value` names an entity of `section`; an error if it does not."""
        ids = self.catalog.section(section)
        if value in ids:
            return True
        if self.broken(section, value):
            return False
        hint = f" (known: {listing(sorted(ids, key=str))})" if ids else f" (no {section} defined)"
        self.error(entity, *sub, message=f"unknown {what} {value!r}{hint}")
        return False

    def broken(self, section: str, value: Any) -> bool:
        """Whether `value` names an entry of `section` that failed to load."""
        return value in self.catalog.broken.get(section, ())

    @property
    def failed(self) -> bool:
        """Whether an error was found, here or before this pass (`loaded` false)."""
        return not self.loaded or any(not p.warning for p in self.problems)
