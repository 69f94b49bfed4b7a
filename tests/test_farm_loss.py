"""A farm worker machine lost for real, on both brokers: its network cut mid-chunk.

Worker A runs in its own network namespace, joined by a veth pair with private addresses
(tests/netns.py, the harness the benchmark uses too); worker B runs beside the broker, which
listens on 127.0.0.1 and on the link's address. Both see the render store (a folder: a
namespace cuts the network only). Once A has stored a picture of its chunk and renders the
next, the host side of its link goes down. The run must finish with every picture stored and
indexed once, within the broker's recovery time (RabbitMQ: two or three heartbeats; Redis:
the visibility timeout, plus the workers' sweep for chunks past it) plus the remaining
work; then the link comes back and A must answer again without duplicating a picture.
Needs root (CAP_NET_ADMIN) for the namespace: skipped otherwise, saying so. About 60 s on
RabbitMQ and 90 s on Redis (its visibility timeout is 60 s at the least).

Then each broker restarted mid-chunk (no namespace needed): the host must wait for it, send
what has not come back again, and end with every picture indexed once (about 25 s each).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import free_port, redis_server_at, start_rabbitmq
from netns import (
    BROKERS,
    HEARTBEAT,
    RESTORE_SWEEP,
    VISIBILITY_TIMEOUT,
    Link,
    NetnsUnavailable,
    index_of,
    isolated_link,
    loss_project,
    machine_loss,
    worker,
)
from test_render import ALL, by_event

pytestmark = pytest.mark.blender

WORK_MARGIN_S = 120  # the remaining work, generously: the test checks behaviour, not speed


@pytest.fixture
def link() -> Iterator[Link]:
    try:
        with isolated_link() as made:
            yield made
    except NetnsUnavailable as exc:
        pytest.skip(f"network namespaces unavailable: {exc}")


@pytest.mark.parametrize("kind", BROKERS)
def test_a_worker_machine_cut_off_mid_chunk(kind: str, link: Link, blender_scenes: Path,
                                           tmp_path: Path) -> None:
    project = loss_project(tmp_path, blender_scenes)
    out = machine_loss(project, kind, link)
    why = out.describe()
    assert out.code == 0, why
    print(f"{kind}: cut {out.cut_s:.1f} s into the run, finished {out.cut_to_finish_s:.1f} s "
          f"later; A back {out.back_after_restore_s:.1f} s after the link")

    # Every wanted picture rendered (or answered from A's receipts) and indexed once.
    rendered = [e["address"] for e in by_event(out.events, "rendered")]
    assert sorted(rendered) == sorted(ALL), why
    assert not by_event(out.events, "failed"), why
    assert by_event(out.events, "summary")[0]["rendered"] == 14
    lost = by_event(out.events, "worker")
    assert lost and all("delivered again (delivery 2)" in e["error"] for e in lost), lost
    assert set(out.index_at_finish) == ALL and all(f for f, _ in out.index_at_finish.values())
    assert set(out.receipts_at_finish) == ALL
    for address, (fingerprint, sha) in out.index_at_finish.items():
        receipt = out.receipts_at_finish[address]
        assert (receipt["fingerprint"], receipt["sha256"]) == (fingerprint, sha), address
    assert not out.temp_files_at_finish
    # What A stored before the cut was answered from its receipts, not rendered again.
    assert out.stored_by_a_before_cut
    for address in out.stored_by_a_before_cut:
        assert out.receipts_at_finish[address]["worker"] == out.lost_worker, address

    # In time: the broker's recovery plus the work left (B renders A's chunk's rest).
    assert out.cut_to_finish_s is not None
    bound = (3 * HEARTBEAT if kind == "rabbitmq" else VISIBILITY_TIMEOUT + RESTORE_SWEEP)
    assert out.cut_to_finish_s < bound + WORK_MARGIN_S, why
    if kind == "redis":  # not before the visibility timeout: Redis cannot tell sooner
        assert out.cut_to_finish_s > VISIBILITY_TIMEOUT - out.cut_s, why

    # A came back (it answers the host's worker list, runs nothing) and duplicated nothing:
    # the index is unchanged, each file still has its row's hash, a rerun renders nothing.
    assert out.back_after_restore_s is not None
    assert out.index_after_return == out.index_at_finish
    assert out.store_matches_index and not out.temp_files_after_return
    assert out.second_run == "wanted 14: 14 ready; render nothing\n", out.second_run


@contextlib.contextmanager
def restartable_broker(kind: str, folder: Path) -> Iterator[tuple[str, Callable[[], None]]]:
    """A throwaway broker on 127.0.0.1: its URL, and a function that restarts it (RabbitMQ:
    the node's application stopped and started, its data kept; Redis: the server stopped and
    a fresh one started on the same port, nothing kept, as without persistence)."""
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "rabbitmq":
        node = start_rabbitmq(folder)

        def restart_node() -> None:
            for step in ("stop_app", "start_app"):
                done = node.ctl(step)
                assert done.returncode == 0, done.stderr

        try:
            yield node.urls["127.0.0.1"], restart_node
        finally:
            node.stop()
        return
    port = free_port()
    with contextlib.ExitStack() as stack:
        stack.enter_context(redis_server_at(folder, port))

        def restart_redis() -> None:
            stack.close()
            stack.enter_context(redis_server_at(folder, port))

        yield f"redis://127.0.0.1:{port}/0", restart_redis


@pytest.mark.parametrize("kind", BROKERS)
def test_the_host_rides_out_a_broker_restart(kind: str, blender_scenes: Path,
                                             tmp_path: Path) -> None:
    """The broker restarted mid-run: the host says so, waits for it, sends what has not come
    back again, and the run ends with every picture rendered and indexed once."""
    project = loss_project(tmp_path, blender_scenes)
    with restartable_broker(kind, tmp_path / "broker") as (url, restart), \
            worker(url, project, "farm-b"):
        run = project.start("render", "--farm", url, "--json")
        try:
            run.wait_for("rendered", 2, timeout=180)  # mid-chunk
            restart()
            code = run.finish(timeout=300)
        finally:
            run.kill()
        assert code == 0, run.stderr
        assert "Traceback" not in run.stderr and "internal error" not in run.stderr
        states = [e["state"] for e in by_event(run.events, "broker")]
        assert states == ["lost", "back"], run.events
        rendered = [e["address"] for e in by_event(run.events, "rendered")]
        assert sorted(rendered) == sorted(ALL)
        assert not by_event(run.events, "failed")
        assert set(index_of(project)) == ALL
        again = project.run("render", "--farm", url)
        assert again.stdout == "wanted 14: 14 ready; render nothing\n", again.stderr
