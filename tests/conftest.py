"""Shared fixtures: small catalogs built from dicts in a temporary folder."""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from sitegen.catalog import Catalog
from sitegen.catalog.load import load_catalog

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "catalog"

# A small valid catalog, section by section: the kino stool of DOMAIN.md.
BASE: dict[str, Any] = {
    "site": {"title": "Test", "base_url": "https://example.com/", "renders_url": "renders/"},
    "natures": [{"id": "wood", "name": "Wood"}, {"id": "linoleum", "name": "Linoleum"},
                {"id": "mdf", "name": "MDF"}, {"id": "fabric", "name": "Fabric"}],
    "patterns": [
        {"id": "oak", "nature": "wood", "name": "Oak"},
        {"id": "walnut", "nature": "wood", "name": "Walnut"},
        {"id": "lino", "nature": "linoleum", "name": "Linoleum"},
        {"id": "mdf", "nature": "mdf", "name": "MDF"},
    ],
    "finishes": [
        {"id": 1127, "pattern": "oak", "name": "Oak natural", "color": "#c8a27a"},
        {"id": 1128, "pattern": "oak", "name": "Oak white", "color": "#ddc9ad"},
        {"id": 1140, "pattern": "walnut", "name": "Walnut", "color": "#6b4a33"},
        {"id": 235, "pattern": "lino", "name": "Charcoal", "color": "#3b3d3f"},
        {"id": 236, "pattern": "lino", "name": "Pistachio", "color": "#b5b98a"},
        {"id": 2001, "pattern": "mdf", "name": "MDF natural", "color": "#b59a78"},
        {"id": 2002, "pattern": "mdf", "name": "MDF black", "color": "#2a2a2a"},
    ],
    "qualities": [{"id": "preview", "engine": "cycles", "samples": 4, "resolution": [64, 48],
                   "format": "png", "primary": True}],
    "models": [{"id": "kino", "blend": "kino.blend", "meshes": ["frame", "top", "insert", "rim"],
                "views": ["front", "side"]}],
    "products": [{
        "id": "kino-stool", "name": "Kino stool", "model": "kino",
        "kinds": [
            {"id": "wood-top", "name": "Wooden top", "parts": [
                {"part": "Frame", "covered": ["wood"], "meshes": ["frame"], "default": 1127},
                {"part": "Top", "covered": ["wood"], "meshes": ["top"]}]},
            {"id": "lino-top", "name": "Linoleum top", "parts": [
                {"part": "Frame", "covered": ["wood"], "meshes": ["frame", "rim"]},
                {"part": "Top", "covered": ["linoleum"], "meshes": ["insert"]}]},
        ],
    }],
}


def pytest_configure(config: pytest.Config) -> None:
    """Tests send SIGINT to the sitegen processes they start (Ctrl-C). A pytest started in
    the background by a shell without job control (`cmd &` in a script) has SIGINT
    ignored, and its children would inherit that, so Python in them would never raise
    KeyboardInterrupt: give SIGINT its usual handler here, which exec resets to the
    default in every child."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked `blender` needs bpy: without it, it fails (SITEGEN_SKIP_BLENDER=1 skips)."""
    if item.get_closest_marker("blender"):
        from programs import need_bpy

        need_bpy()


def base_catalog() -> dict[str, Any]:
    """A deep copy of BASE, to modify in a test."""
    return copy.deepcopy(BASE)


def write_catalog(root: Path, files: dict[str, Any], blends: tuple[str, ...] = ("kino.blend",)
                  ) -> Path:
    """Write YAML files (dicts are dumped, strings written as they are) and empty blend files."""
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        path.write_text(text, encoding="utf-8")
    for blend in blends:
        (root / blend).parent.mkdir(parents=True, exist_ok=True)
        (root / blend).write_bytes(b"BLENDER-v500")
    return root


@pytest.fixture
def make_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """Build a catalog folder from {file name: dict or YAML text}; returns its path.

    The current directory is the temporary folder, so error paths read `cat/<file>`.
    """
    monkeypatch.chdir(tmp_path)

    def make(files: dict[str, Any] | None = None, **kwargs: Any) -> Path:
        return write_catalog(tmp_path / "cat", files if files is not None
                             else {"catalog.yaml": base_catalog()}, **kwargs)

    return make


@pytest.fixture
def load(make_catalog: Callable[..., Path]) -> Callable[..., Catalog]:
    """Build and load a catalog in one step."""

    def build(files: dict[str, Any] | None = None, **kwargs: Any) -> Catalog:
        catalog, _ = load_catalog(make_catalog(files, **kwargs))
        return catalog

    return build


@pytest.fixture(scope="session")
def blender_scenes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny test scenes and textures of tests/blender_scenes.py, built once per session.

    Built in a subprocess (bpy's state is global: the pytest process never imports bpy).
    Fails when the bpy module is not installed (SITEGEN_SKIP_BLENDER=1 skips instead).
    """
    from blender_scenes import build_scenes
    from programs import need_bpy

    need_bpy()

    return build_scenes(tmp_path_factory.mktemp("blender-scenes"))


# -- The built demo site (tests/sitefixtures.py), shared by test_site.py and test_browser.py.


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The demo catalog with a synthetic render store (no Blender), built once."""
    from sitefixtures import build_demo

    return build_demo(tmp_path_factory.mktemp("demo-site"))


@pytest.fixture(scope="session")
def demo_server(demo_site: Any) -> Any:
    """The built demo served (renders included) on 127.0.0.1, a free port, in a thread."""
    from sitefixtures import serve

    yield from serve(demo_site.build, demo_site.store_root, demo_site.catalog.site.renders_url)


# -- S3 on loopback (moto's server mode) ---------------------------------------------------


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's S3 (and CloudFront) server on 127.0.0.1, one per test session; its URL."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def use_test_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **extra: str) -> None:
    """Test credentials, none of the user's AWS configuration, and `extra` variables."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    settings = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
                "AWS_EC2_METADATA_DISABLED": "true", **extra}
    for name, value in settings.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def endpoint(moto_endpoint: str) -> str:
    """The S3 (and CloudFront) endpoint the publish tests use."""
    return moto_endpoint


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, endpoint: str) -> None:
    """Test credentials, and nothing of the user's AWS configuration (CloudFront on moto)."""
    use_test_aws(monkeypatch, tmp_path, AWS_ENDPOINT_URL_CLOUDFRONT=endpoint)


@pytest.fixture
def s3(aws: Any, moto_endpoint: str) -> Any:
    """An S3 client on moto's server; `aws` (a module may have its own) sets up the
    environment first."""
    import boto3

    return boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")


@pytest.fixture
def bucket(s3: Any) -> str:
    """A fresh, empty bucket."""
    name = f"sg-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name


def write_png(path: Path, color: tuple[int, int, int] = (200, 160, 120)) -> Path:
    """A real 4x4 PNG (the catalog refuses texture files that are not images)."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (4, 4), color).save(path)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium through Playwright, one per test module (tests/browsing.py: the tabs)."""
    from browsing import CHROMIUM_ARGS
    from programs import need_chromium

    executable = need_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser tests need playwright: pip install -e '.[test]'",
                    pytrace=False)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(executable),
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# -- Redis: a throwaway server (the farm's other broker) ------------------------------------


@contextlib.contextmanager
def redis_server_at(folder: Path, port: int, bind: Sequence[str] = ("127.0.0.1",),
                    password: str | None = None) -> Iterator[None]:
    """A real redis-server on `port` of the `bind` addresses (nothing saved but in `folder`),
    answering a ping before this yields; stopped after."""
    import redis
    from programs import need_redis_server

    auth = ["--requirepass", password] if password else []
    proc = subprocess.Popen([str(need_redis_server()), "--port", str(port), "--bind",
                             " ".join(bind), *auth, "--save", "", "--appendonly", "no",
                             "--dir", str(folder)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        client = redis.Redis(port=port, password=password)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- RabbitMQ: a throwaway node (the farm's AMQP broker) -------------------------------------

RABBITMQ_USER, RABBITMQ_PASSWORD, RABBITMQ_VHOST = "sitegen", "farm-test", "sitegen"
RABBITMQ_CONSUMER_TIMEOUT_MS = 24 * 3600 * 1000  # as docs/farm.md sets it: no chunk is cut


def free_port(*addresses: str) -> int:
    """A TCP port free on 127.0.0.1 (and on each of `addresses`)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        try:
            for address in addresses:
                with socket.socket() as s:
                    s.bind((address, port))
        except OSError:
            continue
        return port


@dataclass
class RabbitNode:
    """A RabbitMQ node of the tests: its name, its URL per listen address, how to stop it."""

    name: str
    urls: dict[str, str]  # listen address -> amqp://USER:PASS@ADDRESS:PORT/VHOST
    port: int
    folder: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes]
    epmd: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        """The URL on the first listen address (127.0.0.1 by default)."""
        return next(iter(self.urls.values()))

    def ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """`rabbitmqctl -n NODE ARGS...` against this node."""
        return subprocess.run([str(_rabbitmqctl()), "-n", self.name, *args], env=self.env,
                              capture_output=True, text=True, timeout=timeout, check=False)

    def log(self) -> str:
        """The node's log (and what it printed), for assertion messages."""
        parts = [p.read_text(errors="replace") for p in sorted(self.folder.glob("log/*.log"))]
        out = self.folder / "server.out"
        return "\n".join([*parts, out.read_text(errors="replace") if out.exists() else ""])

    def stop(self) -> None:
        """Stop the node (`rabbitmqctl stop`, else kill its process group) and its epmd."""
        if self.proc.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.ctl("stop", timeout=30)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # anything it left in its session
        if self.epmd.poll() is None:
            self.epmd.terminate()
            self.epmd.wait(10)


def _rabbitmqctl() -> Path:
    from programs import need_rabbitmq_server

    return need_rabbitmq_server().with_name("rabbitmqctl")


def start_rabbitmq(folder: Path, listen: Sequence[str] = ("127.0.0.1",), *,
                   consumer_timeout_ms: int = RABBITMQ_CONSUMER_TIMEOUT_MS,
                   extra_config: str = "", timeout: float = 60) -> RabbitNode:
    """Start a throwaway RabbitMQ node with everything of its own under `folder`.

    Its own node name, AMQP port (the same on each address of `listen`), distribution port,
    epmd (on a free port, started and stopped here), Erlang cookie ($HOME is `folder`),
    data, logs and config (`consumer_timeout` set, then `extra_config`'s lines), so it never
    meets the system's service.
    User, password and vhost are the config's defaults (created at the first boot), allowed
    from any address. Returns the running node; call its `stop()`.
    """
    from programs import need_rabbitmq_server

    server = need_rabbitmq_server()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"sitegen-test-{os.getpid()}-{uuid.uuid4().hex[:6]}@localhost"
    port = free_port(*[a for a in listen if a != "127.0.0.1"])
    dist, epmd_port = free_port(), free_port()
    listeners = "\n".join(f"listeners.tcp.{i} = {a}:{port}" for i, a in enumerate(listen, 1))
    (folder / "rabbitmq.conf").write_text(
        f"{listeners}\n"
        f"consumer_timeout = {consumer_timeout_ms}\n"
        f"default_vhost = {RABBITMQ_VHOST}\n"
        f"default_user = {RABBITMQ_USER}\n"
        f"default_pass = {RABBITMQ_PASSWORD}\n"
        "loopback_users = none\n"
        "log.console = false\n"
        "log.file.level = info\n"
        f"{extra_config}")
    (folder / "enabled_plugins").write_text("[].\n")
    (folder / "rabbitmq-env.conf").write_text("")  # not /etc/rabbitmq's
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RABBITMQ_", "ERL_"))}
    env.update({
        "HOME": str(folder), "RABBITMQ_NODENAME": name, "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(dist), "ERL_EPMD_PORT": str(epmd_port),
        "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"), "RABBITMQ_LOG_BASE": str(folder / "log"),
        "RABBITMQ_CONFIG_FILE": str(folder / "rabbitmq.conf"),
        "RABBITMQ_ADVANCED_CONFIG_FILE": str(folder / "advanced.config"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
        "RABBITMQ_CONF_ENV_FILE": str(folder / "rabbitmq-env.conf"),
        "RABBITMQ_PID_FILE": str(folder / "node.pid")})
    epmd = subprocess.Popen([shutil.which("epmd") or "epmd", "-port", str(epmd_port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    with (folder / "server.out").open("wb") as out:
        proc = subprocess.Popen([str(server)], env=env, cwd=folder, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    node = RabbitNode(name, {a: f"amqp://{RABBITMQ_USER}:{RABBITMQ_PASSWORD}@{a}:{port}/"
                             f"{RABBITMQ_VHOST}" for a in listen}, port, folder, env, proc, epmd)
    try:
        deadline = time.monotonic() + timeout
        while True:  # the listener opens once the boot steps (default user...) are done
            if proc.poll() is not None:
                raise RuntimeError(f"rabbitmq-server exited ({proc.returncode}): {node.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"rabbitmq-server not up after {timeout} s: {node.log()}")
            with socket.socket() as s:
                s.settimeout(1)
                if s.connect_ex((listen[0], port)) == 0:
                    break
            time.sleep(0.1)
        started = node.ctl("await_startup", "--timeout", str(int(timeout)))
        if started.returncode != 0:
            raise RuntimeError(f"rabbitmqctl await_startup: {started.stderr}{node.log()}")
    except BaseException:
        node.stop()
        raise
    return node


@pytest.fixture(scope="session")
def rabbitmq_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitNode]:
    """One throwaway RabbitMQ node on 127.0.0.1 for the test session (start_rabbitmq)."""
    from programs import need_rabbitmq_server

    need_rabbitmq_server()  # skipped with SITEGEN_SKIP_FARM=1, else must be installed
    node = start_rabbitmq(tmp_path_factory.mktemp("rabbitmq"))
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def rabbitmq_url(rabbitmq_node: RabbitNode) -> str:
    """The session's RabbitMQ node: amqp://sitegen:farm-test@127.0.0.1:PORT/sitegen."""
    return rabbitmq_node.url
