"""The S3 store's upload queue: uploads in background threads, each followed, in the order
they were queued, by what waits for it (indexing its picture)."""

from __future__ import annotations

import collections
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from sitegen.errors import SitegenError


class UploadQueue:
    """Uploads in order; each entry's `then` runs (in the caller's thread) once its upload
    is done, and in queue order, so an index row never comes before its object."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self._queue: collections.deque[tuple[Future[None] | None, Callable[[], None]]] = (
            collections.deque())
        self._pool: ThreadPoolExecutor | None = None

    def __bool__(self) -> bool:
        return bool(self._queue)

    def submit(self, upload: Callable[[], None], then: Callable[[], None]) -> None:
        """Start an upload in the background; `then` runs once it is done."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="sitegen-s3")
        self._queue.append((self._pool.submit(upload), then))

    def after_all(self, then: Callable[[], None]) -> None:
        """Run `then` once the uploads queued so far are done (in queue order)."""
        self._queue.append((None, then))

    def drain(self, keep: int | None) -> None:
        """Run what waits for the uploads that finished, in order; with `keep`, first wait
        until at most that many uploads are left. An upload's failure is raised here."""
        while self._queue:
            future, then = self._queue[0]
            if (future is not None and not future.done()
                    and (keep is None or len(self._queue) <= keep)):
                break
            self._queue.popleft()
            if future is not None:
                future.result()
            then()

    def settle(self) -> None:
        """Wait for every upload and run what waits for it; then raise the first failure."""
        first: SitegenError | None = None
        while self._queue:
            try:
                self.drain(0)
            except SitegenError as exc:
                first = first or exc
        if first is not None:
            raise first

    def shutdown(self) -> None:
        """Let go of the upload threads (after waiting for them)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
