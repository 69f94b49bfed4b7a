"""The wire formats as TypedDicts: the Blender worker's JSON lines, farm tasks, page data.

Each protocol also has a JSON Schema shipped with the package (sitegen/schemas/, found with
`schema_path`); the tests check both sides against it, and that its properties and these
TypedDicts name the same keys. blender/worker.py builds and reads the worker's messages as
plain dicts (it runs in Blender's Python and never imports sitegen): blender/README.md is
its description in words.
"""

# No `from __future__ import annotations`: TypedDict's __required_keys__ (which the tests
# compare with the schemas) sees NotRequired only in evaluated annotations.
from pathlib import Path
from typing import Literal, NotRequired, TypedDict

from sitegen.package_data import package_path

SCHEMAS = ("worker", "farm", "page-data")


def schema_path(protocol: str) -> Path:
    """The JSON Schema file of a protocol: "worker", "farm" or "page-data"."""
    return package_path("sitegen.schemas", f"{protocol}.schema.json")


# -- The Blender worker (blender/README.md): host -> worker --------------------------------

class Material(TypedDict):
    """How a finish looks in an `open` message (texture paths absolute, or None)."""

    color: str
    diffuse: str | None
    normal: str | None
    roughness: str | None


# A quality's format -> its pictures' extension.
EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp", "avif": "avif"}
PICTURE_EXTENSIONS = tuple(EXTENSIONS.values())


class Quality(TypedDict):
    """A quality's settings as `open` sends them (the catalog's Quality, dumped)."""

    id: str
    engine: Literal["cycles", "eevee", "workbench"]
    samples: int
    resolution: list[int]
    format: Literal["png", "jpeg", "webp", "avif"]
    jpeg_quality: int
    transparent: bool
    denoise: Literal["off", "fast", "balanced", "high"]
    primary: bool
    layers: bool
    bounce: NotRequired[bool]  # layers carry their neighbours' light (bounce images)
    sizes: NotRequired[list[int]]  # smaller widths made on the host (sitegen.sizes)
    compositing: NotRequired[bool]


class OpenMessage(TypedDict):
    """`open`: load a model file with the materials its renders use."""

    op: Literal["open"]
    blend: str
    meshes: dict[str, list[str]]  # mesh id -> object names
    materials: dict[str, Material]  # finish id (or "neutral") -> material
    quality: Quality
    threads: int
    device: str


class Bounce(TypedDict):
    """A bounce image of a layer (docs/layers.md, "Neighbours' light")."""

    neighbours: list[list[str]]  # each neighbour's meshes, in strip order
    scale: int  # a strip's width and height: the frame's divided by this
    samples: NotRequired[int]  # default: the quality's


class Layer(TypedDict):
    """Which layer a `render` makes (docs/layers.md); absent: the full picture."""

    kind: Literal["backdrop", "part"]
    meshes: NotRequired[list[str]]  # for a part
    crop: NotRequired[bool]  # a part: render only its screen bounds (default true)
    bounce: NotRequired[Bounce]  # the layer's bounce image from a neighbour


class RenderFields(TypedDict):
    """What a `render` message says of a wanted picture (render.render_fields)."""

    view: str  # the camera object (a spin's, for one of its frames)
    values: dict[str, int | str]  # mesh -> finish id, 0 (hidden) or "neutral"
    frame: NotRequired[int]  # a spin's frame, 1..frames (with `frames`)
    frames: NotRequired[int]  # the spin's frame count
    layer: NotRequired[Layer]


class RenderMessage(RenderFields):
    """`render`: one picture of the open model into `out`."""

    op: Literal["render"]
    id: str
    out: str
    progress: NotRequired[bool]  # send ProgressAnswer lines while it renders


class PlainRenderMessage(RenderFields):
    """A `render` message without `progress`: what `{"op": "render", "id": ...,
    **render_fields(w), "out": ...}` builds (the pool, the farm). mypy's strict checks do
    not take that for a RenderMessage: a ** item that may hold other keys cannot stand
    for a non-required key that it does not name. Not in the schema's oneOf (RenderMessage
    covers it)."""

    op: Literal["render"]
    id: str
    out: str


class CheckMessage(TypedDict):
    """`check`: what a model file lacks of the named objects and views."""

    op: Literal["check"]
    blend: str
    objects: list[str]
    views: list[str]


class PingMessage(TypedDict):
    op: Literal["ping"]


class QuitMessage(TypedDict):
    op: Literal["quit"]


WorkerMessage = (OpenMessage | RenderMessage | PlainRenderMessage | CheckMessage | PingMessage
                 | QuitMessage)


# -- The Blender worker: worker -> host ---------------------------------------------------

class ReadyAnswer(TypedDict):
    event: Literal["ready"]
    pid: int
    blender: str


class PongAnswer(TypedDict):
    event: Literal["pong"]


class OpenedAnswer(TypedDict):
    event: Literal["opened"]
    blend: str
    seconds: float
    device: str  # CPU, OPTIX, CUDA, HIP, ONEAPI (Cycles); GPU (EEVEE, Workbench)
    blender: str
    views: list[str]  # the scene's cameras, sorted


class Timings(TypedDict):
    """Seconds of a render's phases (scene_sync and sampling: when the engine says)."""

    sync: float
    render: float
    write: float
    scene_sync: NotRequired[float]
    sampling: NotRequired[float]


class RenderedAnswer(TypedDict):
    event: Literal["rendered"]
    id: str
    out: str
    seconds: float
    bytes: int
    sha256: str
    timings: Timings
    border: NotRequired[list[int]]  # a cropped part layer: x0, y0, x1, y1 (exclusive), pixels


class ProgressAnswer(TypedDict):
    """While a render with `"progress": true` renders, before its answer (at most one per
    0.1 s, each fraction larger than the last): the share of the whole job sampled, 0..1
    (a bounce image's renders count equally). Not an answer: WorkerProcess.ask hands these
    to its `on_progress`."""

    event: Literal["progress"]
    id: str
    fraction: float


class CheckFacts(TypedDict, total=False):
    """What a `checked` answer says of a file, as sitegen.modelcheck caches it (`error`:
    why Blender cannot open it; the rest only when it opens)."""

    error: str | None
    scene: str
    missing_objects: dict[str, str]  # name -> "missing" or "not in scene"
    missing_views: dict[str, str]  # view -> "missing" or the object's type ("MESH")
    objects: list[str]
    object_count: int
    cameras: list[str]
    camera_count: int


class CheckedAnswer(TypedDict):
    event: Literal["checked"]
    blend: str
    blender: str
    error: str | None
    scene: NotRequired[str]
    missing_objects: NotRequired[dict[str, str]]
    missing_views: NotRequired[dict[str, str]]
    objects: NotRequired[list[str]]
    object_count: NotRequired[int]
    cameras: NotRequired[list[str]]
    camera_count: NotRequired[int]


class ErrorAnswer(TypedDict):
    """Any failure (`op` and `id` when the message had them; bad JSON has neither)."""

    event: Literal["error"]
    op: NotRequired[str | None]
    id: NotRequired[str]
    error: str


WorkerAnswer = (ReadyAnswer | PongAnswer | OpenedAnswer | RenderedAnswer | CheckedAnswer
                | ErrorAnswer | ProgressAnswer)  # every line a worker sends


# -- The farm (docs/farm.md): a Celery task's payload and result ---------------------------

class ChunkJob(RenderFields):
    """One job of a chunk: a picture's address, its `render` fields, fingerprint, --force."""

    address: str
    fingerprint: str
    force: bool


class ChunkPayload(TypedDict):
    """The argument of a `sitegen.render_chunk` task: one model at one quality."""

    run: str  # the host's run id (forced jobs count only receipts of their run)
    quality: str
    model: str
    open: OpenMessage  # file paths as `blob:<sha256>/<name>`
    timeout: float
    jobs: list[ChunkJob]


class Receipt(TypedDict):
    """`_receipts/<address>.json`: what a farm task stored."""

    address: str
    fingerprint: str
    run: str
    sha256: str
    bytes: int
    seconds: float
    timings: Timings
    blender: str | None
    worker: str  # the pool process, `<host>-<pid>`
    rendered_at: str  # ISO 8601, UTC


class FarmRendered(Receipt):
    """A picture stored (`skipped`: answered from its receipt, not rendered again)."""

    event: Literal["rendered"]
    skipped: NotRequired[bool]


class FarmFailed(TypedDict):
    event: Literal["failed"]
    address: str
    error: str


class FarmWorkerKilled(TypedDict):
    """A Blender worker that died or hung (its job is retried once)."""

    event: Literal["worker"]
    state: Literal["killed"]
    error: str
    address: str


FarmEvent = FarmRendered | FarmFailed | FarmWorkerKilled


class ChunkResult(TypedDict):
    """A task's result (and, so far, its PROGRESS state's meta)."""

    delivery: int  # how many times the chunk has started
    worker: str
    events: list[FarmEvent]


class FarmWorkerInfo(TypedDict):
    """What a worker answers to the `sitegen_farm` inspect command."""

    processes: int
    threads: int
    device: str
    renders: str
    blender: str
    version: str | None


# -- The page data (docs/site.md): products/<id>/data.json ---------------------------------

class ProductRef(TypedDict):
    id: str
    name: str


class PatternData(TypedDict):
    name: str
    nature: str


class FinishData(TypedDict):
    name: str
    pattern: str
    color: str
    swatch: str  # its swatch's URL, relative to the page
    light: NotRequired[list[float]]  # at a quality with bounce: linear RGB (sitegen.albedo)


class EntryData(TypedDict):
    """One sketchbook entry: kinds shown together."""

    label: str
    kinds: list[str]
    parts: list[str]
    style_switch: bool


class PartData(TypedDict):
    name: str
    meshes: list[int]  # indices into the page's `meshes`
    optional: bool
    source: int | None  # the source part of a charted part
    choices: list[int]
    chart: dict[str, list[int]] | None  # source finish -> choices (charted parts)
    missing: list[int]
    palette: list[int]


class KindData(TypedDict):
    name: str
    entry: int
    parts: list[PartData]
    default: list[int] | None
    allowed: int
    ready: NotRequired[dict[str, str]]  # view -> ready rows, base64 (not layered)
    duplicate: NotRequired[dict[str, str]]  # view -> bitset, base64


class BounceData(TypedDict):
    """At a quality with bounce images (docs/layers.md, "Neighbours' light")."""

    neutral: list[float]  # the neutral grey as light, linear RGB (sitegen.albedo)


class PresenceLayers(TypedDict):
    """The ready layers of one presence pattern (docs/layers.md, "Page data")."""

    backdrop: bool
    parts: dict[str, list[int]]  # meshes joined by "." -> ready finishes
    bounce: NotRequired[list[str]]  # ready bounce images, names without `layer-<presence>-`


class PageData(TypedDict):
    version: int
    product: ProductRef
    model: str
    quality: str
    ext: str
    renders_url: str
    thumb_suffix: str
    resolution: list[int]  # the quality's [width, height]: the full-size picture
    sizes: list[int]  # the smaller widths also stored (`<name>.w<W>.<ext>`), ascending
    views: list[str]
    meshes: list[str]
    patterns: dict[str, PatternData]
    finishes: dict[str, FinishData]
    entries: list[EntryData]
    kinds: dict[str, KindData]
    layers: NotRequired[dict[str, dict[str, PresenceLayers]]]  # view -> presence -> layers
    bounce: NotRequired[BounceData]  # the layers carry their neighbours' light
    spins: NotRequired[dict[str, int]]  # spin id -> frames: views <id>-01..<id>-<N>
