"""Writing a build: the new site beside the old one, then one atomic swap.

`write_site` makes the new tree in a staging folder next to the output folder (same file
system): files whose bytes are unchanged are hard-linked from the current build (not
rewritten: their mtimes stay), changed ones are written, the manifest last (every file's
sha256 and size, and the facts `publish` needs). Then the staging folder and the output
folder are exchanged in one step (Linux `renameat2(RENAME_EXCHANGE)`, else two renames)
and the old tree is removed. So the output folder is always the previous complete build
or the new complete one; a failed or interrupted build leaves it untouched and removes
its staging folder (a later build removes those a killed build left).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sitegen.errors import SitegenError

MARKER = ".sitegen-build"  # marks a folder as sitegen's output: only such a folder is pruned
MANIFEST = ".sitegen-manifest.json"  # written last: what a complete build holds
MANIFEST_VERSION = 1
AT_FDCWD = -100
RENAME_EXCHANGE = 2
# Where renameat2 cannot exchange (no such call, a file system without it): two renames.
NO_EXCHANGE = {errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP}


class BuildWriteError(SitegenError):
    """A build could not be written (no space, read-only, no permission): says where."""


@dataclass
class BuildReport:
    """What a build wrote."""

    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Manifest:
    """A build's manifest: its facts (quality, URLs) and every file's sha256 and size."""

    facts: dict[str, Any]
    files: dict[str, tuple[str, int]]  # relative path -> (sha256, size)


def staging_prefix(out: Path) -> str:
    """The name prefix of an output folder's staging folders: `.build.tmp-`."""
    return f".{out.name}.tmp-"


def manifest_bytes(files: Mapping[str, bytes], facts: Mapping[str, Any]) -> bytes:
    """The manifest of these files (deterministic: the same build gives the same bytes)."""
    entries = {rel: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
               for rel, data in sorted(files.items())}
    doc = {"version": MANIFEST_VERSION, "build": dict(facts), "files": entries}
    return (json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def read_manifest(out: Path) -> Manifest:
    """The manifest of the build in `out`; a SitegenError when it has none or a bad one."""
    path = out / MANIFEST
    again = f"run `sitegen build --out {out}` again"
    try:
        doc = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise SitegenError(f"{out} has no {MANIFEST}: it is not a complete build (a build that "
                           f"failed, or one made by an older sitegen); {again}") from None
    except OSError as exc:
        raise SitegenError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError:
        doc = None
    files: dict[str, tuple[str, int]] = {}
    try:
        if doc["version"] != MANIFEST_VERSION or not isinstance(doc["build"], dict):
            raise TypeError
        for rel, entry in doc["files"].items():
            sha, size = entry["sha256"], entry["size"]
            if not (isinstance(sha, str) and isinstance(size, int)):
                raise TypeError
            files[rel] = (sha, size)
    except (TypeError, KeyError, AttributeError):
        raise SitegenError(f"{path} is not a manifest sitegen can read; {again}") from None
    return Manifest(dict(doc["build"]), files)


def write_site(files: Mapping[str, bytes], out: Path,
               on_write: Callable[[str], None] = lambda p: None,
               facts: Mapping[str, Any] | None = None) -> BuildReport:
    """Make `out` hold exactly `files`, plus the marker and the manifest, in one swap.

    Unchanged files are linked, not rewritten; nothing changed: nothing is touched.
    `facts` (the quality, the site's URLs) go into the manifest for `publish`.
    """
    manifest = manifest_bytes(files, facts or {})
    target = out.resolve() if out.is_symlink() else out  # swap the folder, not the link
    with _write_errors(out, None, "read"):
        if target.exists() and not target.is_dir():
            raise SitegenError(f"{out} is not a folder: choose another --out")
        if target.is_dir() and any(target.iterdir()) and not (target / MARKER).is_file():
            raise SitegenError(f"{out} is not empty and was not made by sitegen build (no "
                               f"{MARKER}): choose another --out, or empty it")
        old = current_files(target)
    report = BuildReport()
    for rel, data in sorted(files.items()):
        path = old.get(rel)
        with _write_errors(out, None, "read"):
            same = (path is not None and _is_plain_file(path)
                    and path.stat().st_size == len(data) and path.read_bytes() == data)
        if same:
            report.unchanged += 1
        else:
            report.written.append(rel)
    report.removed = sorted(rel for rel in old if rel not in files and rel not in (MARKER,
                                                                                   MANIFEST))
    with _write_errors(out, None):
        target.parent.mkdir(parents=True, exist_ok=True)
    with _build_lock(target.parent, out):
        _remove_stale_staging(target)
        if (not report.written and not report.removed and MARKER in old
                and _read_or_none(old.get(MANIFEST)) == manifest):
            return report  # nothing changed: nothing swapped, no file touched
        if os.path.ismount(target):  # a mount point cannot be swapped: update it in place
            _write_in_place(files, target, out, report, old, manifest, on_write)
        else:
            _write_staged(files, target, out, report, old, manifest, on_write)
    return report


def current_files(folder: Path) -> dict[str, Path]:
    """Every entry of a build but its folders (links and special files too), by path."""
    found: dict[str, Path] = {}
    if not folder.is_dir():
        return found

    def fail(exc: OSError) -> None:
        raise exc

    for dirpath, dirnames, filenames in os.walk(folder, onerror=fail):
        here = Path(dirpath)
        for name in filenames + [d for d in dirnames if (here / d).is_symlink()]:
            found[(here / name).relative_to(folder).as_posix()] = here / name
    return {rel: path for rel, path in sorted(found.items())}


def _is_plain_file(path: Path) -> bool:
    return stat.S_ISREG(os.lstat(path).st_mode)


def _read_or_none(path: Path | None) -> bytes | None:
    try:
        return path.read_bytes() if path is not None and _is_plain_file(path) else None
    except OSError:
        return None


def _write_staged(files: Mapping[str, bytes], target: Path, out: Path, report: BuildReport,
                  old: Mapping[str, Path], manifest: bytes,
                  on_write: Callable[[str], None]) -> None:
    """The new tree in a staging folder, then exchanged with `target`."""
    staging = _make_staging(target, out)
    try:
        with _write_errors(out, staging):
            if target.is_dir():  # keep the folder's permissions (mkdir gave the umask's)
                os.chmod(staging, stat.S_IMODE(target.stat().st_mode))
            written = set(report.written)
            for rel, data in sorted(files.items()):
                path = staging / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                with _naming(path):
                    if rel in written:
                        write_new_file(path, data)
                    else:
                        link_or_copy(old[rel], path)
                if rel in written:
                    on_write(rel)
            for name, data in ((MARKER, b""), (MANIFEST, manifest)):  # last: it is complete
                with _naming(staging / name):
                    write_new_file(staging / name, data)
            _fsync_dir(staging)
            retired = swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # the previous build stays as it was
        raise
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)  # a later build removes what is left


def _write_in_place(files: Mapping[str, bytes], target: Path, out: Path, report: BuildReport,
                    old: Mapping[str, Path], manifest: bytes,
                    on_write: Callable[[str], None]) -> None:
    """Update a folder that cannot be swapped: manifest removed first, written last.

    A build that fails half-way leaves no manifest, so `publish` refuses the folder.
    """
    with _write_errors(out, None):
        (target / MANIFEST).unlink(missing_ok=True)
        _fsync_dir(target)
    with _write_errors(out, None, partial=True):
        for rel in report.written:
            with _naming(target / rel):
                replace_file(target / rel, files[rel])
            on_write(rel)
        for rel in report.removed:
            path = target / rel
            path.unlink()
            for parent in path.parents:
                if parent == target or any(parent.iterdir()):
                    break
                parent.rmdir()
        for name, data in ((MARKER, b""), (MANIFEST, manifest)):
            with _naming(target / name):
                replace_file(target / name, data)
        _fsync_dir(target)


def write_new_file(path: Path, data: bytes) -> None:
    """Create a file with these bytes, on disk (fsync) before returning."""
    with open(path, "xb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def replace_file(path: Path, data: bytes) -> None:
    """Write a file atomically: a temporary file beside it, then a rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.unlink(missing_ok=True)
        write_new_file(tmp, data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def link_or_copy(source: Path, dest: Path) -> None:
    """A hard link to an unchanged file (same inode, same mtime); a copy where links fail."""
    try:
        os.link(source, dest, follow_symlinks=False)
    except OSError:  # a file system without hard links, or a link count at its limit
        shutil.copy2(source, dest, follow_symlinks=False)


def exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    if renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in NO_EXCHANGE:
        return False
    raise OSError(code, os.strerror(code), str(b))


def swap_in(staging: Path, target: Path) -> Path | None:
    """Put the staging folder at `target`; where the previous tree now is (None: none)."""
    if not os.path.lexists(target):
        os.rename(staging, target)
        _fsync_dir(target.parent)
        return None
    if not exchange(staging, target):
        # Two renames: for a moment `target` is absent (never half-written).
        retired = staging.with_name(staging.name + "-old")
        os.rename(target, retired)
        try:
            os.rename(staging, target)
        except BaseException:
            os.rename(retired, target)
            raise
        staging = retired
    _fsync_dir(target.parent)
    return staging


_RENAMEAT2: list[Any] = []


def _renameat2() -> Any:
    """libc's renameat2, or None (not Linux, or a libc without it)."""
    if not _RENAMEAT2:
        function = None
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            function = getattr(libc, "renameat2", None)
        except OSError:
            pass
        if function is not None:
            function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                                 ctypes.c_uint]
            function.restype = ctypes.c_int
        _RENAMEAT2.append(function)
    return _RENAMEAT2[0]


def _make_staging(target: Path, out: Path) -> Path:
    """A new, empty staging folder next to `target` (same file system, so links work)."""
    for _ in range(100):
        staging = target.parent / (staging_prefix(target) + secrets.token_hex(4))
        try:
            staging.mkdir()
            return staging
        except FileExistsError:
            continue
        except OSError as exc:
            raise _write_error(exc, out, out, None) from exc
    raise SitegenError(f"cannot make a staging folder next to {out}")  # pragma: no cover


def _remove_stale_staging(target: Path) -> None:
    """Remove staging folders a killed build left (the build lock is held: none is live)."""
    with contextlib.suppress(OSError):
        for path in target.parent.iterdir():
            if path.name.startswith(staging_prefix(target)) and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _build_lock(parent: Path, out: Path) -> Iterator[None]:
    """One build at a time next to `out`: an advisory lock on the folder that holds it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    try:
        fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        yield  # a folder we cannot open: no lock, as before
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SitegenError(f"another sitegen build is writing {out} (or a folder next to "
                               "it): wait for it to finish") from None
        except OSError:
            pass  # a file system without locks
        yield
    finally:
        os.close(fd)  # closing releases the lock, also when the process dies


def _fsync_dir(path: Path) -> None:
    """Make a folder's entries (new names, renames) durable."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


@contextlib.contextmanager
def _naming(path: Path) -> Iterator[None]:
    """An OSError that names no file (write(2) on a full disk) names `path`."""
    try:
        yield
    except OSError as exc:
        if not exc.filename:
            exc.filename = str(path)
        raise


@contextlib.contextmanager
def _write_errors(out: Path, staging: Path | None, verb: str = "write", *,
                  partial: bool = False) -> Iterator[None]:
    """OSError -> BuildWriteError naming the path as the user knows it, and the cause."""
    try:
        yield
    except OSError as exc:
        where = Path(exc.filename) if exc.filename else out
        raise _write_error(exc, out, where, staging, verb, partial) from exc


def _write_error(exc: OSError, out: Path, where: Path, staging: Path | None,
                 verb: str = "write", partial: bool = False) -> BuildWriteError:
    if staging is not None:  # the staging folder's paths shown as the output's
        with contextlib.suppress(ValueError):
            where = out / where.relative_to(staging)
    cause = exc.strerror or str(exc)
    if partial:
        state = (f"{out} is incomplete and has no {MANIFEST}: `sitegen publish` refuses it "
                 "until a build succeeds")
    elif verb == "read":
        state = "nothing was written"
    elif os.path.lexists(out):
        state = f"{out} is left as it was"
    else:
        state = f"{out} was not created"
    return BuildWriteError(f"cannot {verb} {where}: {cause} ({state})")
