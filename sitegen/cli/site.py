"""Commands over the site: `build`, `serve`."""

from __future__ import annotations

from pathlib import Path

import click

from sitegen.cli.options import (
    State,
    blender_worker_options,
    check_choices,
    open_store,
    pass_state,
    renders_option,
)
from sitegen.cli.output import interrupt_on_sigterm


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("build"),
              show_default=True, help="The output folder.")
@click.option("--quality", help="The quality whose pictures the site shows [default: the "
              "primary one].")
@renders_option()
@pass_state
def build(state: State, out: Path, quality: str | None, renders: str) -> None:
    """Build the static sketchbook site from the catalog and the render store.

    Pages, page data, swatches and hashed assets are gathered first, then written beside
    OUT and swapped in at once, with a manifest of every file (and the quality, for
    `publish`) last: OUT is always the previous complete site or the new one. A rebuild
    with nothing changed rewrites no file.

    \b
    Examples:
      sitegen build
      sitegen build --out /tmp/site --renders renders
    """
    from sitegen.site import build_facts, ready_by_model, site_files, write_site

    catalog, _ = state.load()
    check_choices(catalog, quality, (), None, None)
    store = open_store(renders)
    quality = quality or catalog.primary_quality.id
    files = site_files(catalog, quality, ready_by_model(store.stored(quality), quality))
    report = write_site(files, out, facts=build_facts(catalog, quality))
    click.echo(f"built {out}: {len(files)} files, {len(report.written)} written, "
               f"{report.unchanged} unchanged, {len(report.removed)} removed")


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Build into this folder too (as `sitegen build --out` would) [default: a "
                   "temporary folder of the studio's own; build/ is never touched].")
@click.option("--quality", help="The quality whose pictures the pages show, and renders on "
              "demand are made at [default: the primary one].")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--watch/--no-watch", default=True, show_default=True,
              help="Rebuild when the catalog or the templates change, and reload the open "
                   "pages.")
@click.option("--render/--no-render", default=True, show_default=True,
              help="Render on demand the pictures the open pages show and lack (or hold "
                   "stale).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Warm Blender workers for renders on demand.")
@blender_worker_options
@click.option("--timeout", type=click.FloatRange(min=1), default=600, show_default=True,
              help="Seconds one render may take before its worker is killed.")
@renders_option()
@pass_state
def serve(state: State, out: Path | None, quality: str | None, host: str, port: int,
          watch: bool, render: bool, workers: int, threads: int, recycle_after: int,
          blender: str | None, device: str, timeout: float, renders: str) -> None:
    """The studio: build the site, serve it at http://HOST:PORT/, keep it live.

    Builds the site itself (no `sitegen build` needed); watches the catalog folder and
    the templates, rebuilds on a change and reloads the open pages (their selection, in
    the URL, is kept); while the catalog is invalid, every open page shows its errors as
    the CLI prints them. A colouring shown in a page whose picture (or layer) is missing
    or stale is rendered on warm workers, newest first, into the store (as `sitegen
    render` would), and appears when done. The pages served carry the studio's script;
    the built files, and `sitegen build`, do not (docs/studio.md).

    \b
    Examples:
      sitegen serve
      sitegen serve --quality preview --port 8080
      sitegen serve --no-render --out /tmp/site
    """
    from sitegen.render import PoolSettings
    from sitegen.site.studio import Studio, StudioOptions, make_studio_server, running

    catalog, _ = state.load()  # an invalid catalog at start is an error, as for `build`
    check_choices(catalog, quality, (), None, None)
    settings = PoolSettings(workers=workers, threads=threads, recycle_after=recycle_after,
                            timeout=timeout, blender=blender, device=device)
    options = StudioOptions(state.catalog_dir, renders, quality=quality, out=out,
                            watch=watch, render=render, settings=settings)
    studio = Studio(options, echo=click.echo, warn=lambda line: click.echo(line, err=True))
    interrupt_on_sigterm()
    with running(studio):
        server = make_studio_server(studio, host, port)
        click.echo(f"serving {out or 'the catalog'} at http://{host}:"
                   f"{server.server_address[1]}/ (Ctrl-C to stop)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            click.echo("stopped")
        finally:
            server.server_close()
