"""`sitegen worker`: a farm worker that renders the chunks `sitegen render --farm` sends."""

from __future__ import annotations

import re
from pathlib import Path

import click

from sitegen.cli.options import blender_worker_options, renders_option

UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes from a size as people write it: 20G, 500M, 1.5T, 4096 (K, M, G, T: powers of
    1024; a trailing B or iB is allowed). Raises ValueError with a message."""
    found = SIZE.match(text)
    if not found:
        raise ValueError(f"{text!r} is not a size: give bytes, or a number with K, M, G or T "
                         "(powers of 1024), e.g. 20G or 500M")
    number, unit = found.groups()
    return int(float(number) * UNITS[unit.upper()])


def size_option(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """A size option's bytes (`--cache-size 20G`); a bad size is a usage error."""
    try:
        return parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


@click.command()
@click.option("--broker", required=True, metavar="URL",
              help="The farm's broker, the URL `render --farm` gets: "
                   "amqp://USER:PASSWORD@HOST:5672/VHOST (RabbitMQ; amqps:// with TLS) or "
                   "redis://HOST:6379/0.")
@click.option("--concurrency", type=click.IntRange(min=1), help="Pool processes, each with "
              "one Blender worker [default: one per two cores].")
@blender_worker_options
@click.option("--max-tasks-per-child", type=click.IntRange(min=1), default=100,
              show_default=True, help="Replace a pool process after this many chunks.")
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path),
              help="Where fetched input files are kept [default: farm/ in $SITEGEN_CACHE_DIR, "
                   "else in ~/.cache/sitegen].")
@click.option("--cache-size", default="20G", callback=size_option, show_default=True,
              metavar="SIZE", help="The most the fetched input files may take in the cache "
              "(20G, 500M, bytes); the least recently used go first, never one in use.")
@click.option("--visibility-timeout", type=click.IntRange(min=60), default=3600,
              show_default=True, help="Redis: seconds after which Redis gives an "
              "unacknowledged chunk (its worker machine gone) to another worker: longer than "
              "any chunk takes.")
@click.option("--heartbeat", type=click.IntRange(min=0), default=10, show_default=True,
              help="RabbitMQ: AMQP heartbeat seconds; a worker machine silent for about "
              "twice this long is dropped and its chunk goes to another worker (0: none).")
@click.option("--hostname", help="The worker's name [default: celery@HOST].")
@click.option("--loglevel", type=click.Choice(["debug", "info", "warning", "error"]),
              default="info", show_default=True)
@renders_option(help="The render store the host uses: a folder (shared or local) or "
                     "s3://BUCKET/PREFIX.")
def worker(broker: str, concurrency: int | None, threads: int, blender: str | None, device: str,
           recycle_after: int, max_tasks_per_child: int, cache: Path | None,
           cache_size: int,
           visibility_timeout: int, heartbeat: int, hostname: str | None, loglevel: str,
           renders: str) -> None:
    """Run a farm worker: render the chunks that `sitegen render --farm` sends.

    A Celery worker whose pool processes each keep one Blender worker warm across chunks.
    Input files come from the store by content hash and are cached locally; pictures,
    thumbnails and receipts go to the store; the host indexes them. SIGTERM finishes the
    running chunks, then stops; a killed worker's chunks go to another worker.

    \b
    Examples:
      sitegen worker --broker amqp://farm:PASSWORD@farm-host:5672/farm --renders s3://bucket/renders
      sitegen worker --broker redis://farm-host:6379/0 --renders s3://bucket/renders
      sitegen worker --broker redis://127.0.0.1:6379/0 --renders renders --concurrency 2
    """
    from sitegen.farm import WorkerSettings, default_cache, run_worker
    from sitegen.render import default_workers

    settings = WorkerSettings(renders=renders, cache=cache or default_cache(),
                              cache_size=cache_size,
                              concurrency=concurrency or default_workers(), threads=threads,
                              blender=blender, device=device, recycle_after=recycle_after,
                              tasks_per_child=max_tasks_per_child,
                              visibility_timeout=visibility_timeout, heartbeat=heartbeat)
    run_worker(broker, settings, loglevel=loglevel, hostname=hostname)
