"""Commands over the site: `build`, `serve`."""

from __future__ import annotations

from pathlib import Path

import click

from sitegen.cli.options import State, check_choices, open_store, pass_state, renders_option
from sitegen.errors import SitegenError


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
@click.option("--out", "build_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("build"), show_default=True, help="The built site to serve.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@renders_option()
@pass_state
def serve(state: State, build_dir: Path, host: str, port: int, renders: str) -> None:
    """Preview the built site at http://HOST:PORT/, renders served where the site expects them.

    \b
    Example:
      sitegen build && sitegen serve --port 8000
    """
    from sitegen.site.serve import make_server

    catalog, _ = state.load()
    if not (build_dir / "index.html").is_file():
        raise SitegenError(f"{build_dir}/index.html not found: run `sitegen build` first")
    server = make_server(build_dir, Path(renders), catalog.site.renders_url, host, port)
    click.echo(f"serving {build_dir} at http://{host}:{server.server_address[1]}/ "
               "(Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        server.server_close()
