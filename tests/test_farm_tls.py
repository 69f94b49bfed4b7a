"""The farm over TLS: `amqps://` to a throwaway RabbitMQ node with a certificate of the
test's own CA.

The certificate names IP 127.0.0.1 only (kombu connects to 127.0.0.1 for `localhost`, so a
DNS name would not do); the node's TLS listener is on 127.0.0.1 and 127.0.0.2. The host and
the worker trust the CA through $SSL_CERT_FILE, as docs/farm.md says, and the run renders
every picture. The same node is refused, with a clear error and no password, when the CA is
not trusted or when the URL names 127.0.0.2, which the certificate does not.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import RABBITMQ_PASSWORD, RABBITMQ_USER, RABBITMQ_VHOST, free_port, start_rabbitmq
from netns import BROKERS, worker
from test_render import ALL, Project, by_event, make_project

pytestmark = [pytest.mark.blender,
              pytest.mark.skipif("rabbitmq" not in BROKERS, reason="RabbitMQ tests skipped")]


LOOPBACK = ipaddress.IPv4Address("127.0.0.1")


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA, and a server certificate it signed for IP 127.0.0.1 only: (ca, cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def name(text: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    def signed(subject: str, key: ec.EllipticCurvePrivateKey, issuer: str,
               issuer_key: ec.EllipticCurvePrivateKey, ca: bool) -> x509.Certificate:
        builder = (x509.CertificateBuilder().subject_name(name(subject))
                   .issuer_name(name(issuer)).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(minutes=5))
                   .not_valid_after(now + dt.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), True))
        if ca:
            builder = builder.add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False), True)
        else:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(LOOPBACK)]), False)
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = signed("sitegen test CA", ca_key, "sitegen test CA", ca_key, True)
    cert = signed("127.0.0.1", key, "sitegen test CA", ca_key, False)
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    paths[2].chmod(0o600)
    return paths


@pytest.fixture(scope="module")
def tls_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    """A RabbitMQ node with a TLS listener on 127.0.0.1: (its CA file, the TLS port)."""
    folder = tmp_path_factory.mktemp("rabbitmq-tls")
    ca, cert, key = make_certificates(folder)
    port = free_port("127.0.0.2")
    node = start_rabbitmq(folder / "node", extra_config=(
        f"listeners.ssl.1 = 127.0.0.1:{port}\n"
        f"listeners.ssl.2 = 127.0.0.2:{port}\n"
        f"ssl_options.cacertfile = {ca}\n"
        f"ssl_options.certfile = {cert}\n"
        f"ssl_options.keyfile = {key}\n"
        "ssl_options.verify = verify_none\n"
        "ssl_options.fail_if_no_peer_cert = false\n"))
    try:
        yield ca, port
    finally:
        node.stop()


def amqps(host: str, port: int) -> str:
    return f"amqps://{RABBITMQ_USER}:{RABBITMQ_PASSWORD}@{host}:{port}/{RABBITMQ_VHOST}"


@pytest.fixture
def project(tmp_path: Path, blender_scenes: Path) -> Project:
    return make_project(tmp_path, blender_scenes)


def test_a_farm_renders_over_tls(tls_node: tuple[Path, int], project: Project,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    ca, port = tls_node
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # the host's and the worker's trust
    url = amqps("127.0.0.1", port)
    with worker(url, project, "farm-tls"):
        run = project.start("render", "--farm", url, "--json")
        try:
            code = run.finish(timeout=300)
        finally:
            run.kill()
    assert code == 0, run.stderr
    assert sorted(e["address"] for e in by_event(run.events, "rendered")) == sorted(ALL)
    assert RABBITMQ_PASSWORD not in run.stderr + "".join(map(str, run.events))


@pytest.mark.parametrize("host, trusted", [("127.0.0.1", False), ("127.0.0.2", True)],
                         ids=["untrusted-ca", "other-host-name"])
def test_a_certificate_that_does_not_check_out_is_refused(
        tls_node: tuple[Path, int], project: Project, monkeypatch: pytest.MonkeyPatch,
        host: str, trusted: bool) -> None:
    ca, port = tls_node
    if trusted:
        monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    else:
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    result = project.run("render", "--farm", amqps(host, port), timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "error: cannot reach the farm at amqps://sitegen:***@" in result.stderr
    assert "certificate" in result.stderr.lower(), result.stderr
    assert "Traceback" not in result.stderr and RABBITMQ_PASSWORD not in result.stderr
    assert not (project.store / "index.sqlite").exists() or not project.records()
