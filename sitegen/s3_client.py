"""The S3 client of the render store and of publish: one way to make it, one error mapping.

A boto3 client is made from a fresh session that shares one loader of service models
(reading them takes half a second per session; they never change in a process). Other
endpoints than AWS (MinIO, R2, a local test server) get path-style addresses, as their
hosts do not resolve `<bucket>.<host>`, and checksum headers only where S3 requires them
(several reject the CRC32 headers botocore adds by default). Every failure of boto3
becomes a SitegenError that says what to check.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sitegen.errors import SitegenError

CREDENTIALS_HELP = ("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN "
                    "for temporary credentials), or AWS_PROFILE naming a profile of "
                    "~/.aws/credentials")

_LOADERS: list[Any] = []


def aws_session(region: str | None) -> Any:
    """A fresh boto3 session (credentials read now) sharing one loader of service models."""
    import boto3
    import botocore.loaders
    import botocore.session

    if not _LOADERS:
        _LOADERS.append(botocore.loaders.create_loader())
    core = botocore.session.get_session()
    core.register_component("data_loader", _LOADERS[0])
    return boto3.session.Session(botocore_session=core, region_name=region)


def make_s3_client(endpoint_url: str | None, region: str | None, *, attempts: int,
                   connections: int, no_credentials: str, endpoint_name: str = "endpoint URL",
                   endpoint_hint: str = "",
                   errors: contextlib.AbstractContextManager[None] | None = None) -> Any:
    """A boto3 S3 client; refuses to start without credentials (`no_credentials` says what
    to do) or with an endpoint URL boto3 does not take. `errors` guards making the client."""
    from botocore.config import Config

    session = aws_session(region)
    if session.get_credentials() is None:
        raise SitegenError(no_credentials)
    other = {"s3": {"addressing_style": "path"},
             "request_checksum_calculation": "when_required"} if endpoint_url else {}
    config = Config(retries={"max_attempts": attempts, "mode": "standard"}, connect_timeout=10,
                    read_timeout=60, max_pool_connections=connections, **other)
    with errors or contextlib.nullcontext():
        try:
            return session.client("s3", endpoint_url=endpoint_url, config=config)
        except ValueError as exc:
            raise SitegenError(f"invalid {endpoint_name} {endpoint_url!r}: {exc}"
                               f"{endpoint_hint}") from None


def error_code(exc: Any) -> str:
    """The error code of a botocore ClientError ("NoSuchKey", "412", ...)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextlib.contextmanager
def s3_errors(what: str, bucket: str, endpoint_url: str | None, *, check: str,
              permissions: str) -> Iterator[None]:
    """Turn boto3's failures into SitegenErrors that say what to do.

    `check` names what the user should look at (options, variables), `permissions` what
    the credentials need.
    """
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
        ReadTimeoutError,
    )

    where = endpoint_url or "AWS S3"
    try:
        yield
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise SitegenError(f"no usable AWS credentials ({exc}): {CREDENTIALS_HELP}") from None
    except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError) as exc:
        raise SitegenError(f"cannot reach {where} while {what}: {exc}; check {check} and the "
                           "network") from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "?"))
        message = str(error.get("Message", "")) or code
        if code == "NoSuchBucket" or (code == "404" and what.startswith("listing")):
            raise SitegenError(f"bucket {bucket!r} does not exist at {where}: create it, or "
                               f"check {check}") from None
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken",
                    "ExpiredToken", "InvalidClientTokenId"):
            raise SitegenError(f"{where} refused the credentials ({code}: {message}) while "
                               f"{what}: {CREDENTIALS_HELP}") from None
        if code in ("AccessDenied", "403", "AllAccessDisabled"):
            raise SitegenError(f"access denied to s3://{bucket} while {what}: the credentials "
                               f"need {permissions} on it") from None
        raise SitegenError(f"S3 error while {what} (s3://{bucket}): {code}: {message}") from None
    except BotoCoreError as exc:
        raise SitegenError(f"S3 error while {what} (s3://{bucket} at {where}): {exc}") from None
