"""Commands over the render store: `render`, `status`, `index rebuild`, `verify-layers`."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sitegen.catalog.models import Catalog
from sitegen.cli.options import (
    State,
    blender_worker_options,
    check_choices,
    check_qualities,
    open_store,
    pass_state,
    renders_option,
)
from sitegen.cli.output import Progress, interrupt_on_sigterm, print_table
from sitegen.errors import EnvironmentFailure, SitegenError

if TYPE_CHECKING:
    from sitegen.expand import KindPlan
    from sitegen.plan import Job, LayerReadiness, Plan
    from sitegen.render import Summary
    from sitegen.store import RenderStore

# A plan larger than this asks for --limit or --yes before starting.
CONFIRM_ABOVE = 5000



@click.command()
@click.option("--quality", help="Render at this quality: the products' wanted colourings at Q "
              "instead of the primary quality, and the orders made at Q (with --order, that "
              "order at Q) [default: the primary quality, and each order at its own].")
@click.option("--product", "products", multiple=True, help="Only this product (repeatable).")
@click.option("--order", help="Only the pictures of this order.")
@click.option("--colouring", metavar="CONFIGURATION",
              help="Only the pictures of this colouring of the one --product, as the old "
                   "render API wrote it: Part:<finish id> items joined by '-' (Part:0 "
                   "removes an optional part; a part left out takes its kind's default); "
                   "the kind follows from the parts, as in the sketchbook.")
@click.option("--kind", help="With --colouring: the kind to colour, where the parts fit "
              "several kinds of the product.")
@click.option("--view", help="Only this view: a view, a spin's frame (spin-07) or a spin "
              "(all its frames).")
@click.option("--stale", is_flag=True, help="Also re-render pictures whose inputs changed.")
@click.option("--force", is_flag=True, help="Re-render every wanted picture.")
@click.option("--limit", type=click.IntRange(min=1), help="Render at most N pictures, most "
              "useful first (every product's default colourings before the rest).")
@click.option("--workers", type=click.IntRange(min=1), help="Blender workers [default: one per "
              "two cores].")
@blender_worker_options
@click.option("--timeout", type=click.FloatRange(min=1), default=600, show_default=True,
              help="Seconds one render (or a worker's start and model load) may take before "
                   "the worker is killed and the render retried once elsewhere.")
@click.option("--dry-run", is_flag=True, help="Print the plan; render nothing.")
@click.option("--yes", is_flag=True, help=f"Start a plan above {CONFIRM_ABOVE} renders.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON events instead of a bar.")
@click.option("--farm", metavar="URL", help="Render on a farm of `sitegen worker`s through "
              "this broker instead of local workers: RabbitMQ "
              "(amqp://USER:PASSWORD@HOST:5672/VHOST, amqps:// with TLS) or Redis "
              "(redis://HOST:6379/0); the workers must use this store.")
@renders_option()
@pass_state
def render(state: State, quality: str | None, products: tuple[str, ...], order: str | None,
           colouring: str | None, kind: str | None, view: str | None, stale: bool,
           force: bool, limit: int | None, workers: int | None, threads: int, timeout: float,
           recycle_after: int, blender: str | None, device: str, dry_run: bool, yes: bool,
           as_json: bool, farm: str | None, renders: str) -> None:
    """Render the wanted pictures that the store does not hold yet.

    Wanted: every allowed colouring of each product (`render: all`) or each kind's
    default (`render: default`), at the primary quality (or at --quality Q), plus the
    catalog's orders at their own quality; for every view. Pictures whose inputs changed
    (blend file, textures, colours, quality, renderer) are stale: kept until `--stale`
    re-renders them.

    With --colouring, only that colouring of the product is wanted (at a layered quality:
    the layers it is stacked from), in every view or --view; the addresses of its pictures
    are printed last, each ready or rendered.

    \b
    Examples:
      sitegen render --dry-run
      sitegen render --product kino-stool --workers 2
      sitegen render --stale --limit 100
      sitegen render --quality draft --product kino-stool
      sitegen render --product maru-bench --kind with-table \\
          --colouring "Frame:1127-Pads:4031-Bolsters:0"
      sitegen render --farm redis://farm-host:6379/0
    """
    import contextlib

    if farm is not None and (workers or threads or blender or device != "auto"
                             or recycle_after != 100):
        raise click.UsageError("with --farm, --workers, --threads, --blender, --device and "
                               "--recycle-after are options of `sitegen worker`")
    if colouring is not None and order is not None:
        raise click.UsageError("--colouring names the pictures to render: it does not go "
                               "with --order")
    if colouring is not None and len(products) != 1:
        raise click.UsageError("--colouring needs exactly one --product: the product it "
                               "colours")
    if kind is not None and colouring is None:
        raise click.UsageError("--kind goes with --colouring")

    from sitegen.catalog import file_hashes
    from sitegen.plan import layer_readiness, plan_renders, wanted_renders

    catalog, _ = state.load()
    check_choices(catalog, quality, products, order, view)
    picked = None  # (the kind, the colouring) of --colouring
    if colouring is not None:
        picked = _pick_colouring(catalog, products[0], colouring, kind, view)
    store = open_store(renders)
    check_qualities(catalog, store)
    planned_blender = _planned_blender(blender, farm)
    holding = contextlib.nullcontext() if dry_run else store.lock("sitegen render")
    with holding:
        wanted = list(wanted_renders(catalog, quality=quality, products=products, order=order,
                                     view=view, colouring=None if picked is None
                                     else (picked[0].kind, picked[1])))
        hashes = file_hashes(catalog)
        stored = store.stored()
        plan = plan_renders(catalog, wanted, stored, hashes, stale=stale, force=force,
                            blender=planned_blender)
        if limit is not None:
            plan.jobs = plan.jobs[:limit]
        _print_plan(plan, len(wanted), as_json)
        if picked is None:  # (a colouring's own lines say what of it is ready)
            _print_layer_readiness(layer_readiness(catalog, wanted, plan, stored), as_json)
        if dry_run and as_json:
            for job in plan.jobs:
                click.echo(json.dumps({"event": "job", "address": job.wanted.address,
                                       "product": job.wanted.product, "reason": job.reason}))
        states = None
        if picked is not None:
            from sitegen.plan import picture_state

            states = {w.address: picture_state(catalog, w, stored, hashes, planned_blender)
                      for w in wanted}
        summary = None
        if not dry_run and plan.jobs:
            if len(plan.jobs) > CONFIRM_ABOVE and not yes:
                raise SitegenError(f"the plan has {len(plan.jobs)} renders: start it with "
                                   "--yes, or render part of it with --limit N")
            store.check_space()  # a full or read-only store stops here, before any render
            if farm is None:  # a farm's stored, unindexed pictures are adopted by receipts
                store.remove_unindexed([j.wanted.address for j in plan.jobs
                                        if j.reason == "missing"])
            summary = _run_render(catalog, store, plan.jobs, workers, threads, timeout,
                                  recycle_after, blender, device, as_json, farm)
        if picked is not None and states is not None:
            _print_colouring(catalog, products[0], picked, states, plan, summary, as_json)
        if summary is not None and (summary.failed or summary.refused):
            sys.exit(1)


def _pick_colouring(catalog: Catalog, product_id: str, colouring: str, kind: str | None,
                    view: str | None) -> tuple[KindPlan, tuple[int, ...]]:
    """--colouring read against the product: (its kind, the colouring), or why not."""
    from sitegen.configuration import resolve_configuration

    product = catalog.products[product_id]
    if kind is not None and kind not in {k.id for k in product.kinds}:
        raise click.BadParameter(f"unknown kind {kind!r} of {product_id} (known: "
                                 f"{', '.join(k.id for k in product.kinds)})",
                                 param_hint="--kind")
    model = catalog.models[product.model]
    if view is not None and not model.views_of(view):
        raise click.BadParameter(f"{product_id}'s model {model.id} has no view {view!r} "
                                 f"(its views: {', '.join(model.view_choices)})",
                                 param_hint="--view")
    return resolve_configuration(catalog, product_id, colouring, kind)


def _print_colouring(catalog: Catalog, product_id: str,
                     picked: tuple[KindPlan, tuple[int, ...]],
                     states: Mapping[str, str], plan: Plan, summary: Summary | None,
                     as_json: bool) -> None:
    """The colouring's pictures (layers, bounce images), each with what became of it."""
    from sitegen.configuration import configuration_string

    kind_plan, values = picked
    kind = kind_plan.kind
    configuration = configuration_string(kind_plan, values)
    reasons = {job.wanted.address: job.reason for job in plan.jobs}
    failed = dict(summary.failed) if summary is not None else {}
    refused = {model for model, _, _ in summary.refused} if summary is not None else set()
    outcome: dict[str, tuple[str, str]] = {}  # address -> (state, in words)
    for address, held in states.items():
        if address in reasons:
            if summary is None:
                outcome[address] = ("planned", f"to render ({reasons[address]})")
            elif address in failed:
                outcome[address] = ("failed", f"failed: {failed[address]}")
            elif address.split("/")[1] in refused:
                outcome[address] = ("refused", "not rendered: its model was refused")
            else:
                outcome[address] = ("rendered", "rendered")
        elif held in ("ready", "unknown"):
            outcome[address] = ("ready", "ready")
        elif held == "stale":
            outcome[address] = ("stale", "stale, kept (--stale re-renders it)")
        else:
            outcome[address] = ("missing", "missing (left out by --limit)")
    if as_json:
        click.echo(json.dumps({"event": "colouring", "product": product_id, "kind": kind,
                               "configuration": configuration, "addresses": list(outcome),
                               "states": {a: state for a, (state, _) in outcome.items()}}))
        return
    click.echo(f"{product_id} {kind} {configuration}:")
    width = max((len(a) for a in outcome), default=0)
    for address, (_, said) in outcome.items():
        click.echo(f"  {address.ljust(width)}  {said}")


def _planned_blender(blender: str | None, farm: str | None) -> str | None:
    """The version of the Blender that will render (a fingerprint input), known before any
    worker starts: the farm's when all its workers tell the same, else that of --blender or
    of the bpy module; None when it cannot be known here."""
    if farm is not None:
        from sitegen.farm import Farm

        client = Farm(farm)
        try:
            client.check()
        except SitegenError:  # the render says so, with its own message
            return None
        return client.blender_version()
    from sitegen.render.blender import find_blender

    return find_blender(blender).version


def _print_plan(plan: Plan, wanted: int, as_json: bool) -> None:
    counts = plan.counts()
    if as_json:
        click.echo(json.dumps({"event": "plan", "wanted": wanted, "ready": plan.ready,
                               "stale_kept": plan.stale_kept, "render": len(plan.jobs),
                               "by_product": {f"{p} {r}": n for (p, r), n in
                                              sorted(counts.items())}}))
        return
    line = ", ".join(f"{n} ({r})" for r, n in plan.reasons().items()) or "nothing"
    click.echo(f"wanted {wanted}: {plan.ready} ready; render {line}")
    if plan.stale_kept:
        click.echo(f"{plan.stale_kept} stale picture(s) kept: re-render them with --stale")
    for (product, reason), n in sorted(counts.items()):
        click.echo(f"  {product}: {n} {reason}")


def _print_layer_readiness(rows: list[LayerReadiness], as_json: bool) -> None:
    """At layered qualities: per product and view, the colourings ready now and after the
    plan."""
    for row in rows:
        if as_json:
            click.echo(json.dumps({"event": "layers", **row}))
        else:
            click.echo(f"  {row['product']} {row['quality']}/{row['view']}: colourings ready "
                       f"{row['colourings_ready']} -> {row['colourings_ready_after']} "
                       f"of {row['allowed']}")


def _run_render(catalog: Catalog, store: RenderStore, jobs: list[Job], workers: int | None,
                threads: int, timeout: float, recycle_after: int, blender: str | None,
                device: str, as_json: bool, farm: str | None = None) -> Summary:
    """Render the jobs on local workers or the farm, with a bar or JSON events; the
    summary printed and returned (the caller exits 1 on failures)."""
    from sitegen.render import PoolSettings, default_workers, render_jobs

    settings = PoolSettings(workers=workers or default_workers(), threads=threads,
                            recycle_after=recycle_after, timeout=timeout, blender=blender,
                            device=device)
    if farm is not None:

        from sitegen.farm import Farm, pool_for, redact

        farm_client = Farm(farm)
        farm = redact(farm)  # shown without its password
        farm_client.check()
        farm_workers = farm_client.workers()
        if as_json:
            click.echo(json.dumps({"event": "farm", "url": farm, "workers": [
                {"hostname": w.hostname, "processes": w.processes, "threads": w.threads,
                 "device": w.device, "renders": w.renders} for w in farm_workers]}))
        elif farm_workers:
            click.echo(f"farm {farm}: " + ", ".join(
                f"{w.hostname} ({w.processes} x {w.threads} thread(s), {w.device})"
                for w in farm_workers))
        else:
            click.echo(f"farm {farm}: no worker answered yet; the chunks wait in the queue "
                       "until one starts (`sitegen worker`)", err=True)
        settings = pool_for(farm_workers, settings)

    interrupt_on_sigterm()
    bar = None if as_json else Progress(len(jobs), unit="render")

    def on_event(event: dict[str, Any]) -> None:
        if as_json:
            click.echo(json.dumps(event))
        elif bar is not None:
            bar.on_event(event)

    try:
        if farm is not None:
            summary = farm_client.render(catalog, store, jobs, settings, on_event)
        else:
            summary = render_jobs(catalog, store, jobs, settings, on_event)
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        click.echo("interrupted: finished pictures are stored and indexed; run again to "
                   "render the rest", err=True)
        sys.exit(130)
    except EnvironmentFailure:
        if bar is not None:
            bar.close()
        click.echo("stopped: the pictures finished before are stored and indexed", err=True)
        raise
    except SitegenError:  # workers that cannot start: the message says why
        if bar is not None:
            bar.close()
        raise
    if bar is not None:
        bar.close()
    done = {"event": "summary", "rendered": summary.rendered, "failed": len(summary.failed),
            "seconds": round(summary.seconds, 2), "per_minute": round(summary.per_minute, 1),
            "render_seconds": round(summary.render_seconds, 2),
            "workers": settings.workers, "threads": settings.threads_per_worker(),
            "timings": {k: round(v, 2) for k, v in summary.timings.items()},
            "refused": len(summary.refused)}
    if as_json:
        click.echo(json.dumps(done))
    else:
        click.echo(f"rendered {summary.rendered}, failed {len(summary.failed)} in "
                   f"{summary.seconds:.1f} s ({summary.per_minute:.1f} renders/min, "
                   f"{settings.workers} worker(s) x {settings.threads_per_worker()} thread(s))")
        for address, reason in summary.failed:
            click.echo(f"  failed {address}: {reason}", err=True)
        for model, count, problems in summary.refused:
            more = (f" (and {len(problems) - 1} more: `sitegen validate` lists them)"
                    if len(problems) > 1 else "")
            click.echo(f"error: model '{model}' not rendered ({count} picture(s)): "
                       f"{problems[0]}{more}", err=True)
    return summary



@click.command()
@click.option("--quality", help="The pictures wanted at this quality: the products' at Q "
              "and the orders made at Q [default: the primary quality and each order's own].")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per row, then totals.")
@click.option("--blender", type=click.Path(exists=True, dir_okay=False),
              help="Judge pictures against this Blender executable or Python with bpy (the "
                   "version is an input of every picture) [default: the bpy module].")
@renders_option()
@pass_state
def status(state: State, quality: str | None, as_json: bool, blender: str | None,
           renders: str) -> None:
    """Show, per product, quality and view: allowed, wanted, ready, missing, stale.

    Ready pictures whose fingerprint is unknown (an index rebuilt from the files) are
    counted as ready and also shown as `unknown`. At a layered quality the wanted pictures
    are layers; COLOURINGS READY says how many colourings are ready (every layer of the
    colouring ready, counted from the catalog's structure, not by listing). BLENDER names
    the Blender versions that made the ready pictures (in --json, `blender`: a count per
    version); a picture made by another version than the one that would render now is
    stale.

    \b
    Example:
      sitegen status --quality preview
    """
    from sitegen.catalog import file_hashes
    from sitegen.plan import status_rows
    from sitegen.render.blender import find_blender

    catalog, _ = state.load()
    check_choices(catalog, quality, (), None, None)
    store = open_store(renders)
    stored = store.stored()
    made_by = {record.address: record.blender for record in store.records()}
    version = find_blender(blender).version
    rows, totals = status_rows(catalog, stored, made_by, file_hashes(catalog), quality, version)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row))
        click.echo(json.dumps({"totals": totals}))
        return
    columns = ["product", "quality", "view", "allowed", "unit", "wanted", "ready", "missing",
               "stale", "unknown", "colourings_ready", "blender"]
    table = [[c.upper().replace("_", " ") for c in columns]]
    table += [[_cell(r, c) for c in columns] for r in rows]
    table.append(["total", "", "", "", "", *(_cell(totals, c) for c in columns[5:-2]), "", ""])
    print_table(table)


def _cell(row: Mapping[str, object], column: str) -> str:
    value = row[column]
    if isinstance(value, dict):  # Blender version -> pictures
        return ", ".join(value) or "-"
    return str(value)


@click.group()
def index() -> None:
    """Maintain the render store's index."""


@index.command("rebuild")
@renders_option()
def index_rebuild(renders: str) -> None:
    """Recreate a lost index from the picture files (fingerprints become unknown).

    \b
    Example:
      sitegen index rebuild --renders renders
    """
    store = open_store(renders)
    with store.lock("sitegen index rebuild"):
        found = store.rebuild_index()
    click.echo(f"indexed {found} picture(s) in {renders}; their fingerprints are unknown "
               "until they are rendered again")



@click.command("verify-layers")
@click.option("--product", "products", multiple=True,
              help="Only this product (repeatable) [default: every product].")
@click.option("--quality", help="The layered quality to verify [default: the primary one].")
@click.option("--count", type=click.IntRange(min=1), default=5, show_default=True,
              help="Colourings per product, drawn uniformly among its allowed ones.")
@click.option("--seed", type=int, help="Seed of the draw [default: a new one, printed].")
@click.option("--view", help="Only this view, a spin's frame or a spin (all its frames) "
              "[default: every view of each product's model].")
@renders_option(default=None, show_default=False,
                help="Take the layers this render store holds (same fingerprints) instead of "
                     "rendering them; it is only read [default: render all].")
@click.option("--samples", type=click.IntRange(min=1),
              help="Render layers and full pictures at this many samples instead.")
@click.option("--denoise", type=click.Choice(["off", "fast", "balanced", "high"]),
              help="Render layers and full pictures with this denoising instead.")
@click.option("--bounce/--no-bounce", default=None,
              help="Verify the layers with (or without) their neighbours' light, whatever "
                   "the quality says (docs/layers.md) [default: as the quality says].")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Keep per picture its full render, layers, composite and diff image here.")
@click.option("--workers", type=click.IntRange(min=1), help="Blender workers [default: one per "
              "two cores].")
@click.option("--min-psnr", type=float, default=40.0, show_default=True,
              help="Exit status 1 when the worst PSNR (dB) is below this.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object, no progress bar.")
@pass_state
def verify_layers(state: State, products: tuple[str, ...], quality: str | None, count: int,
                  seed: int | None, view: str | None, renders: str | None, samples: int | None,
                  denoise: str | None, bounce: bool | None, out: Path | None,
                  workers: int | None, min_psnr: float, as_json: bool) -> None:
    """Check that stacked layers look like full renders of the same colourings.

    Draws COUNT allowed colourings per product (uniformly, from the catalog's structure),
    renders each in full at the layered quality's settings (layers off, same seed, film
    opaque) and the layers it is stacked from, stacks the layers as the sketchbook's canvas
    does (in linear light; the CSS stack, plus-lighter in display space, is scored too), and
    prints per picture PSNR (RGB, 8-bit peak) and SSIM (luminance, 8x8 windows). Renders go
    to a temporary folder, never into a store. Exit status 1 when the worst PSNR is below
    --min-psnr.

    \b
    Examples:
      sitegen verify-layers --count 3
      sitegen verify-layers --product maru-bench --seed 1 --out /tmp/verify
      sitegen verify-layers --renders renders --json
      sitegen verify-layers --samples 64 --denoise off
      sitegen verify-layers --bounce --product maru-bench
    """
    import random

    from sitegen.render import PoolSettings, default_workers
    from sitegen.verify import iter_report_lines, plan_verification, run_verification

    catalog, _ = state.load()
    check_choices(catalog, quality, products, None, view)
    quality = quality or catalog.primary_quality.id
    if seed is None:
        seed = random.SystemRandom().randrange(2**32)
    overrides = {k: v for k, v in (("samples", samples), ("denoise", denoise),
                                   ("bounce", bounce)) if v is not None}
    verification = plan_verification(catalog, quality, products, count, seed, view, overrides)
    store: RenderStore | None = None
    if renders is not None:
        if "://" not in renders and not Path(renders).is_dir():
            raise SitegenError(f"no render store at {renders}")
        store = open_store(renders)
    settings = PoolSettings(workers=workers or default_workers())

    interrupt_on_sigterm()
    bar = None
    if not as_json:
        click.echo(f"seed {seed}: {len(verification.pictures)} picture(s) to compare")
        bar = Progress(len(verification.pictures), unit="step", desc="render")

    def on_event(event: dict[str, Any]) -> None:
        if bar is not None:
            bar.on_event(event)

    try:
        report = run_verification(verification, settings, store=store, out=out,
                                  on_event=on_event)
    finally:
        if bar is not None:
            bar.close()
    if as_json:
        click.echo(json.dumps(report.as_json(min_psnr)))
    else:
        for line in iter_report_lines(report, min_psnr):
            click.echo(line)
        if out is not None:
            click.echo(f"kept full renders, layers, composites and diff images in {out}")
    if report.worst_psnr() < min_psnr:
        sys.exit(1)


