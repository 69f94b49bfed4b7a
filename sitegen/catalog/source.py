"""Reading YAML files safely, keeping the line of every node for error messages."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from sitegen.errors import Problem

# A path into a document: mapping keys are str, list indices are int.
NodePath = tuple[str | int, ...]

# A document whose walk visits more nodes than this is refused: aliases can make a few lines
# expand into billions of nodes ("billion laughs"), and nothing in a real catalog comes close.
MAX_NODES = 1_000_000

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def display_path(path: Path) -> str:
    """The path as a user should see it: relative to the current directory when inside it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if rel.startswith("..") else rel


def format_field(path: NodePath) -> str:
    """`("products", 0, "kinds", 1, "parts")` -> `products[0].kinds[1].parts`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class Document:
    """One YAML file: its data, and the line of each node (worked out when first asked)."""

    def __init__(self, path: Path, shown: str, data: Any, node: yaml.Node | None = None
                 ) -> None:
        self.path = path
        self.shown = shown
        self.data = data
        self._node = node
        self._lines: dict[NodePath, int] | None = None

    @property
    def lines(self) -> dict[NodePath, int]:
        if self._lines is None:
            self._lines = {}
            if self._node is not None:
                _walk(self._node, (), self._lines, [MAX_NODES])
            self._node = None
        return self._lines

    def line_of(self, path: NodePath) -> int:
        """The line of the deepest node on `path` that exists (1-based)."""
        lines = self.lines
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            line = lines.get(prefix)
            if line is not None:
                return line
            # pydantic reports dict keys as int where YAML had int keys: try the other spelling.
            if end and isinstance(path[end - 1], int):
                line = lines.get(prefix[:-1] + (str(path[end - 1]),))
                if line is not None:
                    return line
        return 1

    def place(self, path: NodePath, message: str, *, warning: bool = False) -> Problem:
        """A problem at `path` in this file."""
        return Problem(self.shown, self.line_of(path), format_field(path), message, warning)


class TooLarge(Exception):
    """The document expands past MAX_NODES."""


def _walk(node: yaml.Node, path: NodePath, lines: dict[NodePath, int], budget: list[int]) -> None:
    budget[0] -= 1
    if budget[0] < 0:
        raise TooLarge
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
            _walk(value_node, (*path, str(key)), lines, budget)
            lines[(*path, str(key))] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines, budget)


def read_document(path: Path) -> Document | Problem:
    """Parse one YAML file with a safe loader; a syntax error comes back as a Problem."""
    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return Problem(shown, 1, "", f"cannot read the file: {exc}")
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Document(path, shown, None)
        # Construct first: merge keys (<<) are flattened into the node tree by construction.
        data = loader.construct_document(node)
        if "*" in text:
            # Aliases share nodes: walking counts what they expand to, and refuses a bomb
            # before anything validates the expanded data. Without '*' there is no alias.
            _walk(node, (), {}, [MAX_NODES])
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        return Problem(shown, line, "yaml", f"invalid YAML: {what}")
    except yaml.YAMLError as exc:
        return Problem(shown, 1, "yaml", f"invalid YAML: {exc}")
    except (TooLarge, RecursionError):
        return Problem(
            shown, 1, "yaml", f"the document expands to more than {MAX_NODES} nodes (aliases?)"
        )
    finally:
        loader.dispose()
    return Document(path, shown, data, node)


def catalog_files(root: Path) -> Iterator[Path]:
    """Every *.yaml and *.yml file under `root`, recursively, in sorted path order.

    Paths are compared component by component (a folder's files stay together), which is
    the order a sorted tree walk gives.
    """
    found = [p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()]
    yield from sorted(found, key=lambda p: p.relative_to(root).parts)
