"""The S3 store's write lock: an object created with If-None-Match: *, renewed by a thread.

The object holds who and since when. A lock not renewed for `stale_seconds`, or held by a
process of this machine that is gone, is broken with a message; otherwise a second run
gets a SitegenError naming the holder. Taking the lock the first time checks that the
endpoint honours conditional writes, and refuses to go on where they are ignored.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import json
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sitegen.errors import SitegenError
from sitegen.store.folder import LOCK_NAME
from sitegen.store.s3.objects import BucketObjects, Conflict


@dataclass
class HeldLock:
    """The lock as this run wrote it last."""

    body: bytes
    etag: str
    lost: bool = False


class BucketLock:
    """Taking, renewing and releasing the lock object of one store."""

    def __init__(self, objects: BucketObjects, *, stale_seconds: float,
                 heartbeat_seconds: float, warn: Callable[[str], None],
                 conditions_checked: bool) -> None:
        self.objects = objects
        self.stale_seconds = stale_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.warn = warn
        self.conditions_checked = conditions_checked

    @contextlib.contextmanager
    def hold(self, what: str, before_release: Callable[[], None]) -> Iterator[None]:
        """Hold the lock, renewed, while the block runs; then stop renewing it, call
        `before_release`, and release it."""
        held = self.acquire(what)
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(held, stop), daemon=True,
                                name="sitegen-s3-lock")
        beat.start()
        try:
            yield
        finally:
            stop.set()
            beat.join()
            try:
                before_release()
            finally:
                self._release(held)

    def acquire(self, what: str) -> HeldLock:
        """Take the lock (breaking a stale one), or raise a SitegenError naming its holder."""
        url = self.objects.url
        since = dt.datetime.now().isoformat(timespec="seconds")
        body = json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                           "pidns": pid_namespace(), "what": what, "since": since}).encode()
        for _ in range(3):
            try:
                etag = self.objects.put(LOCK_NAME, body, if_none_match=True,
                                        ContentType="application/json")
            except Conflict:
                pass
            else:
                held = HeldLock(body, etag)
                self._check_conditions(held)
                return held
            holder, etag_, age = self._read()
            if holder is None:
                continue  # released meanwhile
            stale = self._stale(holder, age)
            if stale is None:
                raise SitegenError(
                    f"{url} is locked by another run: {_describe(holder)}; wait for it "
                    f"to finish (a lock not renewed for {self.stale_seconds / 60:g} min is "
                    f"broken by the next run; if that run is gone, delete "
                    f"{url}{LOCK_NAME})")
            self.warn(f"breaking the lock of {url}: {_describe(holder)} {stale}")
            with contextlib.suppress(Conflict):  # taken or released meanwhile: try again
                self.objects.delete(LOCK_NAME, etag_)
        raise SitegenError(f"could not take the lock of {url}: it changed hands "
                           "several times; run again")

    def _check_conditions(self, held: HeldLock) -> None:
        """Refuse an endpoint that ignores conditional writes: the index would be unsafe."""
        if self.conditions_checked:
            return
        for name, if_match in (("If-None-Match", None), ("If-Match", '"0"')):
            try:  # both must be refused: the lock exists, and its ETag is not "0"
                self.objects.put(LOCK_NAME, held.body, if_match=if_match,
                                 if_none_match=if_match is None, ContentType="application/json")
            except Conflict:
                continue
            with contextlib.suppress(Conflict):
                self.objects.delete(LOCK_NAME, held.etag)
            raise SitegenError(f"{self.objects.endpoint_url or 'this S3 endpoint'} ignored "
                               f"{name}: a render store needs S3 conditional writes to keep its "
                               "index and lock safe; use a folder store, or an endpoint with "
                               "them (AWS S3, MinIO, Cloudflare R2)")
        self.conditions_checked = True

    def _read(self) -> tuple[dict[str, Any] | None, str, float]:
        """The lock's holder, ETag and age in seconds by the server's clock (None: no lock)."""
        answer = self.objects.get(LOCK_NAME)
        if answer is None:
            return None, "", 0.0
        with self.objects.errors(f"reading {self.objects.url}{LOCK_NAME}"):
            raw = answer["Body"].read()
        try:
            holder = json.loads(raw)
            if not isinstance(holder, dict):
                raise ValueError
        except ValueError:
            holder = {"raw": raw.decode(errors="replace")[:200]}
        date = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
        now = (email.utils.parsedate_to_datetime(date) if date
               else dt.datetime.now(dt.UTC))
        age = (now - answer["LastModified"]).total_seconds()
        return holder, str(answer["ETag"]), age

    def _stale(self, holder: dict[str, Any], age: float) -> str | None:
        """Why a lock may be broken, or None."""
        if age > self.stale_seconds:
            return f"(not renewed for {age / 60:.0f} min)"
        if (holder.get("host") == socket.gethostname() and holder.get("pidns") == pid_namespace()
                and isinstance(holder.get("pid"), int) and not _alive(holder["pid"])):
            return "(that process is gone)"
        return None

    def _heartbeat(self, held: HeldLock, stop: threading.Event) -> None:
        """Renew the lock (its time) until stopped; say so if another run took it."""
        while not stop.wait(self.heartbeat_seconds):
            try:
                held.etag = self.objects.put(LOCK_NAME, held.body, if_match=held.etag,
                                             ContentType="application/json")
            except Conflict:
                held.lost = True
                self.warn(f"warning: the lock of {self.objects.url} was broken by another "
                          "run; the index stays safe, but both runs may render the same "
                          "pictures")
                return
            except SitegenError:
                continue  # the network: try again at the next beat

    def _release(self, held: HeldLock) -> None:
        if held.lost:
            return
        try:
            self.objects.delete(LOCK_NAME, held.etag)
        except Conflict:
            self.warn(f"warning: the lock of {self.objects.url} was taken over by another run "
                      "before this one released it")


def _describe(holder: dict[str, Any]) -> str:
    if "raw" in holder:
        return str(holder["raw"]) or "?"
    return (f"pid {holder.get('pid', '?')} on {holder.get('host', '?')} "
            f"({holder.get('what', '?')}, since {holder.get('since', '?')})")


def pid_namespace() -> str:
    """This process's PID namespace: pids of another one (a container) mean nothing here."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
