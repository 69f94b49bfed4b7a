"""`sitegen worker`: a farm worker that renders the chunks `sitegen render --farm` sends."""

from __future__ import annotations

from pathlib import Path

import click

from sitegen.cli.options import blender_worker_options, renders_option


@click.command()
@click.option("--broker", required=True, metavar="URL",
              help="The farm's Redis broker: redis://HOST:6379/0 (the URL `render --farm` gets).")
@click.option("--concurrency", type=click.IntRange(min=1), help="Pool processes, each with "
              "one Blender worker [default: one per two cores].")
@blender_worker_options
@click.option("--max-tasks-per-child", type=click.IntRange(min=1), default=100,
              show_default=True, help="Replace a pool process after this many chunks.")
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path),
              help="Where fetched input files are kept [default: farm/ in $SITEGEN_CACHE_DIR, "
                   "else in ~/.cache/sitegen].")
@click.option("--visibility-timeout", type=click.IntRange(min=60), default=3600,
              show_default=True, help="Seconds after which Redis gives an unacknowledged "
              "chunk (its worker machine gone) to another worker: longer than any chunk takes.")
@click.option("--hostname", help="The worker's name [default: celery@HOST].")
@click.option("--loglevel", type=click.Choice(["debug", "info", "warning", "error"]),
              default="info", show_default=True)
@renders_option(help="The render store the host uses: a folder (shared or local) or "
                     "s3://BUCKET/PREFIX.")
def worker(broker: str, concurrency: int | None, threads: int, blender: str | None, device: str,
           recycle_after: int, max_tasks_per_child: int, cache: Path | None,
           visibility_timeout: int, hostname: str | None, loglevel: str, renders: str) -> None:
    """Run a farm worker: render the chunks that `sitegen render --farm` sends.

    A Celery worker whose pool processes each keep one Blender worker warm across chunks.
    Input files come from the store by content hash and are cached locally; pictures,
    thumbnails and receipts go to the store; the host indexes them. SIGTERM finishes the
    running chunks, then stops; a killed worker's chunks go to another worker.

    \b
    Examples:
      sitegen worker --broker redis://farm-host:6379/0 --renders s3://bucket/renders
      sitegen worker --broker redis://127.0.0.1:6379/0 --renders renders --concurrency 2
    """
    from sitegen.farm import WorkerSettings, default_cache, run_worker
    from sitegen.render import default_workers

    settings = WorkerSettings(renders=renders, cache=cache or default_cache(),
                              concurrency=concurrency or default_workers(), threads=threads,
                              blender=blender, device=device, recycle_after=recycle_after,
                              tasks_per_child=max_tasks_per_child,
                              visibility_timeout=visibility_timeout)
    run_worker(broker, settings, loglevel=loglevel, hostname=hostname)
