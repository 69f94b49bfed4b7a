"""Writing a build (sitegen/site/write.py): the new tree beside the old, one swap, a manifest.

The output folder must always be the previous complete build or the new one. The real
conditions (a full disk: a small tmpfs; a read-only folder: a read-only bind mount; a
mount point as --out) need root to mount; without it those tests skip and say so, and
the simulated variants (a writer that fails half-way) still run.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sitefixtures import ROOT, read_tree

from sitegen.errors import SitegenError
from sitegen.site import MANIFEST, MARKER, BuildWriteError, read_manifest, write_site
from sitegen.site import write as site_write

OLD = {"index.html": b"<!doctype html><title>old</title>", "static/app-1.js": b"old();\n",
       "products/a/index.html": b"<p>a</p>", "products/a/data.json": b'{"quality":"q"}\n'}
NEW = {"index.html": b"<!doctype html><title>new</title>", "static/app-2.js": b"new();\n",
       "products/a/index.html": b"<p>a</p>", "products/a/data.json": b'{"quality":"q"}\n',
       "products/b/index.html": b"<p>b</p>"}
FACTS = {"quality": "q", "renders_url": "renders/", "base_url": "https://example.com/"}


def tree(out: Path) -> dict[str, bytes]:
    """Every file under `out`, hidden ones (marker, manifest) included."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file()}


def leftovers(out: Path) -> list[str]:
    """Staging folders (or anything else sitegen made) next to `out`."""
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def is_complete(out: Path, files: dict[str, bytes]) -> bool:
    """`out` holds exactly `files`, the marker and a manifest that describes them."""
    manifest = read_manifest(out)
    return (read_tree(out) == files and (out / MARKER).is_file()
            and manifest.files == {rel: (hashlib.sha256(d).hexdigest(), len(d))
                                   for rel, d in files.items()}
            and set(tree(out)) == {*files, MARKER, MANIFEST})


# -- the swap -----------------------------------------------------------------------------


def test_manifest_names_every_file_with_its_hash_and_the_facts(tmp_path: Path) -> None:
    out = tmp_path / "build"
    write_site(NEW, out, facts=FACTS)
    doc = json.loads((out / MANIFEST).read_text())
    assert doc["version"] == 1 and doc["build"] == FACTS
    assert doc["files"] == {rel: {"sha256": hashlib.sha256(data).hexdigest(),
                                  "size": len(data)} for rel, data in NEW.items()}
    assert is_complete(out, NEW) and leftovers(out) == []


def test_a_rebuild_links_unchanged_files_and_swaps_the_whole_tree(tmp_path: Path) -> None:
    out = tmp_path / "build"
    write_site(OLD, out, facts=FACTS)
    out.chmod(0o751)
    kept = out / "products/a/index.html"
    before = (kept.stat().st_ino, kept.stat().st_mtime_ns)
    old_root = out.stat().st_ino
    report = write_site(NEW, out, facts=FACTS)
    assert sorted(report.written) == ["index.html", "products/b/index.html", "static/app-2.js"]
    assert report.unchanged == 2 and report.removed == ["static/app-1.js"]
    assert is_complete(out, NEW) and leftovers(out) == []
    # the unchanged file is the same file (a hard link): not rewritten
    assert (kept.stat().st_ino, kept.stat().st_mtime_ns) == before
    assert out.stat().st_ino != old_root  # a new tree, swapped in
    assert out.stat().st_mode & 0o777 == 0o751  # with the folder's permissions


def test_nothing_changed_touches_nothing(tmp_path: Path) -> None:
    out = tmp_path / "build"
    write_site(NEW, out, facts=FACTS)
    stamps = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in [out, *out.rglob("*")]}
    report = write_site(NEW, out, facts=FACTS)
    assert report.written == [] and report.removed == [] and report.unchanged == len(NEW)
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in [out, *out.rglob("*")]} \
        == stamps
    # other facts are a change of the manifest alone: swapped, files linked
    write_site(NEW, out, facts={**FACTS, "quality": "r"})
    assert read_manifest(out).facts["quality"] == "r" and is_complete(out, NEW)


def test_an_older_build_without_a_manifest_gets_one(tmp_path: Path) -> None:
    out = tmp_path / "build"
    write_site(NEW, out, facts=FACTS)
    (out / MANIFEST).unlink()
    report = write_site(NEW, out, facts=FACTS)
    assert report.written == [] and is_complete(out, NEW)


def test_without_renameat2_two_renames_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    monkeypatch.setattr(site_write, "_renameat2", lambda: None)
    out = tmp_path / "build"
    write_site(OLD, out, facts=FACTS)
    write_site(NEW, out, facts=FACTS)
    assert is_complete(out, NEW) and leftovers(out) == []


def test_exchange_swaps_two_folders(tmp_path: Path) -> None:
    if site_write._renameat2() is None:
        pytest.skip("this libc has no renameat2: the two-rename fallback is used (tested)")
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "from-a").touch()
    (b / "from-b").touch()
    assert site_write.exchange(a, b)
    assert [p.name for p in a.iterdir()] == ["from-b"]
    assert [p.name for p in b.iterdir()] == ["from-a"]


def test_a_symlinked_out_keeps_its_link(tmp_path: Path) -> None:
    real = tmp_path / "real"
    write_site(OLD, real, facts=FACTS)
    link = tmp_path / "build"
    link.symlink_to(real)
    write_site(NEW, link, facts=FACTS)
    assert link.is_symlink() and is_complete(real, NEW) and leftovers(real) == []


def test_a_symlink_in_the_build_is_not_followed(tmp_path: Path) -> None:
    out = tmp_path / "build"
    secret = tmp_path / "secret.txt"
    secret.write_bytes(NEW["index.html"])  # the same bytes: it must still not count
    write_site(OLD, out, facts=FACTS)
    (out / "index.html").unlink()
    (out / "index.html").symlink_to(secret)
    report = write_site(NEW, out, facts=FACTS)
    assert "index.html" in report.written and not (out / "index.html").is_symlink()
    assert is_complete(out, NEW) and secret.read_bytes() == NEW["index.html"]


def test_two_builds_next_to_each_other_do_not_mix(tmp_path: Path) -> None:
    import fcntl

    out = tmp_path / "build"
    write_site(OLD, out, facts=FACTS)
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as a running build holds it
        with pytest.raises(SitegenError, match="another sitegen build is writing"):
            write_site(NEW, out, facts=FACTS)
    finally:
        os.close(fd)
    assert is_complete(out, OLD)


# -- failures leave the previous build ---------------------------------------------------


def fail_after(monkeypatch: pytest.MonkeyPatch, writes: int, code: int) -> None:
    """Make the writer fail (as the OS would, with `code`) after `writes` files."""
    real = site_write.write_new_file
    done = []

    def failing(path: Path, data: bytes) -> None:
        if len(done) >= writes:
            with open(path, "xb") as f:  # half a file, as a full disk leaves it
                f.write(data[: len(data) // 2])
            raise OSError(code, os.strerror(code))  # write(2) names no file
        done.append(path)
        real(path, data)

    monkeypatch.setattr(site_write, "write_new_file", failing)


def test_a_build_failing_half_way_leaves_the_previous_one_simulated(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulated variant (always runs): the writer fails on its third file."""
    out = tmp_path / "build"
    write_site(OLD, out, facts=FACTS)
    fail_after(monkeypatch, 2, errno.ENOSPC)
    with pytest.raises(BuildWriteError) as caught:
        write_site(NEW, out, facts=FACTS)
    message = str(caught.value.message)
    assert message.startswith(f"cannot write {out}/")
    assert f": No space left on device ({out} is left as it was)" in message
    assert ".tmp-" not in message  # the path as the user knows it
    assert is_complete(out, OLD) and leftovers(out) == []


def test_a_first_build_failing_leaves_nothing(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "build"
    fail_after(monkeypatch, 1, errno.EDQUOT)
    with pytest.raises(BuildWriteError, match="Disk quota exceeded"):
        write_site(NEW, out, facts=FACTS)
    assert not out.exists() and leftovers(out) == []


def test_an_interrupted_build_leaves_the_previous_one(tmp_path: Path) -> None:
    out = tmp_path / "build"
    write_site(OLD, out, facts=FACTS)

    def interrupt(rel: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_site(NEW, out, on_write=interrupt, facts=FACTS)
    assert is_complete(out, OLD) and leftovers(out) == []


KILLED_BUILD = """
import os, signal, sys
from pathlib import Path
from sitegen.site import write_site
new = {f"page-{i}.html": b"x" * 100 for i in range(20)}
def die(rel):
    os.kill(os.getpid(), signal.SIGKILL)
write_site(new, Path(sys.argv[1]), on_write=die, facts={})
"""


def test_a_killed_build_leaves_the_previous_one_and_the_next_cleans_up(tmp_path: Path
                                                                       ) -> None:
    out = tmp_path / "build"
    write_site(OLD, out, facts=FACTS)
    killed = subprocess.run([sys.executable, "-c", KILLED_BUILD, str(out)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert is_complete(out, OLD)
    (stale,) = leftovers(out)  # its staging folder, which nothing could remove
    assert stale.startswith(".build.tmp-")
    write_site(NEW, out, facts=FACTS)
    assert is_complete(out, NEW) and leftovers(out) == []


# -- real conditions (root) ---------------------------------------------------------------


def mount(args: list[str], what: str) -> None:
    """Mount, or skip saying why the real variant cannot run here."""
    if os.geteuid() != 0:
        pytest.skip(f"needs root to mount {what}: the real variant cannot run here (the "
                    "simulated variants in this file ran)")
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount {what} here ({done.stderr.strip()}): the real variant "
                    "cannot run (the simulated variants in this file ran)")


def unmount(path: Path) -> None:
    if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 128 KiB tmpfs: room for a small site, not for the demo's (about 200 KB)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mount(["-t", "tmpfs", "-o", "size=128k", "tmpfs", str(disk)], "a small tmpfs")
    try:
        yield disk
    finally:
        unmount(disk)


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(a folder, a read-only bind mount of it)."""
    source, view = tmp_path / "rw", tmp_path / "ro"
    source.mkdir()
    view.mkdir()
    mount(["--bind", str(source), str(view)], "a bind mount")
    try:
        # (-o ro on the bind itself is ignored by older mounts: remount read-only)
        if subprocess.run(["mount", "-o", "remount,bind,ro", str(view)],
                          capture_output=True).returncode != 0:
            pytest.skip("cannot remount the bind mount read-only here")
        yield source, view
    finally:
        unmount(view)


def sitegen(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sitegen", *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=120)


def demo_build(demo_site: Any, out: Path) -> subprocess.CompletedProcess[str]:
    return sitegen("--catalog", str(demo_site.catalog_root), "build", "--out", str(out),
                   "--renders", str(demo_site.store_root))


def test_a_full_disk_leaves_the_previous_build(small_disk: Path) -> None:
    """The real variant: a tmpfs too small for the new build."""
    out = small_disk / "build"
    write_site(OLD, out, facts=FACTS)
    big = {**NEW, "static/big-1.js": os.urandom(256 * 1024)}
    with pytest.raises(BuildWriteError) as caught:
        write_site(big, out, facts=FACTS)
    assert "No space left on device" in caught.value.message
    assert f"({out} is left as it was)" in caught.value.message
    assert is_complete(out, OLD) and leftovers(out) == []
    write_site(NEW, out, facts=FACTS)  # the next build that fits
    assert is_complete(out, NEW)


def refused(result: subprocess.CompletedProcess[str], start: str, cause: str) -> None:
    """Exit 1, the message naming the path and the cause, no traceback, not 'a bug'."""
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(start), result.stderr
    assert cause in result.stderr
    assert "this is a bug" not in result.stderr and "Traceback" not in result.stderr


def test_sitegen_build_on_a_full_disk_says_so(demo_site: Any, small_disk: Path) -> None:
    out = small_disk / "build"
    write_site(OLD, out, facts=FACTS)
    refused(demo_build(demo_site, out), f"error: cannot write {out}/", "No space left on device")
    assert is_complete(out, OLD) and leftovers(out) == []


def test_sitegen_build_into_a_read_only_folder_says_so(
        demo_site: Any, read_only: tuple[Path, Path]) -> None:
    source, view = read_only
    write_site(OLD, source / "build", facts=FACTS)
    out = view / "build"
    refused(demo_build(demo_site, out), f"error: cannot write {out}", "Read-only file system")
    assert is_complete(out, OLD) and leftovers(out) == []
    fresh = demo_build(demo_site, view / "new")
    assert fresh.returncode == 1 and f"error: cannot write {view / 'new'}" in fresh.stderr
    assert "Read-only file system" in fresh.stderr


def test_a_mount_point_is_updated_in_place_manifest_last(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--out a mount point (cannot be swapped): files replaced one by one, the manifest
    removed first and written last, so a failure leaves a folder publish refuses."""
    out = tmp_path / "build"
    out.mkdir()
    mount(["-t", "tmpfs", "-o", "size=1m", "tmpfs", str(out)], "a tmpfs as --out")
    try:
        write_site(OLD, out, facts=FACTS)
        assert is_complete(out, OLD)
        write_site(NEW, out, facts=FACTS)
        assert is_complete(out, NEW) and os.path.ismount(out)
        fail_after(monkeypatch, 1, errno.ENOSPC)
        with pytest.raises(BuildWriteError, match="has no .sitegen-manifest.json"):
            write_site(OLD, out, facts=FACTS)
        assert not (out / MANIFEST).exists()
        with pytest.raises(SitegenError, match="not a complete build"):
            read_manifest(out)
    finally:
        unmount(out)
