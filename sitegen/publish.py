"""Publish (pure diff, uploads at the edge): the built site and its renders -> an S3 bucket.

The diff (`plan_publish`) takes what is here and what is there and returns the uploads,
with a reason each, and the deletes. The edge lists the bucket, reads the SHA-256 each
object keeps in its metadata (`x-amz-meta-sha256`), uploads in order (immutable files
first, data next, pages last), deletes, and records a manifest so that the next run
needs no request per object. docs/publish.md describes the layout and the rules.
"""

from __future__ import annotations

import json
import mimetypes
import os
import posixpath
import stat
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from sitegen.cache import file_sha256
from sitegen.catalog.models import Catalog, Publish
from sitegen.errors import SitegenError
from sitegen.s3_client import (
    CREDENTIALS_HELP,
    aws_session,
    error_code,
    make_s3_client,
    s3_errors,
)
from sitegen.site import MANIFEST, MARKER, is_absolute_url, read_manifest
from sitegen.site.data import site_renders as site_renders  # which pictures: the site's rule
from sitegen.site.write import current_files

if TYPE_CHECKING:
    from sitegen.store import RenderStore

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"
MANIFEST_NAME = ".sitegen-publish.json"  # under the prefix: key -> what was uploaded
MANIFEST_CACHE = "no-store"
SHA_META = "sha256"  # x-amz-meta-sha256: the SHA-256 of the object's bytes
REASONS = ("new", "changed", "headers", "forced")
DELETE_BATCH = 1000  # the most keys one DeleteObjects request takes
# Above this many paths one wildcard is invalidated instead (CloudFront bills per path).
INVALIDATE_ALL_ABOVE = 100
# Site files at a fixed address that other sites' pages load (`<sitegen-sketchbook>`): they
# point at the data and assets like a page does, so they are short-cached and go last.
ENTRY_SCRIPTS = ("embed.js",)
# The bucket's CORS rule for site.publish.cors: a module script, fetch() and <img
# crossorigin> only GET (and HEAD); no header needs exposing to them.
CORS_RULE_ID = "sitegen-embed"
CORS_METHODS = ("GET", "HEAD")
CORS_MAX_AGE = 3000  # seconds a browser may keep a preflight's answer

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".xml": "application/xml",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}

Event = dict[str, Any]
CorsRules = list[dict[str, Any]]  # as get_bucket_cors answers them


class TooManyDeletes(SitegenError):
    """The plan deletes more objects than allowed: nothing was done."""


# -- the pure core ------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalFile:
    """A file to publish: where it is, its SHA-256 and size, and whether it never changes."""

    path: Path
    sha256: str
    size: int
    immutable: bool = False  # a render, thumbnail, swatch or hashed asset


@dataclass(frozen=True)
class RemoteObject:
    """What the bucket holds under a key; sha256 None: not published by sitegen."""

    sha256: str | None
    content_type: str | None = None
    cache_control: str | None = None


@dataclass(frozen=True)
class Upload:
    """One object to upload, with why and its headers."""

    key: str
    reason: str  # new, changed, headers, forced
    content_type: str
    cache_control: str
    file: LocalFile

    @property
    def tier(self) -> int:
        return upload_tier(self.key, self.file.immutable)


@dataclass
class PublishPlan:
    """Uploads in the order to make them, deletes, and what is left alone."""

    uploads: list[Upload] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    unchanged: int = 0
    stale_kept: int = 0  # objects not in the site, kept because deletes were not asked for
    max_deletes: int = 256

    @property
    def refused(self) -> bool:
        """The deletes exceed max_deletes: the plan must not be carried out."""
        return len(self.deletes) > self.max_deletes

    def reasons(self) -> dict[str, int]:
        """Number of uploads per reason, in REASONS order."""
        counts = {r: 0 for r in REASONS}
        for upload in self.uploads:
            counts[upload.reason] += 1
        return {r: n for r, n in counts.items() if n}

    @property
    def upload_bytes(self) -> int:
        return sum(u.file.size for u in self.uploads)


def content_type_of(key: str) -> str:
    """The Content-Type of an object, from its name."""
    ext = posixpath.splitext(key)[1].lower()
    return CONTENT_TYPES.get(ext) or mimetypes.guess_type(key)[0] or "application/octet-stream"


def cache_control_of(key: str, immutable: bool) -> str:
    """A year for files whose address changes with their content, five minutes otherwise."""
    return IMMUTABLE if immutable else SHORT


def upload_tier(key: str, immutable: bool) -> int:
    """0: immutable files, 1: data (JSON, sitemap, ...), 2: pages (and embed.js).

    Uploaded in this order, so that a page never points at something not uploaded yet.
    """
    if immutable:
        return 0
    return 2 if key.endswith(".html") or is_entry_script(key) else 1


def is_entry_script(key: str) -> bool:
    """embed.js, which shops' pages load by its fixed name (under any prefix)."""
    return posixpath.basename(key) in ENTRY_SCRIPTS


def normalize_prefix(prefix: str, what: str = "--prefix") -> str:
    """`site` / `/site/` -> `site/`; `` stays ``; `..` and empty segments are refused."""
    stripped = prefix.strip().strip("/")
    if not stripped:
        return ""
    parts = stripped.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise SitegenError(f"{what} {prefix!r}: use plain folder names joined by '/', "
                           "e.g. 'sketchbook/' (no '.', '..' or '//')")
    return stripped + "/"


def renders_key_prefix(renders_url: str, prefix: str) -> str | None:
    """Where the renders go in the bucket so that the site finds them, if it is this bucket.

    A relative `site.renders_url` is joined to the page root as a string by the site, so
    the renders go under `<prefix><renders_url>`; an absolute one (another host, or a path
    from the domain's root) names a place this command cannot know: None.
    """
    if is_absolute_url(renders_url):
        return None
    url = renders_url
    while url.startswith("./"):
        url = url[2:]
    if ".." in url.split("/") or "//" in url or any(c in url for c in "?#"):
        return None
    return prefix + url


def plan_publish(local: Mapping[str, LocalFile], remote: Mapping[str, RemoteObject], *,
                 delete: bool = False, max_deletes: int = 256, force: bool = False,
                 scopes: Sequence[str] = ("",)) -> PublishPlan:
    """Compare what is here with what is there; uploads ordered tier by tier, then by key.

    An object is unchanged when its sha256 metadata and its headers are the ones wanted;
    one without sha256 metadata is `changed`. Deletes are the remote keys not here, under
    one of `scopes` (key prefixes), only when `delete` is asked for.
    """
    plan = PublishPlan(max_deletes=max_deletes)
    for key, file in local.items():
        content_type, cache_control = content_type_of(key), cache_control_of(key, file.immutable)
        have = remote.get(key)
        if have is None:
            reason = "new"
        elif force:
            reason = "forced"
        elif have.sha256 != file.sha256:
            reason = "changed"
        elif (have.content_type, have.cache_control) != (content_type, cache_control):
            reason = "headers"
        else:
            plan.unchanged += 1
            continue
        plan.uploads.append(Upload(key, reason, content_type, cache_control, file))
    plan.uploads.sort(key=lambda u: (u.tier, u.key))
    stale = sorted(k for k in remote if k not in local and k.startswith(tuple(scopes)))
    if delete:
        plan.deletes = stale
    else:
        plan.stale_kept = len(stale)
    return plan


def cors_rules(origins: Sequence[str]) -> list[dict[str, Any]]:
    """The bucket's CORS rules letting pages of these origins load the site: [] for none."""
    if not origins:
        return []
    return [{"ID": CORS_RULE_ID, "AllowedOrigins": list(origins),
             "AllowedMethods": list(CORS_METHODS), "AllowedHeaders": ["*"],
             "MaxAgeSeconds": CORS_MAX_AGE}]


@dataclass(frozen=True)
class CorsPlan:
    """The bucket's CORS rules now (None: it has none) and those wanted ([]: none)."""

    current: list[dict[str, Any]] | None
    wanted: list[dict[str, Any]]

    @property
    def action(self) -> str | None:
        """"put", "delete", or None when the bucket already has the wanted rules."""
        if not self.wanted:
            return "delete" if self.current else None
        if self.current is not None and _rule_set(self.current) == _rule_set(self.wanted):
            return None
        return "put"

    @property
    def origins(self) -> list[str]:
        return [o for rule in self.wanted for o in rule["AllowedOrigins"]]


def _rule_set(rules: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """CORS rules in a form that ignores the order of rules and of the values in each."""
    lists = ("AllowedOrigins", "AllowedMethods", "AllowedHeaders", "ExposeHeaders")
    return sorted((str(rule.get("ID", "")), int(rule.get("MaxAgeSeconds", -1)),
                   *(tuple(sorted(rule.get(name, []))) for name in lists)) for rule in rules)


def plan_cors(origins: Sequence[str] | None, current: list[dict[str, Any]] | None
              ) -> CorsPlan | None:
    """What to do with the bucket's CORS rules; None when no origins are configured (the
    bucket's rules are left alone)."""
    if origins is None:
        return None
    return CorsPlan(current=current, wanted=cors_rules(origins))


def invalidation_paths(plan: PublishPlan, prefix: str, url_root: str = "/") -> list[str]:
    """CloudFront paths of the pages and data that changed or went away (not new ones).

    Immutable files are left out: their address changes with their content. An
    `index.html` is also invalidated as its folder (`/products/x/`), the URL pages use.
    Above INVALIDATE_ALL_ABOVE paths, one wildcard for the whole site.
    """
    changed = [u.key[len(prefix):] for u in plan.uploads
               if u.reason != "new" and u.tier > 0 and u.key.startswith(prefix)]
    gone = [k[len(prefix):] for k in plan.deletes
            if k.startswith(prefix) and is_page_or_data(k[len(prefix):])]
    paths: set[str] = set()
    for rel in changed + gone:
        paths.add(url_root + rel)
        if rel == "index.html" or rel.endswith("/index.html"):
            paths.add(url_root + rel[: -len("index.html")])
    if len(paths) > INVALIDATE_ALL_ABOVE:
        return [quote(url_root, safe="/~") + "*"]
    return sorted(quote(p, safe="/~") for p in paths)


def url_root_of(base_url: str) -> str:
    """The URL path the site is served under, from site.base_url: `/` or `/sketch/`."""
    path = urlsplit(base_url).path
    return "/" + path.strip("/") + "/" if path.strip("/") else "/"


def is_page_or_data(rel: str) -> bool:
    """A deleted site file worth invalidating: short-cached text (pages, JSON, sitemap)."""
    return not is_immutable_site_file(rel) and content_type_of(rel).startswith(
        ("text/", "application/json", "application/xml"))


def is_immutable_site_file(rel: str) -> bool:
    """Hashed assets and swatches: their names change with their content."""
    return rel.startswith(("static/", "swatches/"))


# -- files here ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Build:
    """A build checked against its manifest: the files to publish and what it records."""

    files: dict[str, Path]  # relative path -> file (hidden files left out)
    facts: dict[str, Any]  # quality, renders_url, base_url (sitegen.site.build_facts)

    @property
    def quality(self) -> str | None:
        quality = self.facts.get("quality")
        return quality if isinstance(quality, str) else None


def verified_build(out: Path, *, most: int = 10) -> Build:
    """The build in `out`, refused unless it is exactly what its manifest says.

    A file the manifest names that is missing, not a plain file, or has other bytes, and a
    file it does not name, are each a problem; any problem is an error (up to `most` named).
    """
    if not (out / MARKER).is_file():
        what = ("does not exist" if not out.exists()
                else f"has no {MARKER}: it is not a sitegen build")
        raise SitegenError(f"{out} {what}: run `sitegen build --out {out}` first")
    manifest = read_manifest(out)
    problems = []
    for rel, (sha, size) in sorted(manifest.files.items()):
        parts = rel.split("/")
        if rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
            problems.append(f"{rel}: not a path inside the build")
            continue
        path = out / rel
        try:
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode):
                problems.append(f"{rel}: not a plain file")
            elif info.st_size != size or file_sha256(path) != sha:
                problems.append(f"{rel}: changed since the build")
        except FileNotFoundError:
            problems.append(f"{rel}: missing")
        except OSError as exc:
            problems.append(f"{rel}: cannot be read ({exc.strerror})")
    try:
        present = current_files(out)
    except OSError as exc:
        raise SitegenError(f"cannot read {exc.filename or out}: {exc.strerror}") from None
    for rel in present:  # hidden ones are never published (a .DS_Store is no problem)
        if rel not in manifest.files and not any(p.startswith(".") for p in rel.split("/")):
            problems.append(f"{rel}: not part of the build")
    if problems:
        named = "; ".join(problems[:most]) + (f"; and {len(problems) - most} more"
                                              if len(problems) > most else "")
        raise SitegenError(f"{out} is not the build its {MANIFEST} describes ({named}): it "
                           "changed after `sitegen build`, or the build failed. Nothing was "
                           f"uploaded; run `sitegen build --out {out}` again")
    files = {rel: out / rel for rel in sorted(manifest.files)
             if not any(p.startswith(".") for p in rel.split("/"))}
    return Build(files, manifest.facts)


def built_qualities(out: Path) -> set[str]:
    """The qualities the built pages show (from their data.json)."""
    found = set()
    for data in (out / "products").glob("*/data.json"):
        try:
            found.add(str(json.loads(data.read_text(encoding="utf-8"))["quality"]))
        except (ValueError, KeyError, TypeError):
            continue
    return found


def local_objects(site: Mapping[str, Path], renders: Mapping[str, Path], prefix: str,
                  renders_prefix: str | None) -> dict[str, LocalFile]:
    """Bucket key -> file: the site under `prefix`, renders (and thumbnails) under theirs."""
    wanted: dict[str, tuple[Path, bool]] = {}
    for rel, path in site.items():
        wanted[prefix + rel] = (path, is_immutable_site_file(rel))
    if renders_prefix is not None:
        for address, path in renders.items():
            key = renders_prefix + address
            if key in wanted:
                raise SitegenError(f"{key}: both a file of the build and a render; choose "
                                   "another site.renders_url or --renders-prefix")
            wanted[key] = (path, True)
    objects = {}
    for key, (path, immutable) in wanted.items():
        try:
            objects[key] = LocalFile(path, file_sha256(path), path.stat().st_size, immutable)
        except OSError as exc:
            raise SitegenError(f"cannot read {path}: {exc.strerror}") from None
    return objects


def render_files(addresses: Iterable[str], path_of: Callable[[str], Path]) -> dict[str, Path]:
    """Store address -> path for the pictures and those of their companions (thumbnails,
    sized copies) that exist."""
    from sitegen.store import companion_files

    files = {}
    for address in addresses:
        files[address] = path_of(address)
        files.update(companion_files(address, path_of))
    return files


# -- the bucket ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Listed:
    """An object as a listing shows it."""

    size: int
    etag: str
    modified: str


PUBLISH_CHECK = "--bucket and --endpoint-url (or site.publish)"
PUBLISH_PERMISSIONS = ("s3:ListBucket, s3:GetObject, s3:PutObject and (with --delete) "
                       "s3:DeleteObject")
CORS_PERMISSIONS = ("s3:GetBucketCORS and s3:PutBucketCORS (for site.publish.cors or --cors; "
                    "without them, leave both out and set the rules another way)")


class Bucket:
    """One bucket through a boto3 S3 client; every failure becomes a SitegenError."""

    def __init__(self, client: Any, name: str, endpoint_url: str | None = None) -> None:
        self.client = client
        self.name = name
        self.endpoint_url = endpoint_url

    def errors(self, what: str, permissions: str = PUBLISH_PERMISSIONS
               ) -> AbstractContextManager[None]:
        return s3_errors(what, self.name, self.endpoint_url, check=PUBLISH_CHECK,
                         permissions=permissions)

    def list(self, prefix: str) -> dict[str, Listed]:
        """Every object under a prefix."""
        found = {}
        with self.errors(f"listing bucket {self.name}"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.name, Prefix=prefix)
            for page in pages:
                for item in page.get("Contents", []):
                    found[item["Key"]] = Listed(int(item["Size"]), str(item["ETag"]),
                                                item["LastModified"].isoformat())
        return found

    def head(self, key: str) -> RemoteObject:
        """An object's sha256 metadata and headers."""
        with self.errors(f"reading the metadata of {key}"):
            head = self.client.head_object(Bucket=self.name, Key=key)
        return RemoteObject(head.get("Metadata", {}).get(SHA_META), head.get("ContentType"),
                            head.get("CacheControl"))

    def get_json(self, key: str) -> Any:
        """An object's bytes as JSON, or None when missing or not JSON."""
        from botocore.exceptions import ClientError

        with self.errors(f"reading {key}"):
            try:
                body = self.client.get_object(Bucket=self.name, Key=key)["Body"].read()
            except ClientError as exc:
                if error_code(exc) in ("NoSuchKey", "404"):
                    return None
                raise
        try:
            return json.loads(body)
        except ValueError:
            return None

    def put(self, upload: Upload) -> str:
        """Upload one file with its headers and sha256; its ETag."""
        with self.errors(f"uploading {upload.key}"), upload.file.path.open("rb") as body:
            answer = self.client.put_object(
                Bucket=self.name, Key=upload.key, Body=body, ContentLength=upload.file.size,
                ContentType=upload.content_type, CacheControl=upload.cache_control,
                Metadata={SHA_META: upload.file.sha256})
        return str(answer["ETag"])

    def put_bytes(self, key: str, data: bytes, content_type: str, cache_control: str) -> None:
        with self.errors(f"uploading {key}"):
            self.client.put_object(Bucket=self.name, Key=key, Body=data,
                                   ContentType=content_type, CacheControl=cache_control)

    def get_cors(self) -> CorsRules | None:
        """The bucket's CORS rules; None when it has none."""
        from botocore.exceptions import ClientError

        with self.errors("reading the bucket's CORS rules", CORS_PERMISSIONS):
            try:
                answer = self.client.get_bucket_cors(Bucket=self.name)
            except ClientError as exc:
                if error_code(exc) == "NoSuchCORSConfiguration":
                    return None
                self._cors_unsupported(exc)
                raise
        return list(answer.get("CORSRules", []))

    def set_cors(self, rules: CorsRules) -> None:
        """Replace the bucket's CORS rules; [] removes them."""
        from botocore.exceptions import ClientError

        with self.errors("setting the bucket's CORS rules", CORS_PERMISSIONS):
            try:
                if rules:
                    self.client.put_bucket_cors(Bucket=self.name,
                                                CORSConfiguration={"CORSRules": rules})
                else:
                    self.client.delete_bucket_cors(Bucket=self.name)
            except ClientError as exc:
                self._cors_unsupported(exc)
                raise

    def _cors_unsupported(self, exc: Any) -> None:
        if error_code(exc) in ("NotImplemented", "501"):
            raise SitegenError(f"{self.endpoint_url or 'AWS S3'} does not support bucket CORS "
                               "rules: leave site.publish.cors and --cors out (and set them "
                               "where the store allows)") from None

    def delete(self, keys: Sequence[str]) -> None:
        """Delete up to DELETE_BATCH objects."""
        with self.errors(f"deleting {len(keys)} object(s)"):
            answer = self.client.delete_objects(
                Bucket=self.name, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True})
        if answer.get("Errors"):
            first = answer["Errors"][0]
            raise SitegenError(f"{len(answer['Errors'])} delete(s) failed, first "
                               f"{first.get('Key')}: {first.get('Code')}: {first.get('Message')}")


def open_bucket(name: str, endpoint_url: str | None = None, region: str | None = None,
                jobs: int = 8) -> Bucket:
    """A Bucket with a client for these settings; refuses to start without credentials."""
    # Few retries and short timeouts: fail in seconds.
    client = make_s3_client(
        endpoint_url, region, attempts=3, connections=max(10, jobs),
        no_credentials=f"no AWS credentials found: {CREDENTIALS_HELP}",
        errors=s3_errors("connecting", name, endpoint_url, check=PUBLISH_CHECK,
                         permissions=PUBLISH_PERMISSIONS))
    return Bucket(client, name, endpoint_url)


@dataclass
class RemoteState:
    """What the bucket holds under the scopes, and how it was learnt."""

    objects: dict[str, RemoteObject]
    listed: dict[str, Listed]
    by_manifest: int = 0  # objects known from the manifest (listing matched)
    by_metadata: int = 0  # objects whose metadata was read (one request each)


def _manifest_entry(sha: str, listed: Listed, content_type: str | None,
                    cache_control: str | None) -> list[Any]:
    return [sha, listed.size, listed.etag, listed.modified, content_type, cache_control]


def fetch_remote(bucket: Bucket, scopes: Sequence[str], manifest_key: str,
                 local_keys: Collection[str], *, detail: bool = True, jobs: int = 8
                 ) -> RemoteState:
    """List the scopes; read the sha256 and headers of the objects also here.

    The manifest says what sitegen uploaded under each key, with the object's size, ETag
    and time as then listed; an entry is believed only while the listing still shows
    exactly those, else the object's own metadata is read (HEAD). `detail=False` (for
    --force) reads nothing but the listing.
    """
    listed: dict[str, Listed] = {}
    for scope in dict.fromkeys(scopes):
        listed.update(bucket.list(scope))
    had_manifest = listed.pop(manifest_key, None) is not None
    manifest = bucket.get_json(manifest_key) if had_manifest and detail else None
    entries: dict[str, Any] = {}
    if isinstance(manifest, dict) and manifest.get("version") == 1:
        entries = manifest.get("objects") or {}
    state = RemoteState({}, listed)
    to_read = []
    for key, seen in listed.items():
        entry = entries.get(key)
        if not detail or key not in local_keys:
            state.objects[key] = RemoteObject(None)  # only its existence matters
        elif (isinstance(entry, list) and len(entry) == 6
              and entry[1:4] == [seen.size, seen.etag, seen.modified]):
            state.objects[key] = RemoteObject(entry[0], entry[4], entry[5])
            state.by_manifest += 1
        else:
            to_read.append(key)
    with ThreadPoolExecutor(jobs) as pool:
        for key, found in zip(to_read, pool.map(bucket.head, to_read), strict=True):
            state.objects[key] = found
    state.by_metadata = len(to_read)
    return state


# -- carrying a plan out ------------------------------------------------------------------


@dataclass
class PublishReport:
    """What a publish did."""

    uploaded: int = 0
    bytes: int = 0
    deleted: int = 0
    seconds: float = 0.0
    etags: dict[str, str] = field(default_factory=dict)
    invalidation: str | None = None
    invalidated: list[str] = field(default_factory=list)
    cors: str | None = None  # "put" or "delete": what was done to the bucket's CORS rules


def too_many_deletes(plan: PublishPlan, target: str) -> TooManyDeletes:
    """The error of a plan whose deletes exceed its max_deletes."""
    return TooManyDeletes(
        f"the plan deletes {len(plan.deletes)} objects under {target}, more than "
        f"--max-deletes {plan.max_deletes}: nothing was uploaded or deleted. Check --bucket "
        "and --prefix; if the deletes are expected, run again with --max-deletes "
        f"{len(plan.deletes)}")


def apply_plan(bucket: Bucket, plan: PublishPlan, *, jobs: int = 8,
               on_event: Callable[[Event], None] = lambda e: None,
               target: str = "the prefix") -> PublishReport:
    """Upload tier by tier (each tier done before the next starts), then delete.

    `on_event` is called in this thread after each upload ({"event": "upload", ...}) and
    each batch of deletes; an exception from it stops the publish (uploads in flight
    finish; what was uploaded stays and is not uploaded again by the next run).
    """
    if plan.refused:
        raise too_many_deletes(plan, target)
    report = PublishReport()
    started = time.monotonic()
    pool = ThreadPoolExecutor(jobs)
    try:
        for tier in sorted({u.tier for u in plan.uploads}):
            futures: dict[Future[str], Upload] = {
                pool.submit(bucket.put, u): u for u in plan.uploads if u.tier == tier}
            for future in as_completed(futures):
                upload = futures[future]
                report.etags[upload.key] = future.result()
                report.uploaded += 1
                report.bytes += upload.file.size
                on_event({"event": "upload", "key": upload.key, "reason": upload.reason,
                          "bytes": upload.file.size, "tier": tier})
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    # Deletes last: the pages uploaded above no longer point at what goes.
    for start in range(0, len(plan.deletes), DELETE_BATCH):
        batch = plan.deletes[start:start + DELETE_BATCH]
        bucket.delete(batch)
        report.deleted += len(batch)
        on_event({"event": "delete", "keys": batch})
    report.seconds = time.monotonic() - started
    return report


def write_manifest(bucket: Bucket, manifest_key: str, scopes: Sequence[str],
                   local: Mapping[str, LocalFile], before: RemoteState, plan: PublishPlan,
                   report: PublishReport) -> int:
    """Record what is now in the bucket for the next run; the number of entries.

    The bucket is listed again for each object's ETag and time; an object whose ETag is
    not the one uploaded (or seen unchanged) is left out: its metadata will be read.
    """
    uploaded = {u.key: u for u in plan.uploads}
    now: dict[str, Listed] = {}
    for scope in dict.fromkeys(scopes):
        now.update(bucket.list(scope))
    entries = {}
    for key, file in local.items():
        seen = now.get(key)
        if seen is None:
            continue
        if key in uploaded:
            upload = uploaded[key]
            if report.etags.get(key) == seen.etag:
                entries[key] = _manifest_entry(file.sha256, seen, upload.content_type,
                                               upload.cache_control)
        else:
            held, old = before.objects.get(key), before.listed.get(key)
            if (held is not None and held.sha256 == file.sha256 and old is not None
                    and old.etag == seen.etag):
                entries[key] = _manifest_entry(file.sha256, seen, held.content_type,
                                               held.cache_control)
    data = json.dumps({"version": 1, "objects": entries}, separators=(",", ":"),
                      sort_keys=True).encode()
    bucket.put_bytes(manifest_key, data, "application/json", MANIFEST_CACHE)
    return len(entries)


def create_invalidation(distribution: str, paths: Sequence[str], region: str | None = None
                        ) -> str:
    """Ask CloudFront to drop its copies of these paths; the invalidation's id.

    The endpoint is CloudFront's own (AWS_ENDPOINT_URL_CLOUDFRONT overrides it).
    """
    session = aws_session(region)
    if session.get_credentials() is None:
        raise SitegenError(f"no AWS credentials found: {CREDENTIALS_HELP}")
    client = session.client("cloudfront")
    with _cloudfront_errors(distribution):
        answer = client.create_invalidation(
            DistributionId=distribution,
            InvalidationBatch={"Paths": {"Quantity": len(paths), "Items": list(paths)},
                               "CallerReference": f"sitegen-{time.time_ns()}"})
    return str(answer["Invalidation"]["Id"])


@contextmanager
def _cloudfront_errors(distribution: str) -> Iterator[None]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "?"))
        if code == "NoSuchDistribution":
            raise SitegenError(f"CloudFront distribution {distribution!r} not found: check "
                               "--invalidate (or site.publish.invalidate); the upload is "
                               "done, run again to invalidate") from None
        raise SitegenError(f"CloudFront invalidation of {distribution} failed: {code}: "
                           f"{error.get('Message', '')}; the upload is done") from None
    except BotoCoreError as exc:
        raise SitegenError(f"CloudFront invalidation of {distribution} failed: {exc}; the "
                           "upload is done") from None


# -- one publish, step by step (the command prints between the steps) ---------------------


class QualityMismatch(SitegenError):
    """--quality names another quality than the one the build shows."""


def publish_settings(block: Publish | None, *, bucket: str | None, prefix: str | None,
                     endpoint_url: str | None, region: str | None, max_deletes: int | None,
                     invalidate: str | None, cors: Sequence[str] | None = None) -> Publish:
    """site.publish with the command line's options over it, validated like the catalog.

    `cors` replaces the catalog's list of origins when given ([]: remove the rules).
    """
    from pydantic import ValidationError

    given = {"bucket": bucket, "prefix": prefix, "endpoint_url": endpoint_url,
             "region": region, "max_deletes": max_deletes, "invalidate": invalidate,
             "cors": list(cors) if cors is not None else None}
    merged = block.model_dump() if block is not None else {}
    merged.update({k: v for k, v in given.items() if v is not None})
    if not merged.get("bucket"):
        raise SitegenError("no bucket to publish to: give --bucket NAME, or set bucket in "
                           "the catalog's site section (site: {publish: {bucket: NAME}})")
    try:
        return Publish.model_validate(merged)
    except ValidationError as exc:
        problems = "; ".join(f"--{str(e['loc'][0]).replace('_', '-')}: {e['msg']}"
                             for e in exc.errors())
        raise SitegenError(f"invalid publish settings: {problems}") from None


@dataclass(frozen=True)
class SiteToPublish:
    """A verified build, the quality it shows and the URLs it was made with."""

    out: Path
    files: dict[str, Path]
    quality: str
    site_prefix: str  # where the site goes in the bucket
    target: str  # s3://bucket/prefix
    renders_url: str  # as built, even if the catalog moved on
    base_url: str


def gather_site(catalog: Catalog, settings: Publish, out: Path, *, renders: str,
                quality: str | None, delete: bool) -> SiteToPublish:
    """The build in `out` checked against its manifest, with the quality it shows (which
    --quality, when given, must be: QualityMismatch if not); a --delete that would remove the
    render store `renders` is refused first."""
    site_prefix = normalize_prefix(settings.prefix)
    if delete and renders.startswith("s3://"):
        from sitegen.store.s3 import parse_location

        store_bucket, store_prefix = parse_location(renders)
        if store_bucket == settings.bucket and store_prefix.startswith(site_prefix):
            raise SitegenError(
                f"the render store {renders} lies under the published prefix "
                f"s3://{settings.bucket}/{site_prefix}: --delete would remove its index and "
                "files; publish to another bucket or prefix, or leave out --delete")
    build = verified_build(out)
    shown = _built_quality(catalog, build, out, quality)
    # The pages were made with these URLs: publish them as built, even if the catalog moved on.
    return SiteToPublish(
        out=out, files=build.files, quality=shown, site_prefix=site_prefix,
        target=f"s3://{settings.bucket}/{site_prefix}",
        renders_url=str(build.facts.get("renders_url", catalog.site.renders_url)),
        base_url=str(build.facts.get("base_url", catalog.site.base_url)))


def _built_quality(catalog: Catalog, build: Build, out: Path, given: str | None) -> str:
    """The quality the build shows (its manifest says; an older one's pages); `given` must
    agree."""
    shown: str | None = build.quality
    if shown is None:  # a manifest without facts: what the pages show
        qualities = built_qualities(out)
        if len(qualities) > 1:
            raise SitegenError(f"{out} shows pictures of several qualities "
                               f"({', '.join(sorted(qualities))}): run `sitegen build` again")
        shown = next(iter(qualities), None) or given or str(catalog.primary_quality.id)
    if given is not None and given != shown:
        raise QualityMismatch(
            f"{given!r}, but {out} was built with --quality {shown} (its pages show {shown} "
            f"pictures): publish it without --quality, or run `sitegen build --quality "
            f"{given}` first")
    if shown not in catalog.qualities:
        raise SitegenError(f"{out} shows {shown} pictures, a quality the catalog no longer "
                           "has: run `sitegen build` again")
    return shown


@dataclass(frozen=True)
class LocalSide:
    """Every object to publish, by key: the site's files and the pictures it shows."""

    local: dict[str, LocalFile]
    key_prefix: str | None  # where the pictures go; None: not uploaded
    addresses: list[str]  # the pictures, by their address in the store


def gather_objects(catalog: Catalog, site: SiteToPublish, store: RenderStore,
                   renders_prefix: str | None) -> LocalSide:
    """The site's files and the store's pictures that the site shows (fetched here from a
    remote store), keyed as they go into the bucket."""
    key_prefix: str | None
    if renders_prefix is not None:
        key_prefix = normalize_prefix(renders_prefix, "--renders-prefix")
    else:
        key_prefix = renders_key_prefix(site.renders_url, site.site_prefix)
    addresses = [] if key_prefix is None else site_renders(catalog, site.quality,
                                                           store.stored(site.quality))
    # From a remote store: local copies of what the site shows.
    store.fetch_pictures(addresses, widths=catalog.qualities[site.quality].sizes)
    local = local_objects(site.files, render_files(addresses, store.path_of), site.site_prefix,
                          key_prefix)
    return LocalSide(local=local, key_prefix=key_prefix, addresses=addresses)


@dataclass(frozen=True)
class BucketPlan:
    """What the bucket holds, the plan against it, and the pages to invalidate."""

    bucket: Bucket
    scopes: list[str]
    manifest_key: str
    local: dict[str, LocalFile]
    remote: RemoteState
    plan: PublishPlan
    paths: list[str]  # to invalidate in the CDN ([] without a distribution)
    target: str
    cors: CorsPlan | None = None  # None: the bucket's CORS rules are left alone


def plan_against_bucket(site: SiteToPublish, objects: LocalSide, settings: Publish, *,
                        delete: bool, force: bool, jobs: int) -> BucketPlan:
    """Read what the bucket holds under the site's scopes (the manifest, else the objects'
    metadata) and plan the uploads and deletes."""
    bucket = open_bucket(settings.bucket, settings.endpoint_url, settings.region, jobs)
    key_prefix = objects.key_prefix
    scopes = [site.site_prefix] + ([key_prefix] if key_prefix is not None
                                   and not key_prefix.startswith(site.site_prefix) else [])
    manifest_key = site.site_prefix + MANIFEST_NAME
    remote = fetch_remote(bucket, scopes, manifest_key, objects.local.keys(), detail=not force,
                          jobs=jobs)
    plan = plan_publish(objects.local, remote.objects, delete=delete,
                        max_deletes=settings.max_deletes, force=force, scopes=scopes)
    paths = (invalidation_paths(plan, site.site_prefix, url_root_of(site.base_url))
             if settings.invalidate else [])
    cors = (plan_cors(settings.cors, bucket.get_cors()) if settings.cors is not None
            else None)
    return BucketPlan(bucket=bucket, scopes=scopes, manifest_key=manifest_key,
                      local=objects.local, remote=remote, plan=plan, paths=paths,
                      target=site.target, cors=cors)


def carry_out(planned: BucketPlan, *, jobs: int,
              progress: Callable[[int], Callable[[Event], None]]) -> PublishReport | None:
    """Set the CORS rules, upload and delete as planned, then write the publish manifest;
    None when there was nothing to do. `progress(bytes to upload)` gives the callback of
    apply_plan's events.

    A plan refused for its deletes is an error before anything changes.
    """
    plan = planned.plan
    if plan.refused:
        raise too_many_deletes(plan, planned.target)
    # The rules first: a bucket that refuses them stops the publish before any upload, and
    # the embed.js uploaded below can be loaded by the shops at once.
    cors = planned.cors.action if planned.cors is not None else None
    if planned.cors is not None and cors is not None:
        planned.bucket.set_cors(planned.cors.wanted)
    if not plan.uploads and not plan.deletes:
        if planned.remote.by_metadata:  # remember what was read, for a quicker next run
            write_manifest(planned.bucket, planned.manifest_key, planned.scopes, planned.local,
                           planned.remote, plan, PublishReport())
        return PublishReport(cors=cors) if cors is not None else None
    report = apply_plan(planned.bucket, plan, jobs=jobs, on_event=progress(plan.upload_bytes),
                        target=planned.target)
    report.cors = cors
    write_manifest(planned.bucket, planned.manifest_key, planned.scopes, planned.local,
                   planned.remote, plan, report)
    return report
