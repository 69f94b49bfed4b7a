"""The whole chain on the demo: a Redis farm of two worker processes renders into an S3 store,
`sitegen build` reads it, `sitegen publish` puts the site on an S3 endpoint, and Chromium
opens the published pages from there.

The demo catalog is used as it is, but for its qualities, made tiny so that its 96 layers
and their 96 bounce images (the primary quality is layered, with neighbours' light) and the
order's 12 full pictures render in about a minute.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import DEMO, use_test_aws
from programs import need_chromium
from test_farm import farm_worker, redis_server, redis_url  # noqa: F401 - fixtures
from test_render import Project, by_event, events

pytestmark = [pytest.mark.blender, pytest.mark.slow]


@pytest.fixture
def demo(tmp_path: Path) -> Project:
    """A copy of the demo catalog whose qualities render in a blink."""
    project = Project(tmp_path)
    shutil.copytree(DEMO, project.cat)
    site = project.cat / "site.yaml"
    data = yaml.safe_load(site.read_text())
    for quality in data["qualities"]:
        quality.update(samples=2, resolution=[64, 48], denoise="off")
        if quality.get("sizes"):
            quality["sizes"] = [32]  # (the farm makes them, publish sends them)
    site.write_text(yaml.safe_dump(data, sort_keys=False))
    return project


def test_demo_through_a_farm_into_s3_then_published_and_browsed(
        demo: Project, redis_url: str, moto_endpoint: str,  # noqa: F811 - a fixture
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import boto3

    need_chromium()  # before a minute of rendering
    use_test_aws(monkeypatch, tmp_path, SITEGEN_S3_ENDPOINT_URL=moto_endpoint,
                 SITEGEN_CACHE_DIR=str(tmp_path / "host-cache"))
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    store_bucket, site_bucket = (f"sg-{uuid.uuid4().hex[:16]}" for _ in range(2))
    for bucket in (store_bucket, site_bucket):
        s3.create_bucket(Bucket=bucket)
    location = f"s3://{store_bucket}/renders"

    def sitegen(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "sitegen", "--catalog", str(demo.cat),
                               *args], capture_output=True, text=True, timeout=900,
                              env=demo.env(), cwd=demo.root, check=False)

    # Two worker processes, with a cache of their own, as on another machine.
    with farm_worker(redis_url, demo, location, "e2e", concurrency=2, threads=1,
                     env={"SITEGEN_CACHE_DIR": str(tmp_path / "worker-cache")}):
        rendered = sitegen("render", "--farm", redis_url, "--json", "--renders", location)
    assert rendered.returncode == 0, rendered.stderr
    summary = by_event(events(rendered), "summary")[0]
    # 144 layers (96 of the fixed views, 48 of hako's 12 spin frames), as many bounce
    # images, 12 full pictures of an order
    assert (summary["rendered"], summary["failed"]) == (144 + 144 + 12, 0)

    built = sitegen("build", "--out", "site", "--renders", location)
    assert built.returncode == 0, built.stderr
    published = sitegen("publish", "--bucket", site_bucket, "--endpoint-url", moto_endpoint,
                        "--out", "site", "--renders", location)
    assert published.returncode == 0, published.stderr
    again = sitegen("publish", "--bucket", site_bucket, "--endpoint-url", moto_endpoint,
                    "--out", "site", "--renders", location)
    assert again.returncode == 0 and "nothing to do: the bucket holds the site" in again.stdout, (
        again.stdout)

    pictures = [k["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=site_bucket, Prefix="renders/") for k in page.get("Contents", [])]
    layers = [k for k in pictures if k.endswith(".webp") and not k.endswith(".thumb.webp")
              and ".w32." not in k and ".from-" not in k]
    assert len(layers) == 144 and all("/layer-" in k for k in layers), layers
    bounce = [k for k in pictures if ".from-" in k]
    assert len(bounce) == 144 and all(k.endswith(".webp") for k in bounce), bounce
    # Each with its copy at the quality's size, made on the farm's machine.
    assert sorted(k for k in pictures if k.endswith(".w32.webp")) == sorted(
        k.replace(".webp", ".w32.webp") for k in layers)
    # Served to everyone, as a CDN in front of the bucket would.
    s3.put_bucket_policy(Bucket=site_bucket, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{site_bucket}/*"}]}))
    browse(f"{moto_endpoint}/{site_bucket}/", tmp_path)


def browse(site: str, tmp_path: Path) -> None:
    """The published pages work when served by S3: pictures load, the sketchbook runs."""
    from playwright.sync_api import sync_playwright

    chromium = need_chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        try:
            page = browser.new_page()
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.goto(site + "index.html")
            page.wait_for_load_state("networkidle")
            widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.naturalWidth)")
            assert len(widths) > 4 and all(widths), widths  # stacks of layers
            page.goto(site + "products/maru-bench/index.html")
            page.wait_for_function("document.body.dataset.sketchbook === 'ready'")
            state: dict[str, Any] = page.evaluate("""() => ({
                ready: window.sketchbook.isReady(),
                url: window.sketchbook.imageUrl(),
                all: window.sketchbook.count({}),
                withTable: window.sketchbook.count({Pads: [4031]}),
            })""")
            assert state["ready"] and state["url"].endswith("-base.webp"), state
            assert state["all"] == 80 and state["withTable"] == 20, state
            page.wait_for_load_state("networkidle")
            widths = page.eval_on_selector_all(
                "img", "imgs => imgs.filter(i => i.complete).map(i => i.naturalWidth)")
            assert widths and all(widths), widths
            page.screenshot(path=str(tmp_path / "published-maru.png"))
            assert not problems, json.dumps(problems)
        finally:
            browser.close()
