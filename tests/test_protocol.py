"""The wire formats against their JSON Schemas (sitegen/schemas/), on both sides.

What the host builds (open and render messages, model checks, farm payloads, the page data)
and what a real Blender worker answers (blender/worker.py on the tiny test scenes, and a
farm chunk rendered through it) validate; the schemas' properties and sitegen.protocol's
TypedDicts name the same keys, so neither drifts from the other.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from test_render import catalog_data, make_project

from sitegen import farm, modelcheck, protocol
from sitegen.catalog import file_hashes
from sitegen.catalog.load import load_catalog
from sitegen.catalog.models import Catalog
from sitegen.plan import Job, Wanted, plan_renders, wanted_renders
from sitegen.render import PoolSettings, open_message, render_fields
from sitegen.site.data import product_data
from sitegen.store import FolderStore


def load_schema(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(protocol.schema_path(name).read_text(encoding="utf-8"))
    return data


SCHEMAS = {name: load_schema(name) for name in protocol.SCHEMAS}
REGISTRY: Registry[Any] = Registry().with_resources(
    (schema["$id"], Resource.from_contents(schema)) for schema in SCHEMAS.values())


def validator(protocol_name: str, definition: str | None = None) -> Draft202012Validator:
    """A validator for a protocol's schema, or for one of its definitions."""
    schema = SCHEMAS[protocol_name]
    if definition is not None:
        schema = {"$ref": f"{schema['$id']}#/$defs/{definition}"}
    return Draft202012Validator(schema, registry=REGISTRY)


def valid(protocol_name: str, definition: str | None, instance: Any) -> None:
    """Fail with every error the schema finds in `instance`."""
    errors = [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
              for e in validator(protocol_name, definition).iter_errors(instance)]
    assert not errors, f"{definition or protocol_name}: " + "; ".join(errors)


# -- The schemas and the TypedDicts -------------------------------------------------------

def typed_dicts() -> dict[str, type]:
    return {name: value for name, value in vars(protocol).items()
            if isinstance(value, type) and typing.is_typeddict(value)}


@pytest.mark.parametrize("name", protocol.SCHEMAS)
def test_each_schema_is_a_valid_draft_2020_12_schema(name: str) -> None:
    Draft202012Validator.check_schema(SCHEMAS[name])
    assert protocol.schema_path(name).name == f"{name}.schema.json"


def test_the_schemas_and_the_typed_dicts_name_the_same_keys() -> None:
    hints = typed_dicts()
    described = set()
    for name, schema in SCHEMAS.items():
        for definition, body in schema["$defs"].items():
            if "properties" not in body:
                continue  # a union (oneOf) or a reference to another protocol's definition
            assert definition in hints, f"{name}: {definition} has no TypedDict"
            typed = hints[definition]
            assert set(body["properties"]) == set(typing.get_type_hints(typed)), definition
            required = typed.__required_keys__  # type: ignore[attr-defined]
            assert set(body["required"]) == set(required), definition
            assert body["additionalProperties"] is False, definition
            described.add(definition)
    assert sorted(set(hints) - described) == [], "TypedDicts no schema describes"


def test_the_model_check_caches_what_a_checked_answer_says() -> None:
    assert set(modelcheck.FACTS) == set(typing.get_type_hints(protocol.CheckFacts))
    assert set(modelcheck.FACTS) == set(typing.get_type_hints(protocol.CheckedAnswer)) - {
        "event", "blend", "blender"}


def test_the_schemas_refuse_what_the_protocols_do_not_say() -> None:
    assert not validator("worker").is_valid({"op": "render", "id": "x", "view": "main"})
    assert not validator("worker").is_valid({"event": "pong", "extra": 1})
    assert validator("worker").is_valid({"event": "error", "error": "bad JSON: ..."})
    assert validator("worker").is_valid({"event": "progress", "id": "x", "fraction": 0.5})
    assert not validator("worker").is_valid({"event": "progress", "id": "x", "fraction": 1.5})
    assert not validator("worker").is_valid({"event": "progress", "fraction": 0.5})
    render = {"op": "render", "id": "x", "view": "main", "values": {}, "out": "/abs/x.png"}
    assert validator("worker").is_valid({**render, "progress": True})
    assert not validator("worker").is_valid({**render, "progress": "yes"})
    assert not validator("farm", "ChunkJob").is_valid({"address": "a", "fingerprint": "f"})
    assert not validator("page-data").is_valid({"version": 2})


# -- The host's side ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def project(blender_scenes: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The render tests' catalog (two models' worth of qualities, textures), with a layered
    quality added; its folder."""
    data = catalog_data()
    data["qualities"].append({"id": "layered", "engine": "cycles", "samples": 1,
                              "resolution": [32, 24], "format": "png", "denoise": "off",
                              "layers": True})
    return make_project(tmp_path_factory.mktemp("protocol"), blender_scenes, data).cat


@pytest.fixture(scope="module")
def catalog(project: Path) -> Catalog:
    loaded, _ = load_catalog(project)
    return loaded


def jobs_of(catalog: Catalog, quality: str | None = None) -> list[Job]:
    wanted: list[Wanted] = list(wanted_renders(catalog, quality=quality))
    return plan_renders(catalog, wanted, {}, file_hashes(catalog)).jobs


def test_open_render_and_check_messages_the_host_builds(catalog: Catalog) -> None:
    jobs = jobs_of(catalog) + jobs_of(catalog, "web") + jobs_of(catalog, "layered")
    assert any(j.wanted.layer == () for j in jobs) and any(j.wanted.layer for j in jobs)
    groups: dict[tuple[str, str], list[Job]] = {}
    for job in jobs:
        groups.setdefault((job.wanted.quality, job.wanted.model), []).append(job)
    for (quality, model), group in groups.items():
        valid("worker", "OpenMessage",
              open_message(catalog, quality, model, group, PoolSettings()))
    for job in jobs:
        valid("worker", "RenderMessage", {"op": "render", "id": job.wanted.address,
                                          **render_fields(job.wanted), "out": "/abs/x.png"})
    for message in check_messages(catalog):
        valid("worker", "CheckMessage", message)


def check_messages(catalog: Catalog) -> list[dict[str, Any]]:
    """The `check` messages of the catalog's models, as sitegen.modelcheck sends them."""
    sent: list[dict[str, Any]] = []

    class Recorder:
        def __init__(self, *args: Any) -> None:
            pass

        def alive(self) -> bool:
            return True

        def ask(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
            sent.append(message)
            return {"event": "checked", "blend": message["blend"], "blender": "5.0.1",
                    "error": "not asked"}

        def stop(self) -> None:
            pass

    class NoCache:
        def get(self, key: str) -> None:
            return None

        def put(self, key: str, value: Any) -> None:
            pass

    from sitegen.render.blender import find_blender

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(modelcheck, "WorkerProcess", Recorder)
        modelcheck.check_models(catalog, list(catalog.models), find_blender(None),
                                cache=NoCache())  # type: ignore[arg-type]
    assert len(sent) == len(catalog.models)
    return sent


def farm_payloads(catalog: Catalog, store: FolderStore, jobs: list[Job],
                  settings: PoolSettings) -> list[Any]:
    """The payloads `Farm.render` sends for the jobs (no broker: sending is recorded)."""
    sent: list[Any] = []
    host = farm.Farm("redis://127.0.0.1:1/0")

    class Sent:
        def __init__(self, n: int) -> None:
            self.id = f"task-{n}"

    def send_task(name: str, args: list[Any], **options: Any) -> Sent:
        assert name == farm.TASK_NAME
        sent.append(json.loads(json.dumps(args[0])))  # as it travels: JSON
        return Sent(len(sent))

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(host.app, "send_task", send_task)
        mp.setattr(host, "_poll", lambda chunks, *a: chunks.clear())
        host.render(catalog, store, jobs, settings)
    return sent


def test_farm_payloads_the_host_sends(catalog: Catalog, tmp_path: Path) -> None:
    jobs = jobs_of(catalog) + jobs_of(catalog, "layered")
    payloads = farm_payloads(catalog, FolderStore(tmp_path / "renders"), jobs,
                             PoolSettings(workers=2, chunk=3))
    assert len(payloads) > 2
    assert sum(len(p["jobs"]) for p in payloads) == len(jobs)
    for payload in payloads:
        valid("farm", "ChunkPayload", payload)


def test_what_a_farm_worker_says_of_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    from celery.worker.control import Panel

    inspect = Panel.data["sitegen_farm"]  # the inspect command the host broadcasts
    monkeypatch.setattr(farm, "_settings", None)
    assert inspect(None) == {}  # not in `sitegen worker`
    monkeypatch.setattr(farm, "_settings", farm.WorkerSettings(renders="renders", threads=2))
    valid("farm", "FarmWorkerInfo", inspect(None))


def test_page_data_of_the_demo(demo_site: Any) -> None:
    pages = {name: json.loads(data) for name, data in demo_site.files.items()
             if name.endswith("/data.json")}
    assert pages
    for name, page in pages.items():
        assert "layers" not in page, name
        valid("page-data", None, page)


def test_page_data_of_a_layered_quality(catalog: Catalog) -> None:
    ready: dict[str, dict[str, set[str]]] = {}
    for w in wanted_renders(catalog, quality="layered"):
        ready.setdefault(w.model, {}).setdefault(w.view, set()).add(w.key)
    for product in catalog.products.values():
        data = product_data(catalog, product, "layered", ready[product.model], "renders/",
                            {f: f"swatches/{f}.png" for f in catalog.finishes})
        assert "layers" in data
        valid("page-data", None, json.loads(json.dumps(data)))


# A stand-in worker (no Blender): `ready`, then for each message `n` progress events 0.05 s
# apart (n < 0: without end) and a `rendered` answer.
FAKE_WORKER = """
import json, sys, time
def say(event):
    print(json.dumps(event), flush=True)
say({"event": "ready", "pid": 1, "blender": "5.0.1"})
for line in sys.stdin:
    msg = json.loads(line)
    n, i = msg.get("n", 3), 0
    while n < 0 or i < n:
        say({"event": "progress", "id": msg["id"], "fraction": min(1.0, i / (abs(n) + 1))})
        time.sleep(0.05)
        i += 1
    say({"event": "rendered", "id": msg["id"]})
"""


def test_ask_hands_progress_events_to_on_progress_and_keeps_its_deadline(
        tmp_path: Path) -> None:
    import sys
    import time

    from sitegen.render.workers import WorkerGone, WorkerProcess

    w = WorkerProcess([sys.executable, "-c", FAKE_WORKER], tmp_path, "fake")
    w.start(30)
    try:
        got: list[dict[str, Any]] = []
        answer = w.ask({"op": "render", "id": "a", "n": 3}, 30,  # type: ignore[arg-type]
                       on_progress=got.append)
        assert answer == {"event": "rendered", "id": "a"}
        assert got == [{"event": "progress", "id": "a", "fraction": f}
                       for f in (0.0, 0.25, 0.5)]
        for event in got:
            valid("worker", "ProgressAnswer", event)
        # without on_progress the events are dropped, never taken for the answer
        answer = w.ask({"op": "render", "id": "b", "n": 2}, 30)  # type: ignore[arg-type]
        assert answer == {"event": "rendered", "id": "b"}
        # the timeout is a deadline for the answer, however many progress events come
        got.clear()
        start = time.monotonic()
        with pytest.raises(WorkerGone, match="no answer within 0.5 s"):
            w.ask({"op": "render", "id": "c", "n": -1}, 0.5,  # type: ignore[arg-type]
                  on_progress=got.append)
        assert time.monotonic() - start < 3
        assert len(got) >= 3 and not w.alive()
    finally:
        w.kill()


# -- The worker's side: a real Blender worker ---------------------------------------------

@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from test_worker import Worker

    w = Worker(tmp_path_factory.mktemp("protocol-worker") / "worker.log")
    yield w
    w.kill()


@pytest.mark.blender
def test_a_real_workers_answers(worker: Any, catalog: Catalog, tmp_path: Path) -> None:
    answers = [worker.ready, worker.call({"op": "ping"})]
    garbage = tmp_path / "garbage.blend"
    garbage.write_bytes(b"not a blend file")
    for message in check_messages(catalog):
        answers.append(worker.call(message))
        answers.append(worker.call({**message, "blend": str(garbage)}))  # checked, error
        answers.append(worker.call({**message, "blend": str(tmp_path / "missing.blend")}))
    jobs = [j for j in jobs_of(catalog) if j.wanted.model == "scene"][:2] + \
        [j for j in jobs_of(catalog, "layered") if j.wanted.layer is not None][:2]
    opened = set()
    for job in jobs:
        w = job.wanted
        if w.quality not in opened:
            group = [j for j in jobs if j.wanted.quality == w.quality]
            message = open_message(catalog, w.quality, w.model, group, PoolSettings(threads=2))
            answers.append(worker.call({**message, "device": "cpu"}))
            opened.add(w.quality)
        out = tmp_path / w.address
        answers.append(worker.call({"op": "render", "id": w.address, **render_fields(w),
                                    "out": str(out)}))
    answers.append(worker.call({"op": "render", "id": "x", "view": "nowhere",
                                "values": {}, "out": str(tmp_path / "x.png")}))
    answers.append(worker.call({"op": "fly"}))
    worker.proc.stdin.write(b"{not json\n")
    worker.proc.stdin.flush()
    answers.append(worker.recv())
    events = [a["event"] for a in answers]
    for event in ("ready", "pong", "checked", "opened", "rendered", "error"):
        assert event in events, (event, answers)
    assert any(a["event"] == "checked" and a["error"] for a in answers)
    assert any(a["event"] == "checked" and not a["error"] for a in answers)
    for answer in answers:
        valid("worker", None, answer)
        valid("worker", "WorkerAnswer", answer)


@pytest.mark.blender
def test_a_farm_chunk_rendered_by_a_real_worker(catalog: Catalog, tmp_path: Path) -> None:
    """A chunk as the host sends it, rendered as a farm worker does (here, in this process):
    its events, the task's result and the receipts it stores validate."""
    store = FolderStore(tmp_path / "renders")
    jobs = [j for j in jobs_of(catalog) if j.wanted.model == "scene"][:2]
    (payload,) = farm_payloads(catalog, store, jobs, PoolSettings(workers=1))
    settings = farm.WorkerSettings(renders=str(store.root), cache=tmp_path / "cache",
                                   threads=1, device="cpu")
    farm._store = None
    try:
        events = farm.render_chunk(payload, settings)
        again = farm.render_chunk(payload, settings)  # answered from the receipts
    finally:
        farm.stop_warm_worker()
        farm._store = None
    assert [e["event"] for e in events] == ["rendered"] * len(jobs), events
    assert all(e.get("skipped") for e in again)
    for result in ({"delivery": 1, "worker": "w-1", "events": events},
                   {"delivery": 2, "worker": "w-1", "events": again}):
        valid("farm", "ChunkResult", json.loads(json.dumps(result)))
    for job in jobs:
        receipt = store.read_file(farm.receipt_name(job.wanted.address))
        assert receipt is not None
        valid("farm", "Receipt", json.loads(receipt))


@pytest.mark.blender
def test_a_real_workers_progress_events(worker: Any, catalog: Catalog, tmp_path: Path) -> None:
    """A render message the host builds, with `"progress": true`, and the progress events
    a real worker sends before its answer."""
    from test_worker import check_progress, render_with_progress

    job = next(j for j in jobs_of(catalog) if j.wanted.model == "scene")
    w = job.wanted
    message = open_message(catalog, w.quality, w.model, [job], PoolSettings(threads=2))
    assert worker.call({**message, "device": "cpu"})["event"] == "opened"
    render = {"op": "render", "id": w.address, **render_fields(w),
              "out": str(tmp_path / w.address), "progress": True}
    valid("worker", "RenderMessage", render)
    events, answer = render_with_progress(worker, render)
    assert answer["event"] == "rendered", answer
    check_progress(events, w.address)
    for event in events:
        valid("worker", "ProgressAnswer", event)
    for event in [*events, answer]:
        valid("worker", None, event)
        valid("worker", "WorkerAnswer", event)
