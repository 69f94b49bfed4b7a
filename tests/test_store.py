"""The folder store without Blender: its write lock and the index rebuilt from the files."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from sitegen.errors import SitegenError
from sitegen.store import FolderStore

PICTURE = "preview/kino/front/frame-1127_top-0_insert-235_rim-1127.png"


def put(store: FolderStore, address: str, data: bytes = b"picture") -> Path:
    """A file at an address of the store, as a render leaves it."""
    path = store.path_of(address)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_the_lock_refuses_a_second_holder_and_says_who_holds_it(tmp_path: Path) -> None:
    store, other = FolderStore(tmp_path / "renders"), FolderStore(tmp_path / "renders")
    refused = pytest.raises(SitegenError, match=rf"locked by another run: pid {os.getpid()} "
                            r"on .* \(render, since .*\); wait for it to finish")
    with store.lock("render"), refused, other.lock("publish"):
        pass  # pragma: no cover
    with other.lock("publish"):  # released on leaving
        pass


def test_the_lock_is_released_when_its_holder_fails(tmp_path: Path) -> None:
    store = FolderStore(tmp_path / "renders")
    with pytest.raises(RuntimeError), store.lock("render"):
        raise RuntimeError("a render failed")
    with FolderStore(tmp_path / "renders").lock("render"):
        pass


def test_stored_lists_indexed_pictures_whose_file_exists(tmp_path: Path) -> None:
    store = FolderStore(tmp_path / "renders")
    assert store.stored() == {}
    path = put(store, PICTURE)
    store.record(PICTURE, "f" * 16, {"quality": "q1"}, hashlib.sha256(b"picture").hexdigest(),
                 7, 1.5, "5.0.1")
    store.record("preview/kino/side/gone.png", "e" * 16, {}, "0" * 64, 1, None, None)
    held = store.stored()
    assert list(held) == [PICTURE]
    assert held[PICTURE].fingerprint == "f" * 16 and dict(held[PICTURE].inputs) == {
        "quality": "q1"}
    assert store.stored("other") == {}
    path.unlink()
    assert store.stored() == {}
    store.close()


def test_rebuild_indexes_every_picture_file_with_an_unknown_fingerprint(tmp_path: Path) -> None:
    store = FolderStore(tmp_path / "renders")
    put(store, PICTURE, b"one")
    put(store, "layered/kino/side/layer-1011-base.webp", b"two")
    put(store, "preview/kino/front/frame-1127_top-0_insert-235_rim-1127.thumb.webp")
    put(store, "preview/kino/front/.frame-1127.tmp-123.png")  # a render's temporary file
    put(store, "preview/kino/front/notes.txt")
    put(store, "preview/stray.png")  # not at a picture's depth
    store.record("preview/kino/side/gone.png", "e" * 16, {}, "0" * 64, 1, None, None)
    assert store.rebuild_index() == 2
    held = store.stored()
    assert sorted(held) == ["layered/kino/side/layer-1011-base.webp", PICTURE]
    assert all(h.fingerprint is None and not h.inputs for h in held.values())
    records = {r.address: r for r in store.records()}
    assert set(records) == set(held)  # the record of a file that is gone is dropped
    assert records[PICTURE].sha256 == hashlib.sha256(b"one").hexdigest()
    assert records[PICTURE].bytes == 3
    store.close()
