"""`sitegen publish`: the built site and its renders -> an S3 bucket (plan, then act)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sitegen.cli.options import renders_option
from sitegen.cli.output import Progress
from sitegen.errors import SitegenError

if TYPE_CHECKING:
    from sitegen.catalog.models import Catalog, Publish
    from sitegen.cli.options import State
    from sitegen.publish import Bucket, Build, PublishPlan, PublishReport


@click.command()
@click.option("--bucket", help="The S3 bucket [default: site.publish.bucket].")
@click.option("--prefix", help="Key prefix of the site in the bucket [default: "
              "site.publish.prefix, else the bucket's root].")
@click.option("--endpoint-url", help="An S3-compatible endpoint (MinIO, R2, ...) [default: "
              "site.publish.endpoint_url, else AWS].")
@click.option("--region", help="The bucket's region [default: site.publish.region, else "
              "AWS_DEFAULT_REGION].")
@click.option("--dry-run", is_flag=True, help="Print the plan, every action of it; change "
              "nothing.")
@click.option("--delete", is_flag=True, help="Delete objects under the prefix that the site "
              "no longer has.")
@click.option("--max-deletes", type=click.IntRange(min=0), help="Stop before acting when "
              "more objects would be deleted [default: site.publish.max_deletes, else 256].")
@click.option("--invalidate", "distribution", metavar="DISTRIBUTION_ID",
              help="Invalidate the changed pages in this CloudFront distribution [default: "
                   "site.publish.invalidate].")
@click.option("--force", is_flag=True, help="Upload every file, changed or not.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("build"),
              show_default=True, help="The built site (made by `sitegen build`).")
@renders_option(help="The render store the pictures come from.")
@click.option("--quality", help="The quality the build shows, which `sitegen build` records "
              "in it [default: the build's]; another one is an error (rebuild with `sitegen "
              "build --quality Q`).")
@click.option("--renders-prefix", help="Where the pictures go in the bucket [default: "
              "<prefix><renders_url> (the build's site.renders_url) when that is relative; "
              "not uploaded when absolute].")
@click.option("--jobs", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Uploads (and metadata reads) at once.")
@click.pass_obj
def publish(state: State, bucket: str | None, prefix: str | None, endpoint_url: str | None,
            region: str | None, dry_run: bool, delete: bool, max_deletes: int | None,
            distribution: str | None, force: bool, out: Path, renders: str,
            quality: str | None, renders_prefix: str | None, jobs: int) -> None:
    """Upload the built site and the pictures it shows to an S3 bucket.

    The build is checked against the manifest `sitegen build` wrote last: a build that
    failed, or a file missing or changed since, is refused before anything is uploaded.
    The pictures are those of the quality the build shows (`sitegen build --quality Q`),
    at the renders_url it was made with.

    Objects are compared by the SHA-256 each keeps in its metadata: a publish with
    nothing changed uploads nothing. Pictures, thumbnails, swatches and hashed assets are
    uploaded first (cached for a year), then data, then pages (cached five minutes), so a
    page never points at something missing. The plan is printed before anything is done.

    \b
    Examples:
      sitegen publish --bucket my-sketchbook --dry-run
      sitegen publish --bucket my-sketchbook --prefix sketch --delete
      sitegen publish --invalidate E2ABCDEF123456   (bucket from site.publish)
    """
    from sitegen import publish as pub
    from sitegen.store import open_store

    catalog, _ = state.load()
    settings = _settings(catalog, bucket, prefix, endpoint_url, region, max_deletes,
                         distribution)
    if quality is not None and quality not in catalog.qualities:
        raise click.BadParameter(f"unknown {quality!r} (known: {', '.join(catalog.qualities)})",
                                 param_hint="--quality")
    site_prefix = pub.normalize_prefix(settings.prefix)
    if delete and renders.startswith("s3://"):
        from sitegen.store.s3 import parse_location

        store_bucket, store_prefix = parse_location(renders)
        if store_bucket == settings.bucket and store_prefix.startswith(site_prefix):
            raise SitegenError(
                f"the render store {renders} lies under the published prefix "
                f"s3://{settings.bucket}/{site_prefix}: --delete would remove its index and "
                "files; publish to another bucket or prefix, or leave out --delete")

    build = pub.verified_build(out)
    site = build.files
    quality = _built_quality(catalog, build, out, quality)
    # The pages were made with these URLs: publish them as built, even if the catalog moved on.
    renders_url = str(build.facts.get("renders_url", catalog.site.renders_url))
    base_url = str(build.facts.get("base_url", catalog.site.base_url))
    if renders_url != catalog.site.renders_url:
        click.echo(f"note: {out} was built with site.renders_url {renders_url!r}, the catalog "
                   f"now says {catalog.site.renders_url!r}: publishing as built (rebuild to "
                   "change it)")
    key_prefix: str | None
    if renders_prefix is not None:
        key_prefix = pub.normalize_prefix(renders_prefix, "--renders-prefix")
    else:
        key_prefix = pub.renders_key_prefix(renders_url, site_prefix)
    store = open_store(renders)
    addresses = [] if key_prefix is None else pub.site_renders(catalog, quality,
                                                               store.stored(quality))
    store.fetch_pictures(addresses)  # from a remote store: local copies of what the site shows
    local = pub.local_objects(site, pub.render_files(addresses, store.path_of), site_prefix,
                              key_prefix)

    target = f"s3://{settings.bucket}/{site_prefix}"
    click.echo(f"publish {out} ({len(site)} files) and {len(local) - len(site)} picture "
               f"file(s) -> {target}" + (f" at {settings.endpoint_url}"
                                          if settings.endpoint_url else ""))
    if key_prefix is None:
        click.echo(f"pictures not uploaded: site.renders_url {renders_url!r} is "
                   "another place; give --renders-prefix P to upload them into this bucket")
    elif not addresses:
        click.echo(f"no {quality} pictures in {renders} that the site shows")
    else:
        click.echo(f"pictures: s3://{settings.bucket}/{key_prefix} ({len(addresses)} "
                   f"{quality} picture(s))")

    bucket_ = pub.open_bucket(settings.bucket, settings.endpoint_url, settings.region, jobs)
    scopes = [site_prefix] + ([key_prefix] if key_prefix is not None
                              and not key_prefix.startswith(site_prefix) else [])
    manifest_key = site_prefix + pub.MANIFEST_NAME
    remote = pub.fetch_remote(bucket_, scopes, manifest_key, local.keys(), detail=not force,
                              jobs=jobs)
    plan = pub.plan_publish(local, remote.objects, delete=delete,
                            max_deletes=settings.max_deletes, force=force, scopes=scopes)
    paths = (pub.invalidation_paths(plan, site_prefix, pub.url_root_of(base_url))
             if settings.invalidate else [])
    _print_plan(plan, remote, key_prefix, dry_run, paths, settings.invalidate)
    if dry_run:
        click.echo("dry run: nothing uploaded or deleted")
        return
    if plan.refused:
        raise pub.too_many_deletes(plan, target)
    if not plan.uploads and not plan.deletes:
        if remote.by_metadata:  # remember what was read, for a quicker next run
            pub.write_manifest(bucket_, manifest_key, scopes, local, remote, plan,
                               pub.PublishReport())
        click.echo("nothing to do: the bucket holds the site")
        return
    report = _apply(bucket_, plan, jobs, target)
    pub.write_manifest(bucket_, manifest_key, scopes, local, remote, plan, report)
    size = _size(report.bytes)
    click.echo(f"uploaded {report.uploaded} object(s) ({size}), deleted {report.deleted} in "
               f"{report.seconds:.1f} s")
    if settings.invalidate:
        if paths:
            ident = pub.create_invalidation(settings.invalidate, paths, settings.region)
            click.echo(f"invalidation {ident} of {len(paths)} path(s) in {settings.invalidate}")
        else:
            click.echo("nothing to invalidate: no page or data changed")


def _built_quality(catalog: Catalog, build: Build, out: Path, given: str | None) -> str:
    """The quality the build shows (its manifest says; an older one's pages); --quality
    must agree."""
    from sitegen.publish import built_qualities

    shown: str | None = build.quality
    if shown is None:  # a manifest without facts: what the pages show
        qualities = built_qualities(out)
        if len(qualities) > 1:
            raise SitegenError(f"{out} shows pictures of several qualities "
                               f"({', '.join(sorted(qualities))}): run `sitegen build` again")
        shown = next(iter(qualities), None) or given or str(catalog.primary_quality.id)
    if given is not None and given != shown:
        raise click.BadParameter(
            f"{given!r}, but {out} was built with --quality {shown} (its pages show {shown} "
            f"pictures): publish it without --quality, or run `sitegen build --quality "
            f"{given}` first", param_hint="--quality")
    if shown not in catalog.qualities:
        raise SitegenError(f"{out} shows {shown} pictures, a quality the catalog no longer "
                           "has: run `sitegen build` again")
    return shown


def _settings(catalog: Catalog, bucket: str | None, prefix: str | None,
              endpoint_url: str | None, region: str | None, max_deletes: int | None,
              distribution: str | None) -> Publish:
    """site.publish with the command line's options over it, validated like the catalog."""
    from pydantic import ValidationError

    from sitegen.catalog.models import Publish

    given = {"bucket": bucket, "prefix": prefix, "endpoint_url": endpoint_url,
             "region": region, "max_deletes": max_deletes, "invalidate": distribution}
    block = catalog.site.publish
    merged = block.model_dump() if block is not None else {}
    merged.update({k: v for k, v in given.items() if v is not None})
    if not merged.get("bucket"):
        raise SitegenError("no bucket to publish to: give --bucket NAME, or set bucket in "
                           "the catalog's site section (site: {publish: {bucket: NAME}})")
    try:
        return Publish.model_validate(merged)
    except ValidationError as exc:
        problems = "; ".join(f"--{'-'.join(str(p) for p in e['loc']).replace('_', '-')}: "
                             f"{e['msg']}" for e in exc.errors())
        raise SitegenError(f"invalid publish settings: {problems}") from None


def _print_plan(plan: PublishPlan, remote: Any, key_prefix: str | None, dry_run: bool,
                paths: list[str], distribution: str | None) -> None:
    if remote.listed:
        click.echo(f"compared {remote.by_manifest + remote.by_metadata} object(s): "
                   f"{remote.by_manifest} by the publish manifest, {remote.by_metadata} by "
                   "their metadata")
    reasons = ", ".join(f"{n} ({r})" for r, n in plan.reasons().items()) or "nothing"
    click.echo(f"upload {reasons}; delete {len(plan.deletes)}; {plan.unchanged} unchanged")
    if plan.stale_kept:
        click.echo(f"{plan.stale_kept} object(s) the site no longer has are kept: delete them "
                   "with --delete")
    if plan.refused:
        click.echo(f"refused: {len(plan.deletes)} deletes exceed --max-deletes "
                   f"{plan.max_deletes}" + (" (a real run stops here)" if dry_run else ""))
    moved = sum(1 for u in plan.uploads if u.reason == "changed" and key_prefix is not None
                and u.key.startswith(key_prefix))
    if moved:
        click.echo(f"note: {moved} picture file(s) changed under the same address; copies "
                   "cached for a year (immutable) may be shown until they expire")
    if dry_run:
        for upload in plan.uploads:
            click.echo(f"  upload {upload.reason:<7} {upload.key}")
        for key in plan.deletes:
            click.echo(f"  delete         {key}")
        if distribution:
            click.echo(f"  invalidate {len(paths)} path(s) in {distribution}"
                       + (": " + " ".join(paths) if paths else ""))


def _apply(bucket: Bucket, plan: PublishPlan, jobs: int, target: str) -> PublishReport:
    """Carry the plan out with a progress bar; Ctrl-C leaves a bucket a rerun completes."""
    from sitegen.publish import apply_plan

    bar = Progress(plan.upload_bytes, unit="B", desc="upload", in_bytes=True)
    on_event = bar.on_event

    try:
        return apply_plan(bucket, plan, jobs=jobs, on_event=on_event, target=target)
    except KeyboardInterrupt:
        bar.close()
        click.echo("interrupted: what was uploaded stays; run again to upload the rest "
                   "(nothing is uploaded twice)", err=True)
        sys.exit(130)
    finally:
        bar.close()


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
