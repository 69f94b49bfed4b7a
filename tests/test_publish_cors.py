"""CORS for embedding and embed.js: the bucket's rules for the shops' origins, into moto's
S3 server on loopback (docs/publish.md, "CORS for embedding")."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from conftest import base_catalog
from test_publish import Sketch, bucket_keys, make_sketch, run

from sitegen import publish as pub
from sitegen.catalog.load import load_catalog
from sitegen.errors import CatalogError
from sitegen.publish import CORS_MAX_AGE, SHORT, cors_rules, plan_cors

SHOP = "https://shop.example.com"
EMBED = b"export class SitegenSketchbook extends HTMLElement {}\n"

# -- the pure core ------------------------------------------------------------------------


def test_cors_plan_puts_only_what_differs() -> None:
    wanted = cors_rules([SHOP, "http://localhost:8080"])
    assert wanted == [{"ID": "sitegen-embed", "AllowedOrigins": [SHOP, "http://localhost:8080"],
                       "AllowedMethods": ["GET", "HEAD"], "AllowedHeaders": ["*"],
                       "MaxAgeSeconds": CORS_MAX_AGE}]
    assert plan_cors(None, wanted) is None  # not configured: the bucket's rules left alone
    plan = plan_cors([SHOP], None)
    assert plan is not None and plan.action == "put" and plan.origins == [SHOP]
    # the same rules, as the bucket answers them (other order of keys and values): unchanged
    same = [{"AllowedHeaders": ["*"], "AllowedMethods": ["HEAD", "GET"],
             "AllowedOrigins": ["http://localhost:8080", SHOP], "MaxAgeSeconds": CORS_MAX_AGE,
             "ID": "sitegen-embed"}]
    assert plan_cors([SHOP, "http://localhost:8080"], same).action is None  # type: ignore[union-attr]
    assert plan_cors([SHOP], same).action == "put"  # type: ignore[union-attr]
    other = [{**same[0], "MaxAgeSeconds": 60}]
    assert plan_cors([SHOP, "http://localhost:8080"], other).action == "put"  # type: ignore[union-attr]
    assert plan_cors([], same).action == "delete"  # type: ignore[union-attr]
    assert plan_cors([], None).action is None  # type: ignore[union-attr]


def test_embed_js_is_short_cached_javascript_that_goes_with_the_pages() -> None:
    assert pub.content_type_of("embed.js") == "text/javascript; charset=utf-8"
    assert pub.cache_control_of("embed.js", immutable=False) == SHORT
    assert pub.upload_tier("sketch/embed.js", False) == 2 == pub.upload_tier("index.html", False)
    assert pub.upload_tier("static/book-0123456789.js", True) == 0
    assert pub.upload_tier("products/a/data.json", False) == 1


# -- the catalog's origins ----------------------------------------------------------------


def test_catalog_origins_are_normalized(make_catalog: Callable[..., Path]) -> None:
    cat = base_catalog()
    cat["site"]["publish"] = {"bucket": "my-sketchbook",
                              "cors": ["https://Shop.Example.com/", "https://shop.example.com:443",
                                       "http://localhost:8080"]}
    catalog, _ = load_catalog(make_catalog({"catalog.yaml": cat}))
    assert catalog.site.publish is not None
    assert catalog.site.publish.cors == [SHOP, "http://localhost:8080"]


@pytest.mark.parametrize(("origins", "bad", "needle"), [
    ([SHOP, "https://shop.example.com/embed"], "https://shop.example.com/embed", "embed"),
    (["shop.example.com"], "shop.example.com", "- shop.example.com"),
    (["ftp://shop.example.com"], "ftp://shop.example.com", "ftp:"),
    (["https://shop.example.com:99999"], "https://shop.example.com:99999", "99999"),
])
def test_a_bad_origin_is_a_catalog_error_at_its_line(
        make_catalog: Callable[..., Path], origins: list[str], bad: str, needle: str) -> None:
    cat = base_catalog()
    cat["site"]["publish"] = {"bucket": "my-sketchbook", "cors": origins}
    text = yaml.safe_dump(cat, sort_keys=False)
    with pytest.raises(CatalogError) as info:
        load_catalog(make_catalog({"catalog.yaml": text}))
    line = text[: text.index(needle)].count("\n") + 1
    index = origins.index(bad)
    messages = [str(p) for p in info.value.problems if not p.warning]
    assert f"cat/catalog.yaml:{line}: site.publish.cors[{index}]: '{bad}' is not an origin: " \
           "http:// or https://, a host and an optional port, no path" in messages[0], messages


def test_every_origin_means_star_alone(make_catalog: Callable[..., Path]) -> None:
    cat = base_catalog()
    cat["site"]["publish"] = {"bucket": "my-sketchbook", "cors": ["*", SHOP]}
    with pytest.raises(CatalogError, match=r"site.publish.cors: '\*' allows every origin"):
        load_catalog(make_catalog({"catalog.yaml": cat}))


# -- real publishes -----------------------------------------------------------------------


@pytest.fixture
def sketch(make_catalog: Callable[..., Path], aws: None) -> Sketch:
    return make_sketch(make_catalog)



def cors_of(s3: Any, bucket: str) -> list[dict[str, Any]] | None:
    try:
        return s3.get_bucket_cors(Bucket=bucket)["CORSRules"]  # type: ignore[no-any-return]
    except s3.exceptions.ClientError as exc:
        assert exc.response["Error"]["Code"] == "NoSuchCORSConfiguration"
        return None


@pytest.fixture
def puts(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The rules each publish sets (Bucket.set_cors calls)."""
    calls: list[Any] = []
    real = pub.Bucket.set_cors

    def recording(self: pub.Bucket, rules: Any) -> None:
        calls.append(rules)
        real(self, rules)

    monkeypatch.setattr(pub.Bucket, "set_cors", recording)
    return calls


def test_catalog_cors_is_set_once(
        make_catalog: Callable[..., Path], aws: None, s3: Any, bucket: str, endpoint: str,
        puts: list[Any]) -> None:
    cat = base_catalog()
    cat["site"]["publish"] = {"bucket": bucket, "endpoint_url": endpoint, "cors": [SHOP]}
    sketch = make_sketch(make_catalog, cat)
    first = run(sketch)
    assert first.exit_code == 0, first.output
    assert f"cors: set GET, HEAD from {SHOP} (the bucket has none)" in first.output
    assert f"CORS rules set: GET, HEAD from {SHOP}" in first.output
    assert cors_of(s3, bucket) == cors_rules([SHOP])
    assert len(puts) == 1
    # (moto's server answers every Origin with CORS headers, rules or not: the rules
    # themselves are what can be checked here)

    again = run(sketch)
    assert again.exit_code == 0, again.output
    assert f"cors: unchanged ({SHOP})" in again.output
    assert "nothing to do: the bucket holds the site" in again.output
    assert len(puts) == 1  # not put again


def test_command_line_origins_override_and_no_cors_removes(
        sketch: Sketch, s3: Any, bucket: str, endpoint: str, puts: list[Any]) -> None:
    other = "https://www.example.org"
    assert run(sketch, bucket=bucket, endpoint=endpoint).exit_code == 0
    # only the rules change: they are set, nothing is uploaded
    result = run(sketch, "--cors", SHOP, "--cors", other, bucket=bucket, endpoint=endpoint)
    assert result.exit_code == 0, result.output
    assert f"CORS rules set: GET, HEAD from {SHOP} {other}" in result.output
    assert "uploaded" not in result.output and "nothing to do" not in result.output
    assert cors_of(s3, bucket) == cors_rules([SHOP, other])

    narrowed = run(sketch, "--cors", other, bucket=bucket, endpoint=endpoint)
    assert narrowed.exit_code == 0, narrowed.output
    assert f"cors: set GET, HEAD from {other} (the bucket has 1 other rule(s))" in narrowed.output
    assert cors_of(s3, bucket) == cors_rules([other])

    removed = run(sketch, "--no-cors", bucket=bucket, endpoint=endpoint)
    assert removed.exit_code == 0, removed.output
    assert "cors: remove the bucket's rules" in removed.output
    assert "CORS rules removed" in removed.output
    assert cors_of(s3, bucket) is None
    again = run(sketch, "--no-cors", bucket=bucket, endpoint=endpoint)
    assert "cors: none, as asked (the bucket has none)" in again.output
    assert len(puts) == 3

    both = run(sketch, "--cors", SHOP, "--no-cors", bucket=bucket, endpoint=endpoint)
    assert both.exit_code == 2 and "--cors and --no-cors: give one of them" in both.output
    bad = run(sketch, "--cors", "https://shop.example.com/page", bucket=bucket,
              endpoint=endpoint)
    assert bad.exit_code == 1
    assert "invalid publish settings: --cors: 'https://shop.example.com/page' is not an " \
           "origin" in bad.output


def test_without_origins_the_buckets_cors_is_left_alone(
        sketch: Sketch, s3: Any, bucket: str, endpoint: str, puts: list[Any]) -> None:
    theirs = [{"AllowedMethods": ["PUT"], "AllowedOrigins": ["https://admin.example.com"]}]
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": theirs})
    result = run(sketch, bucket=bucket, endpoint=endpoint)
    assert result.exit_code == 0, result.output
    assert "cors" not in result.output.lower()
    assert cors_of(s3, bucket) == theirs and puts == []


def test_dry_run_sets_no_rule(sketch: Sketch, s3: Any, bucket: str, endpoint: str,
                              puts: list[Any]) -> None:
    result = run(sketch, "--dry-run", "--cors", SHOP, bucket=bucket, endpoint=endpoint)
    assert result.exit_code == 0, result.output
    assert f"cors: set GET, HEAD from {SHOP} (the bucket has none)" in result.output
    assert f"  cors put       {json.dumps({'CORSRules': cors_rules([SHOP])})}" in result.output
    assert "dry run: nothing uploaded or deleted, CORS rules unchanged" in result.output
    assert cors_of(s3, bucket) is None and puts == [] and bucket_keys(s3, bucket) == set()


@pytest.mark.parametrize("operation", ["GetBucketCors", "PutBucketCors"])
def test_a_bucket_that_refuses_cors_is_a_clear_error_before_any_upload(
        operation: str, sketch: Sketch, s3: Any, bucket: str, endpoint: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = pub.open_bucket

    def refuse(**kwargs: Any) -> Any:
        answer = {"Error": {"Code": "AccessDenied", "Message": "Access Denied"},
                  "ResponseMetadata": {"HTTPStatusCode": 403}}
        return SimpleNamespace(status_code=403), answer

    def refusing(*args: Any, **kwargs: Any) -> pub.Bucket:
        opened = real(*args, **kwargs)
        opened.client.meta.events.register(f"before-call.s3.{operation}", refuse)
        return opened

    monkeypatch.setattr(pub, "open_bucket", refusing)
    result = run(sketch, "--cors", SHOP, bucket=bucket, endpoint=endpoint)
    assert result.exit_code == 1, result.output
    what = "reading" if operation == "GetBucketCors" else "setting"
    assert f"access denied to s3://{bucket} while {what} the bucket's CORS rules: the " \
           "credentials need s3:GetBucketCORS and s3:PutBucketCORS" in result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, AssertionError)
    assert bucket_keys(s3, bucket) == set()  # the rules go first: nothing was uploaded


def test_embed_js_is_published_short_cached_and_invalidated_when_changed(
        sketch: Sketch, s3: Any, bucket: str, endpoint: str) -> None:
    sketch.rebuild({"embed.js": EMBED})
    result = run(sketch, "--prefix", "sketch", bucket=bucket, endpoint=endpoint)
    assert result.exit_code == 0, result.output
    head = s3.head_object(Bucket=bucket, Key="sketch/embed.js")
    assert (head["ContentType"], head["CacheControl"]) == ("text/javascript; charset=utf-8",
                                                           SHORT)
    assert s3.get_object(Bucket=bucket, Key="sketch/embed.js")["Body"].read() == EMBED

    sketch.rebuild({"embed.js": EMBED.replace(b"{}", b"{ static v = 2 }")})
    changed = run(sketch, "--prefix", "sketch", "--invalidate", "E2ABCDEF123456", "--dry-run",
                  bucket=bucket, endpoint=endpoint)
    assert changed.exit_code == 0, changed.output
    assert "upload 1 (changed); delete 0" in changed.output
    assert "  upload changed sketch/embed.js" in changed.output
    root = pub.url_root_of(sketch.facts["base_url"])
    assert f"  invalidate 1 path(s) in E2ABCDEF123456: {root}embed.js" in changed.output
