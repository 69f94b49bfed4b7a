"""A farm worker machine lost for real: a `sitegen worker` in its own network namespace.

Used by tests/test_farm_loss.py (the checks) and bench/bench_farm.py (the timings): one copy
of the harness. `isolated_link()` makes a namespace `sg-<random>` joined to this one by a
veth pair with private addresses of its own (10.<a>.<b>.1/30 here, .2 inside; no other
interface, route or address is touched) and removes all of it afterwards. `broker()` starts
a throwaway redis-server or RabbitMQ node listening on 127.0.0.1 and on the link's address.
`machine_loss()` runs a farm of two workers, A inside the namespace and B beside the broker,
renders the test catalog, cuts A's link (`ip link set <host side> down`) once A has stored a
picture of its chunk and renders the next, waits for the run to finish, then restores the
link and waits for A to answer again, and records what a test needs to check.

A namespace cuts the network only: A and B share the render store (a folder), as workers
with a bucket do. Network namespaces need root (CAP_NET_ADMIN): `isolated_link()` raises
`NetnsUnavailable` with the reason when `ip netns add` fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conftest import free_port, redis_server_at, start_rabbitmq
from test_render import Project, Running, by_event, catalog_data, make_project

from sitegen import farm

# Redis: the smallest visibility timeout `sitegen worker` takes (seconds); a chunk takes far
# less. The workers look for chunks past it every farm.RESTORE_SWEEP seconds, so a lost
# chunk comes back between the timeout and the timeout + the sweep after its delivery.
VISIBILITY_TIMEOUT = 60
RESTORE_SWEEP = farm.RESTORE_SWEEP
# RabbitMQ: `sitegen worker`'s default heartbeat; the broker drops a silent connection after
# two missed ones and gives its unacknowledged chunk to another consumer.
HEARTBEAT = 10
SAMPLES = 100  # the test catalog's preview quality: about a second a picture, 6 a chunk
BROKERS = ("redis", "rabbitmq")
REDIS_PASSWORD = "farm-test"


class NetnsUnavailable(Exception):
    """Network namespaces cannot be made here (not root, no CAP_NET_ADMIN, no `ip`)."""


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30,
                          check=check)


@dataclass
class Link:
    """A network namespace and the veth pair that joins it to this one."""

    name: str  # the namespace: sg-<hex>
    host_if: str  # the veth end here
    inner_if: str  # the end inside
    host_addr: str  # 10.a.b.1 (here)
    inner_addr: str  # 10.a.b.2 (inside)

    def exec(self, command: Sequence[str]) -> list[str]:
        """`command` run inside the namespace (`ip netns exec` execs it: the same pid)."""
        return ["ip", "netns", "exec", self.name, *command]

    def cut(self) -> None:
        """The cable pulled: the host side of the veth down."""
        _ip("link", "set", self.host_if, "down")

    def restore(self) -> None:
        """The cable back."""
        _ip("link", "set", self.host_if, "up")

    def pids(self) -> list[int]:
        """The processes inside the namespace."""
        out = _ip("netns", "pids", self.name, check=False).stdout
        return [int(p) for p in out.split()]


def _free_subnet() -> ipaddress.IPv4Network:
    """A random 10.a.b.c/30 that no address of this machine falls in or contains."""
    used = []
    for line in _ip("-o", "-4", "addr", "show").stdout.splitlines():
        fields = line.split()
        if "inet" in fields:
            used.append(ipaddress.ip_interface(fields[fields.index("inet") + 1]).network)
    while True:
        a, b, c = secrets.randbelow(256), secrets.randbelow(256), secrets.randbelow(64) * 4
        subnet = ipaddress.ip_network(f"10.{a}.{b}.{c}/30")
        if not any(subnet.overlaps(n) for n in used):
            return subnet


@contextlib.contextmanager
def isolated_link() -> Iterator[Link]:
    """A namespace joined by a veth pair with private addresses; all removed at the end,
    whatever happens (processes still inside are killed first)."""
    tag = secrets.token_hex(4)
    name = f"sg-{tag}"
    try:
        made = _ip("netns", "add", name, check=False)
    except OSError as exc:
        raise NetnsUnavailable(f"cannot run `ip`: {exc}") from None
    if made.returncode != 0:
        raise NetnsUnavailable(f"`ip netns add` failed (network namespaces need root or "
                               f"CAP_NET_ADMIN): {made.stderr.strip()}")
    subnet = _free_subnet()
    host_addr, inner_addr = (str(h) for h in subnet.hosts())
    link = Link(name, f"sgh-{tag}", f"sgn-{tag}", host_addr, inner_addr)
    try:
        _ip("link", "add", link.host_if, "type", "veth", "peer", "name", link.inner_if,
            "netns", name)
        _ip("addr", "add", f"{host_addr}/30", "dev", link.host_if)
        _ip("link", "set", link.host_if, "up")
        _ip("-n", name, "addr", "add", f"{inner_addr}/30", "dev", link.inner_if)
        _ip("-n", name, "link", "set", link.inner_if, "up")
        _ip("-n", name, "link", "set", "lo", "up")
        yield link
    finally:
        for pid in link.pids():  # only what this harness started there
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _ip("link", "del", link.host_if, check=False)  # both ends go
        _ip("netns", "del", name, check=False)


@dataclass
class Broker:
    """A broker of the test: its URL here (127.0.0.1), across the link, worker options."""

    kind: str  # "redis" or "rabbitmq"
    url: str  # for the host and worker B
    far_url: str  # for worker A, inside the namespace
    worker_args: tuple[str, ...]
    recovery_bound_s: float  # when a lost chunk is back at the latest, from the cut


@contextlib.contextmanager
def broker(kind: str, folder: Path, link: Link) -> Iterator[Broker]:
    """A throwaway redis-server or RabbitMQ node on 127.0.0.1 and the link's address."""
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "rabbitmq":
        node = start_rabbitmq(folder, listen=("127.0.0.1", link.host_addr))
        try:
            yield Broker(kind, node.urls["127.0.0.1"], node.urls[link.host_addr],
                         ("--heartbeat", str(HEARTBEAT)), 3 * HEARTBEAT)
        finally:
            node.stop()
        return
    port = free_port(link.host_addr)
    # A password, as docs/farm.md asks (and Redis refuses other addresses without one).
    with redis_server_at(folder, port, ("127.0.0.1", link.host_addr), REDIS_PASSWORD):
        yield Broker(kind, f"redis://:{REDIS_PASSWORD}@127.0.0.1:{port}/0",
                     f"redis://:{REDIS_PASSWORD}@{link.host_addr}:{port}/0",
                     ("--visibility-timeout", str(VISIBILITY_TIMEOUT)),
                     VISIBILITY_TIMEOUT + RESTORE_SWEEP)


@dataclass
class Worker:
    """A `sitegen worker` started by `worker()`."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def hostname(self, answered: Sequence[farm.FarmWorker]) -> str | None:
        return next((w.hostname for w in answered if w.hostname.startswith(f"{self.name}@")),
                    None)


def _parent(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])


@contextlib.contextmanager
def worker(url: str, project: Project, name: str, args: Sequence[str] = (),
           prefix: Sequence[str] = (), host_url: str | None = None) -> Iterator[Worker]:
    """`sitegen worker` (one pool process, one thread) until the block ends, once the host
    (`host_url`, default `url`) hears it; `prefix` runs it elsewhere (`ip netns exec`)."""
    log = project.root / f"{name}.log"
    command = [*prefix, sys.executable, "-m", "sitegen", "worker", "--broker", url,
               "--renders", str(project.store), "--concurrency", "1", "--threads", "1",
               "--device", "cpu", "--cache", str(project.root / f"{name}-cache"),
               "--hostname", f"{name}@%h", *args]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                env=project.env(), cwd=project.root, start_new_session=True)
    started = Worker(name, proc, log)
    try:
        client = farm.Farm(host_url or url)
        deadline = time.monotonic() + 90
        while started.hostname(client.workers(0.5)) is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"worker {name} did not answer: {log.read_text()}")
        yield started
    finally:
        proc.send_signal(signal.SIGTERM)  # a warm shutdown: the pool and its Blenders stop
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # anything it left in its session
        proc.wait()


def loss_project(root: Path, scenes: Path) -> Project:
    """The test catalog (test_render.py: 14 pictures, chunks of 6, 6 and 2 on two pool
    processes) with SAMPLES samples in both qualities: A may take the chunk of 2, and must
    still be rendering its second picture when its link is cut."""
    data = catalog_data(samples=SAMPLES)
    for quality in data["qualities"]:
        quality["samples"] = SAMPLES
    return make_project(root, scenes, data)


@dataclass
class Outcome:
    """What one farm run with (or without) a machine loss showed."""

    broker: str
    code: int
    events: list[dict[str, Any]]
    stderr: str
    total_s: float  # the host's command, start to exit
    cut_s: float | None = None  # start to the cut
    cut_to_finish_s: float | None = None
    lost_worker: str = ""  # A's pool process, as events name it (<host>-<pid>)
    stored_by_a_before_cut: set[str] = field(default_factory=set)
    index_at_finish: dict[str, tuple[str, str]] = field(default_factory=dict)
    receipts_at_finish: dict[str, dict[str, Any]] = field(default_factory=dict)
    temp_files_at_finish: list[str] = field(default_factory=list)
    back_after_restore_s: float | None = None  # restore to A answering the host
    index_after_return: dict[str, tuple[str, str]] = field(default_factory=dict)
    store_matches_index: bool = False  # after A's return: each file has its row's SHA-256
    temp_files_after_return: list[str] = field(default_factory=list)
    second_run: str = ""  # `render --farm` again: its stdout
    logs: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        """For assertion messages: the host's stderr and the workers' logs' tails."""
        tails = "\n".join(f"--- {n}\n{t[-4000:]}" for n, t in self.logs.items())
        return f"exit {self.code}\n{self.stderr[-4000:]}\n{tails}"


def index_of(project: Project) -> dict[str, tuple[str, str]]:
    """address -> (fingerprint, sha256) of the store's index."""
    path = project.store / "index.sqlite"
    if not path.exists():
        return {}
    db = sqlite3.connect(path)
    try:
        return {a: (f, s) for a, f, s in db.execute(
            "SELECT address, fingerprint, sha256 FROM renders")}
    finally:
        db.close()


def receipts_of(project: Project) -> dict[str, dict[str, Any]]:
    root = project.store / farm.RECEIPTS
    return {p.relative_to(root).as_posix().removesuffix(".json"): json.loads(p.read_text())
            for p in root.rglob("*.json")} if root.exists() else {}


def _matches(project: Project, index: dict[str, tuple[str, str]]) -> bool:
    return all((project.store / a).is_file() and hashlib.sha256(
        (project.store / a).read_bytes()).hexdigest() == sha for a, (_, sha) in index.items())


def _wait_idle(client: farm.Farm, hostname: str, timeout: float) -> None:
    """Until the worker `hostname` answers that it runs no chunk (a chunk it held when cut
    may go on once the link is back)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        active = client.app.control.inspect([hostname], timeout=1.0).active() or {}
        if active.get(hostname) == []:
            return
        time.sleep(0.5)
    raise AssertionError(f"{hostname} still busy after {timeout} s")


def machine_loss(project: Project, kind: str, link: Link, *, cut: bool = True,
                 run_timeout: float = 400, render_args: Sequence[str] = ()) -> Outcome:
    """One farm run of the project's catalog on workers A (inside `link`'s namespace) and
    B (here), on a fresh broker of `kind`; with `cut`, A's link is cut mid-chunk and, once
    the run has finished, restored. `render_args` go to both `render --farm` runs (e.g.
    `--limit`). Returns what happened (see Outcome)."""
    with broker(kind, project.root / f"{kind}-data", link) as server, \
            worker(server.url, project, "farm-b", server.worker_args) as b, \
            worker(server.far_url, project, "farm-a", server.worker_args,
                   prefix=link.exec([]), host_url=server.url) as a:
        client = farm.Farm(server.url)
        start = time.monotonic()
        run = project.start("render", "--farm", server.url, "--json", *render_args)
        outcome = Outcome(kind, -1, run.events, "", 0.0)
        try:
            if cut:
                _cut_mid_chunk(run, a, link, outcome)
                outcome.cut_s = time.monotonic() - start
            outcome.code = run.finish(timeout=run_timeout)
            finished = time.monotonic()
        finally:
            run.kill()
            outcome.stderr = run.stderr
            outcome.logs = {w.name: w.log.read_text(errors="replace") for w in (a, b)}
        outcome.total_s = finished - start
        if outcome.cut_s is not None:
            outcome.cut_to_finish_s = finished - start - outcome.cut_s
        outcome.index_at_finish = index_of(project)
        outcome.receipts_at_finish = receipts_of(project)
        outcome.temp_files_at_finish = [str(p) for p in project.temp_files()]
        if cut:
            link.restore()
            restored = time.monotonic()
            deadline = restored + 240  # TCP retransmits back off: up to a minute or two
            hostname = None
            while hostname is None:
                assert time.monotonic() < deadline, f"A did not come back: {a.log.read_text()}"
                hostname = a.hostname(client.workers(1.0))
            outcome.back_after_restore_s = time.monotonic() - restored
            _wait_idle(client, hostname, 240)
        outcome.index_after_return = index_of(project)
        outcome.store_matches_index = _matches(project, outcome.index_after_return)
        outcome.temp_files_after_return = [str(p) for p in project.temp_files()]
        again = project.run("render", "--farm", server.url, *render_args)
        outcome.second_run = again.stdout + again.stderr
        outcome.logs = {w.name: w.log.read_text(errors="replace") for w in (a, b)}
    return outcome


def _cut_mid_chunk(run: Running, a: Worker, link: Link, outcome: Outcome) -> None:
    """Cut A's link as soon as A has stored a picture of its chunk (it renders the next)."""
    while True:
        run.wait_for("rendered", len(by_event(run.events, "rendered")) + 1, timeout=180)
        event = by_event(run.events, "rendered")[-1]
        pid = int(event["worker"].rsplit("-", 1)[1])
        if _parent(pid) == a.proc.pid:  # one of A's pool processes
            break
    link.cut()
    outcome.lost_worker = event["worker"]
    outcome.stored_by_a_before_cut = {e["address"] for e in by_event(run.events, "rendered")
                                      if e["worker"] == event["worker"]}
