"""`sitegen publish`: the built site and its renders -> an S3 bucket (plan, then act)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sitegen.cli.options import State, renders_option
from sitegen.cli.output import Progress

if TYPE_CHECKING:
    from sitegen.publish import BucketPlan, CorsPlan, PublishPlan, PublishReport, RemoteState


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
@click.option("--cors", "cors", metavar="ORIGIN", multiple=True,
              help="Let pages of this origin (https://shop.example.com, or '*') load the site "
                   "(embed.js, data, pictures): the bucket's CORS rules; repeatable [default: "
                   "site.publish.cors; neither: the bucket's rules are left alone].")
@click.option("--no-cors", is_flag=True, help="Remove the bucket's CORS rules.")
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
            distribution: str | None, cors: tuple[str, ...], no_cors: bool, force: bool,
            out: Path, renders: str, quality: str | None, renders_prefix: str | None,
            jobs: int) -> None:
    """Upload the built site and the pictures it shows to an S3 bucket.

    The build is checked against the manifest `sitegen build` wrote last: a build that
    failed, or a file missing or changed since, is refused before anything is uploaded.
    The pictures are those of the quality the build shows (`sitegen build --quality Q`),
    at the renders_url it was made with.

    Objects are compared by the SHA-256 each keeps in its metadata: a publish with
    nothing changed uploads nothing. Pictures, thumbnails, swatches and hashed assets are
    uploaded first (cached for a year), then data, then pages (cached five minutes), so a
    page never points at something missing. The plan is printed before anything is done.

    With origins (--cors, or site.publish.cors) the bucket's CORS rules let pages of
    those origins load the site's embed.js, data and pictures; they are set only when the
    bucket's differ.

    \b
    Examples:
      sitegen publish --bucket my-sketchbook --dry-run
      sitegen publish --bucket my-sketchbook --prefix sketch --delete
      sitegen publish --invalidate E2ABCDEF123456   (bucket from site.publish)
      sitegen publish --cors https://shop.example.com --cors https://www.example.org
    """
    from sitegen import publish as pub
    from sitegen.store import open_store

    if cors and no_cors:
        raise click.UsageError("--cors and --no-cors: give one of them")
    catalog, _ = state.load()
    settings = pub.publish_settings(catalog.site.publish, bucket=bucket, prefix=prefix,
                                    endpoint_url=endpoint_url, region=region,
                                    max_deletes=max_deletes, invalidate=distribution,
                                    cors=[] if no_cors else list(cors) if cors else None)
    if quality is not None and quality not in catalog.qualities:
        raise click.BadParameter(f"unknown {quality!r} (known: {', '.join(catalog.qualities)})",
                                 param_hint="--quality")
    try:
        site = pub.gather_site(catalog, settings, out, renders=renders, quality=quality,
                               delete=delete)
    except pub.QualityMismatch as exc:
        raise click.BadParameter(exc.message, param_hint="--quality") from None
    if site.renders_url != catalog.site.renders_url:
        click.echo(f"note: {out} was built with site.renders_url {site.renders_url!r}, the "
                   f"catalog now says {catalog.site.renders_url!r}: publishing as built "
                   "(rebuild to change it)")
    objects = pub.gather_objects(catalog, site, open_store(renders), renders_prefix)
    local, key_prefix, addresses = objects.local, objects.key_prefix, objects.addresses
    click.echo(f"publish {out} ({len(site.files)} files) and {len(local) - len(site.files)} "
               f"picture file(s) -> {site.target}" + (f" at {settings.endpoint_url}"
                                                       if settings.endpoint_url else ""))
    if key_prefix is None:
        click.echo(f"pictures not uploaded: site.renders_url {site.renders_url!r} is "
                   "another place; give --renders-prefix P to upload them into this bucket")
    elif not addresses:
        click.echo(f"no {site.quality} pictures in {renders} that the site shows")
    else:
        click.echo(f"pictures: s3://{settings.bucket}/{key_prefix} ({len(addresses)} "
                   f"{site.quality} picture(s))")

    planned = pub.plan_against_bucket(site, objects, settings, delete=delete, force=force,
                                      jobs=jobs)
    _print_plan(planned.plan, planned.remote, key_prefix, dry_run, planned.paths,
                settings.invalidate)
    _print_cors(planned.cors, dry_run)
    if dry_run:
        click.echo("dry run: nothing uploaded or deleted" + (
            ", CORS rules unchanged" if planned.cors and planned.cors.action else ""))
        return
    report = _carry_out(planned, jobs)
    if report is None:
        click.echo("nothing to do: the bucket holds the site")
        return
    if report.cors == "put":
        click.echo(f"CORS rules set: {', '.join(pub.CORS_METHODS)} from "
                   f"{' '.join(planned.cors.origins if planned.cors else [])}")
    elif report.cors == "delete":
        click.echo("CORS rules removed")
    if report.uploaded or report.deleted or report.cors is None:
        size = _size(report.bytes)
        click.echo(f"uploaded {report.uploaded} object(s) ({size}), deleted {report.deleted} "
                   f"in {report.seconds:.1f} s")
    if settings.invalidate:
        if planned.paths:
            ident = pub.create_invalidation(settings.invalidate, planned.paths, settings.region)
            click.echo(f"invalidation {ident} of {len(planned.paths)} path(s) in "
                       f"{settings.invalidate}")
        else:
            click.echo("nothing to invalidate: no page or data changed")


def _print_plan(plan: PublishPlan, remote: RemoteState, key_prefix: str | None, dry_run: bool,
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


def _print_cors(cors: CorsPlan | None, dry_run: bool) -> None:
    """The plan's line for the bucket's CORS rules (none when they are left alone)."""
    import json

    if cors is None:
        return
    if not cors.wanted:
        click.echo("cors: remove the bucket's rules" if cors.action else
                   "cors: none, as asked (the bucket has none)")
    elif cors.action is None:
        click.echo(f"cors: unchanged ({' '.join(cors.origins)})")
    else:
        had = "none" if cors.current is None else f"{len(cors.current)} other rule(s)"
        click.echo(f"cors: set GET, HEAD from {' '.join(cors.origins)} (the bucket has {had})")
    if dry_run and cors.action == "put":
        click.echo(f"  cors put       {json.dumps({'CORSRules': cors.wanted})}")
    elif dry_run and cors.action == "delete":
        click.echo(f"  cors delete    {json.dumps({'CORSRules': cors.current})}")


def _carry_out(planned: BucketPlan, jobs: int) -> PublishReport | None:
    """Carry the plan out with a progress bar; Ctrl-C leaves a bucket a rerun completes."""
    from sitegen.publish import carry_out

    bars: list[Progress] = []

    def progress(total: int) -> Callable[[dict[str, Any]], None]:
        bars.append(Progress(total, unit="B", desc="upload", in_bytes=True))
        return bars[-1].on_event

    try:
        return carry_out(planned, jobs=jobs, progress=progress)
    except KeyboardInterrupt:
        if not bars:  # before the first upload
            raise
        bars[-1].close()
        click.echo("interrupted: what was uploaded stays; run again to upload the rest "
                   "(nothing is uploaded twice)", err=True)
        sys.exit(130)
    finally:
        for bar in bars:
            bar.close()


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
