"""Model files checked with Blender itself, before anything is rendered from them.

A model passes when its .blend opens, every object that models.yaml names is in its scene,
and every view has a camera. The check runs in one Blender worker (blender/worker.py, op
`check`), started only when some model is not in the cache: answers are kept by the file's
content hash, the names checked and the Blender version (sitegen.cache), so checking an
unchanged catalog again costs a hash per model file. Problems are placed at the models.yaml
entry that names what is missing.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from sitegen.cache import CheckCache, check_key, file_sha256
from sitegen.catalog.models import Catalog, Model
from sitegen.catalog.source import Document, format_field
from sitegen.errors import Problem, SitegenError
from sitegen.protocol import CheckFacts, CheckMessage
from sitegen.render.blender import Blender
from sitegen.render.workers import WORKER_SCRIPT, WorkerGone, WorkerProcess, WorkerStartError

CACHE_KIND = "models"
# What an answer of the worker's `check` says of a file (blender/README.md), as cached.
FACTS = ("error", "scene", "missing_objects", "missing_views", "objects", "object_count",
         "cameras", "camera_count")
LISTED = 12  # names listed in a message
NAME_SHOWN = 60  # characters of a name shown in a message


class BlenderUnavailable(SitegenError):
    """No Blender to check with here (no bpy module and no --blender)."""


def check_models(catalog: Catalog, models: Iterable[str], blender: Blender, *,
                 timeout: float = 600.0, cache: CheckCache | None = None
                 ) -> dict[str, list[Problem]]:
    """The problems of each model (an empty list: it passes), by model id.

    Raises BlenderUnavailable when `blender` cannot run here, and SitegenError when its
    worker cannot start.
    """
    if blender.missing:
        raise BlenderUnavailable(blender.missing)
    cache = cache or CheckCache(CACHE_KIND)
    ids = list(dict.fromkeys(models))
    facts: dict[str, CheckFacts] = {}
    asked: dict[str, tuple[str, CheckMessage]] = {}
    for model_id in ids:
        model = catalog.models[model_id]
        blend = catalog.blend_path(model)
        message: CheckMessage = {"op": "check", "blend": str(blend),
                   "objects": sorted({name for mesh in model.meshes
                                      for name in mesh.object_names}),
                   # the camera objects: `spin`, not its frames `spin-01`...
                   "views": list(dict.fromkeys(model.cameras))}
        key = check_key(CACHE_KIND, file_sha256(blend), message["objects"], message["views"],
                        blender.version)
        held = cache.get(key)
        if isinstance(held, dict):
            facts[model_id] = cast(CheckFacts, held)
        else:
            asked[model_id] = (key, message)
    if asked:
        facts.update(_ask_blender(asked, blender, timeout, cache))
    return {m: model_problems(catalog, catalog.models[m], facts[m], blender.version)
            for m in ids}


def _ask_blender(asked: Mapping[str, tuple[str, CheckMessage]], blender: Blender,
                 timeout: float, cache: CheckCache) -> dict[str, CheckFacts]:
    """Check the files in one worker; a file that ends the worker is reported (not cached)
    and the worker restarted for the next one."""
    if not WORKER_SCRIPT.is_file():
        raise SitegenError(f"the Blender worker is missing: {WORKER_SCRIPT}")
    log_dir = Path(tempfile.mkdtemp(prefix="sitegen-check-"))
    worker = WorkerProcess(blender.command(WORKER_SCRIPT), log_dir, "check")
    found: dict[str, CheckFacts] = {}
    try:
        for model_id, (key, message) in asked.items():
            if not worker.alive():
                worker.start(timeout)
            try:
                answer = worker.ask(message, timeout)
            except WorkerGone as exc:
                found[model_id] = {"error": f"Blender ended while opening it ({exc})"}
                continue
            if answer.get("event") != "checked":
                raise SitegenError(f"checking {Path(message['blend']).name} with Blender "
                                   f"failed: {answer.get('error')}")
            found[model_id] = cast(CheckFacts, {name: answer.get(name) for name in FACTS})
            cache.put(key, found[model_id])
    except WorkerStartError as exc:
        raise SitegenError(f"Blender workers could not start: {blender.shown}: {exc}") from None
    finally:
        worker.stop()
        shutil.rmtree(log_dir, ignore_errors=True)
    return found


def model_problems(catalog: Catalog, model: Model, facts: CheckFacts,
                   version: str | None) -> list[Problem]:
    """What a check's answer says is wrong with a model, placed in its YAML file."""
    file, where = model._where
    name = catalog.blend_path(model).name
    doc: Document | None = catalog.documents.get(file)

    def at(*sub: str | int, message: str) -> Problem:
        path = (*where, *sub)
        return (doc.place(path, message) if doc is not None
                else Problem(file, 1, format_field(path), message))

    if facts.get("error"):
        return [at("blend", message=f"{name} cannot be opened by Blender {version or '?'}: "
                                    f"{facts['error']}")]
    problems = []
    missing = facts.get("missing_objects") or {}
    objects = _names(facts.get("objects") or [], facts.get("object_count"))
    for j, mesh in enumerate(model.meshes):
        for k, obj in enumerate(mesh.object_names):
            why = missing.get(obj)
            if why is None:
                continue
            sub: tuple[str | int, ...] = (("meshes", j) if mesh.objects is None
                                          else ("meshes", j, "objects", k))
            if why == "not in scene":
                text = (f"object {_short(obj)} is in {name} but not in its scene "
                        f"{_short(facts.get('scene'))}")
            else:
                text = f"object {_short(obj)} not found in {name} (objects: {objects})"
            problems.append(at(*sub, message=text))
    missing_views = facts.get("missing_views") or {}
    cameras = _names(facts.get("cameras") or [], facts.get("camera_count"))
    for k, view in enumerate(model.cameras):  # a spin's camera: at its entry in `views`
        why = missing_views.get(view)
        if why is None:
            continue
        text = (f"no camera {_short(view)} in {name} (cameras: {cameras})" if why == "missing"
                else f"{_short(view)} in {name} is a {str(why).lower()} object, not a camera "
                     f"(cameras: {cameras})")
        problems.append(at("views", k, message=text))
    return problems


def _names(names: Sequence[str], total: int | None) -> str:
    """Names for a message, cut: 'a, b, ... (40 in all)'; 'none' when there are none."""
    total = len(names) if total is None else total
    if not total:
        return "none"
    shown = ", ".join(n if len(n) <= NAME_SHOWN else n[:NAME_SHOWN - 3] + "..."
                      for n in names[:LISTED])
    return shown + (f", ... ({total} in all)" if total > min(len(names), LISTED) else "")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= NAME_SHOWN else text[:NAME_SHOWN - 4] + "...'"


