"""What a render store's index says of its pictures: the records both stores give back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Stored:
    """What the store's index says of one picture."""

    fingerprint: str | None  # None: unknown (index rebuilt from the files)
    inputs: Mapping[str, str]


@dataclass(frozen=True)
class Record:
    """One indexed picture."""

    address: str
    fingerprint: str | None
    inputs: dict[str, str]
    sha256: str
    bytes: int
    seconds: float | None
    rendered_at: str
    blender: str | None
