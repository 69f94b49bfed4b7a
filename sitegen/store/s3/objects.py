"""The S3 store's objects: reads, writes and deletes under its prefix, conditional when asked.

A refused conditional write or delete (someone else wrote first) raises `Conflict`; every
other failure of boto3 is a SitegenError that says what to check.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import threading
from pathlib import Path
from typing import Any

from sitegen.errors import SitegenError
from sitegen.s3_client import error_code, make_s3_client, s3_errors
from sitegen.store.folder import TEMP_MARK

SHA_META = "sha256"  # x-amz-meta-sha256, as publish writes it
# Codes of a refused conditional write: 412, 409 (a concurrent conditional write), and
# NoSuchKey (If-Match on an object deleted meanwhile).
CONFLICTS = ("PreconditionFailed", "412", "ConditionalRequestConflict", "409", "NoSuchKey")
MISSING = ("NoSuchKey", "404", "NotFound")
STORE_CHECK = "the store location and SITEGEN_S3_ENDPOINT_URL (or AWS_ENDPOINT_URL)"
STORE_PERMISSIONS = "s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject"


class Conflict(Exception):
    """A conditional write was refused: someone else wrote first."""


class BucketObjects:
    """The objects under `s3://<bucket>/<prefix>`, by their name below the prefix."""

    def __init__(self, bucket: str, prefix: str, *, endpoint_url: str | None,
                 region: str | None, connections: int, client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.endpoint_url = endpoint_url
        self.region = region
        self.connections = connections
        self._client = client
        self._client_lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    @property
    def client(self) -> Any:
        """A boto3 S3 client, made on first use (credentials are read then)."""
        with self._client_lock:  # the upload threads may ask first
            if self._client is None:
                self._client = make_s3_client(
                    self.endpoint_url, self.region, attempts=5, connections=self.connections,
                    no_credentials=f"no AWS credentials found for {self.url}: set "
                                   "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE",
                    endpoint_name="S3 endpoint URL",
                    endpoint_hint=" (from SITEGEN_S3_ENDPOINT_URL or AWS_ENDPOINT_URL)")
        return self._client

    def errors(self, what: str) -> contextlib.AbstractContextManager[None]:
        """Turn boto3's failures into SitegenErrors that say what to do."""
        return s3_errors(what, self.bucket, self.endpoint_url, check=STORE_CHECK,
                         permissions=STORE_PERMISSIONS)

    def key(self, name: str) -> str:
        return self.prefix + name

    def head(self, name: str) -> dict[str, Any] | None:
        """An object's HEAD answer, or None when it does not exist."""
        from botocore.exceptions import ClientError

        with self.errors(f"reading the metadata of {self.url}{name}"):
            try:
                return self.client.head_object(  # type: ignore[no-any-return]
                    Bucket=self.bucket, Key=self.key(name))
            except ClientError as exc:
                if error_code(exc) in MISSING:
                    return None
                raise

    def get(self, name: str) -> dict[str, Any] | None:
        """An object's GET answer (Body unread), or None when it does not exist."""
        from botocore.exceptions import ClientError

        with self.errors(f"reading {self.url}{name}"):
            try:
                return self.client.get_object(  # type: ignore[no-any-return]
                    Bucket=self.bucket, Key=self.key(name))
            except ClientError as exc:
                if error_code(exc) in MISSING:
                    return None
                raise

    def put(self, name: str, body: Any, *, if_match: str | None = None,
            if_none_match: bool = False, **extra: Any) -> str:
        """Write an object, conditionally if asked; its ETag. Raises Conflict when refused."""
        from botocore.exceptions import ClientError

        condition: dict[str, str] = {}
        if if_match is not None:
            condition["IfMatch"] = if_match
        elif if_none_match:
            condition["IfNoneMatch"] = "*"
        with self.errors(f"writing {self.url}{name}"):
            try:
                answer = self.client.put_object(Bucket=self.bucket, Key=self.key(name),
                                                Body=body, **condition, **extra)
            except ClientError as exc:
                if condition and error_code(exc) in CONFLICTS:
                    raise Conflict(error_code(exc)) from None
                raise
        return str(answer["ETag"])

    def delete(self, name: str, if_match: str) -> None:
        """Delete an object if its ETag is still this one. Raises Conflict when it is not."""
        from botocore.exceptions import ClientError

        with self.errors(f"deleting {self.url}{name}"):
            try:
                self.client.delete_object(Bucket=self.bucket, Key=self.key(name),
                                          IfMatch=if_match)
                return
            except ClientError as exc:
                if error_code(exc) in CONFLICTS:
                    raise Conflict(error_code(exc)) from None
                if error_code(exc) not in ("NotImplemented", "InvalidArgument", "501", "400"):
                    raise
            # An endpoint without conditional deletes: compare, then delete (a narrow race).
            answer = self.get(name)
            if answer is None or answer["ETag"] != if_match:
                raise Conflict("changed")
            self.client.delete_object(Bucket=self.bucket, Key=self.key(name))

    def list(self) -> dict[str, int]:
        """Every object under the prefix: name (without the prefix) -> size."""
        found = {}
        with self.errors(f"listing {self.url}"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix)
            for page in pages:
                for item in page.get("Contents", []):
                    found[item["Key"][len(self.prefix):]] = int(item["Size"])
        return found

    def read(self, name: str) -> bytes | None:
        """An object's bytes; None when it does not exist."""
        answer = self.get(name)
        if answer is None:
            return None
        with self.errors(f"reading {self.url}{name}"):
            return answer["Body"].read()  # type: ignore[no-any-return]

    def download(self, name: str, target: Path, sha256: str | None = None) -> str | None:
        """Download an object to a local file atomically; its SHA-256 (None: no such object).

        With `sha256`, bytes that do not match are refused (and nothing is written).
        """
        answer = self.get(name)
        if answer is None:
            return None
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}{TEMP_MARK}{os.getpid()}-"
                               f"{threading.get_ident()}")
        digest = hashlib.sha256()
        try:
            with self.errors(f"downloading {self.url}{name}"), tmp.open("wb") as out:
                for chunk in answer["Body"].iter_chunks(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
            if sha256 is not None and digest.hexdigest() != sha256:
                raise SitegenError(f"{self.url}{name} is not the file expected: its SHA-256 "
                                   f"is {digest.hexdigest()}, not {sha256} (changed by hand? "
                                   "for a picture, `sitegen index rebuild` reads it again)")
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return digest.hexdigest()

    def sha256_of(self, name: str) -> str | None:
        """An object's SHA-256: from its metadata, else from its bytes (None: no object)."""
        meta = (self.head(name) or {}).get("Metadata", {})
        if re.fullmatch(r"[0-9a-f]{64}", meta.get(SHA_META, "")):
            return str(meta[SHA_META])
        answer = self.get(name)
        if answer is None:
            return None
        digest = hashlib.sha256()
        with self.errors(f"reading {self.url}{name}"):
            for chunk in answer["Body"].iter_chunks(1 << 20):
                digest.update(chunk)
        return digest.hexdigest()
