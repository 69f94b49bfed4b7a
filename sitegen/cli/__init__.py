"""The command line: thin click commands over the stages, errors turned into clean messages.

The group and the entry point live here; the commands, one module per group of them: catalog
(validate, variants, products), render (render, status, index, verify-layers), farm
(worker), site (build, serve), publish (publish). What they share: options (the State,
the option declarations, the checks of options) and output (tables, progress bars).
A command parses options, calls its stage and prints; the computing is the stage's.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import click

from sitegen.cli import catalog as catalog_commands
from sitegen.cli import farm as farm_commands
from sitegen.cli import publish as publish_commands
from sitegen.cli import render as render_commands
from sitegen.cli import site as site_commands
from sitegen.cli.options import CONTEXT, State
from sitegen.errors import environment_failure, shorten

__all__ = ["State", "cli", "main"]


@click.group(context_settings=CONTEXT)
@click.option("--catalog", "catalog", type=click.Path(path_type=Path), default=Path("catalog"),
              show_default=True, help="The catalog folder (YAML files, read recursively).")
@click.option("--debug", is_flag=True, help="Show the Python traceback of a failure.")
@click.version_option(package_name="sitegen")
@click.pass_context
def cli(ctx: click.Context, catalog: Path, debug: bool) -> None:
    """sitegen: pre-rendered furniture sketchbooks from a YAML catalog.

    Validate the catalog, expand each product into every allowed colouring, render the
    missing pictures in Blender, and build a static sketchbook site.

    \b
    Examples:
      sitegen validate
      sitegen variants kino-stool --count
      sitegen --catalog path/to/catalog products
    """
    # `debug` is read by `main`, from the arguments: it must hold for a failure before or
    # during parsing too, where no State exists yet.
    ctx.obj = State(catalog)



for command in (catalog_commands.validate, catalog_commands.variants, catalog_commands.products,
                render_commands.render, render_commands.status, render_commands.index,
                render_commands.verify_layers, farm_commands.worker, site_commands.build,
                site_commands.serve, publish_commands.publish):
    cli.add_command(command)



def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning failures into messages and exit statuses."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="sitegen", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        if debug:
            traceback.print_exc()
        exc.message = shorten(exc.message)  # type: ignore[misc]
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.stderr.close()  # `sitegen variants ... | head` is not an error
        sys.exit(0)
    except Exception as exc:
        if debug:
            raise
        failure = environment_failure(exc)
        if failure is not None:  # a full disk, a read-only folder: not a bug
            failure.show()
            sys.exit(failure.exit_code)
        click.echo(f"internal error: {type(exc).__name__}: {exc} (this is a bug; run with "
                   "--debug for the traceback)", err=True)
        sys.exit(1)
