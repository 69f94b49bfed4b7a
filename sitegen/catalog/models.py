"""The catalog's entities as pydantic models: the shape of each YAML section, field by field."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
)
from pydantic_core import PydanticCustomError

from sitegen.protocol import EXTENSIONS

SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
NAME_RE = re.compile(r"^[a-z][a-z0-9]*$")
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
# A name in an order's `views`: a view or spin id, or one frame of a spin (`spin-07`).
VIEW_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[0-9]+)?$")
MAX_SPIN_FRAMES = 360
MAX_FINISH_ID = 2**31 - 1


def _check_slug(value: str) -> str:
    if len(value) > 64 or not SLUG_RE.match(value):
        raise PydanticCustomError(
            "slug",
            "'{value}' is not a valid id: lowercase letters and digits in words joined by "
            "single dashes, at most 64 characters",
            {"value": value},
        )
    return value


def _check_name(value: str) -> str:
    if len(value) > 32 or not NAME_RE.match(value):
        raise PydanticCustomError(
            "mesh_id",
            "'{value}' is not a valid mesh or view id: a lowercase letter, then lowercase "
            "letters and digits, at most 32 characters",
            {"value": value},
        )
    return value


def _check_view_name(value: str) -> str:
    if len(value) > 40 or not VIEW_NAME_RE.match(value):
        raise PydanticCustomError(
            "view_name",
            "'{value}' is not a view name: a view or spin id (a lowercase letter, then "
            "lowercase letters and digits), or a spin's frame such as spin-07",
            {"value": value},
        )
    return value


def _check_part_name(value: str) -> str:
    if not 1 <= len(value) <= 40 or not all(c.isalnum() or c == " " for c in value) or (
        not value.strip()
    ):
        raise PydanticCustomError(
            "part_name",
            "'{value}' is not a valid part name: 1 to 40 letters, digits and spaces",
            {"value": value},
        )
    return value


def _check_color(value: str) -> str:
    if not COLOR_RE.match(value):
        raise PydanticCustomError(
            "color", "'{value}' is not a colour: use #rrggbb, e.g. \"#c8a27a\"", {"value": value}
        )
    return value.lower()


Slug = Annotated[str, AfterValidator(_check_slug)]
MeshId = Annotated[str, AfterValidator(_check_name)]
ViewName = Annotated[str, AfterValidator(_check_view_name)]
PartName = Annotated[str, AfterValidator(_check_part_name)]
Color = Annotated[str, AfterValidator(_check_color)]
FinishId = Annotated[int, Field(ge=1, le=MAX_FINISH_ID)]
MapMode = Literal["pattern", "finish"]
MAPS = ("diffuse", "normal", "roughness")


class Entity(BaseModel):
    """Base of every catalog model: unknown fields and loose types are errors."""

    model_config = ConfigDict(extra="forbid", strict=True)

    # Where the entity was defined: the file (as shown to users) and its path in that file.
    _where: tuple[str, tuple[str | int, ...]] = PrivateAttr(default=("", ()))


_LABEL = r"[a-z0-9]([a-z0-9-]*[a-z0-9])?"
ORIGIN_RE = re.compile(rf"^(?P<scheme>https?)://(?P<host>{_LABEL}(\.{_LABEL})*|\[[0-9a-f:.]+\])"
                       r"(:(?P<port>[0-9]{1,5}))?/?$", re.IGNORECASE)
DEFAULT_PORTS = {"http": 80, "https": 443}


def _check_origin(value: str) -> str:
    """An origin written as a browser's Origin header has it (`https://shop.example.com`:
    lowercase, no default port, no '/'), or `*`."""
    match = ORIGIN_RE.match(value)
    port = int(match["port"]) if match and match["port"] else None
    if value != "*" and (match is None or port is not None and not 0 < port < 65536):
        raise PydanticCustomError(
            "origin",
            "'{value}' is not an origin: http:// or https://, a host and an optional port, "
            "no path (e.g. https://shop.example.com, http://localhost:8080), or '*' for every "
            "origin",
            {"value": value},
        )
    if match is None:
        return value
    scheme = match["scheme"].lower()
    shown_port = f":{port}" if port is not None and port != DEFAULT_PORTS[scheme] else ""
    return f"{scheme}://{match['host'].lower()}{shown_port}"


def _check_origins(values: list[str]) -> list[str]:
    if "*" in values and len(set(values)) > 1:
        raise PydanticCustomError(
            "origins", "'*' allows every origin: list it alone, or list the origins", {})
    return list(dict.fromkeys(values))  # the same origin written twice: once


Origin = Annotated[str, AfterValidator(_check_origin)]


class Publish(Entity):
    """Defaults for `sitegen publish` (every one can be overridden on the command line)."""

    bucket: Annotated[str, Field(min_length=3, max_length=63, pattern=r"^[a-z0-9][a-z0-9.-]*$")]
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    max_deletes: Annotated[int, Field(ge=0)] = 256
    invalidate: str | None = None  # a CloudFront distribution id
    # Origins whose pages may load the site (embed.js, data, pictures): the bucket's CORS
    # rules. None: publish leaves the bucket's CORS alone; []: it removes its rules.
    cors: Annotated[list[Origin], AfterValidator(_check_origins)] | None = None


class Site(Entity):
    title: str = "Sketchbook"
    base_url: str = ""
    renders_url: str = "renders/"
    publish: Publish | None = None


class Nature(Entity):
    id: Slug
    name: str | None = None


class Maps(Entity):
    diffuse: MapMode = "finish"
    normal: MapMode = "finish"
    roughness: MapMode = "finish"


class Textures(Entity):
    diffuse: str | None = None
    normal: str | None = None
    roughness: str | None = None


class Pattern(Entity):
    id: Slug
    nature: Slug
    name: str | None = None
    maps: Maps = Field(default_factory=Maps)
    textures: Textures = Field(default_factory=Textures)


class Finish(Entity):
    id: FinishId
    pattern: Slug
    name: str | None = None
    color: Color
    textures: Textures = Field(default_factory=Textures)
    archived: bool = False

    @property
    def label(self) -> str:
        return self.name or str(self.id)


class Limitation(Entity):
    id: Slug
    name: str | None = None
    patterns: list[Slug] = Field(default_factory=list)
    finishes: list[FinishId] = Field(default_factory=list)


class Colorchart(Entity):
    id: Slug
    name: str | None = None
    map: dict[FinishId, list[FinishId]]


def _denoise_boolean(value: Any) -> Any:
    # YAML 1.1 reads an unquoted `off` (and `no`, `false`) as a boolean: it means "off".
    if value is False:
        return "off"
    if value is True:
        raise PydanticCustomError(
            "denoise_boolean", "a YAML boolean (yes, on, true) is not a denoising level: "
            "write one of 'off', 'fast', 'balanced', 'high'")
    return value


class Quality(Entity):
    id: Slug
    engine: Literal["cycles", "eevee", "workbench"]
    samples: Annotated[int, Field(ge=1, le=1_000_000)] = 64
    resolution: Annotated[list[Annotated[int, Field(ge=1, le=65536)]], Field(min_length=2,
                                                                              max_length=2)]
    # avif: a project extension of the format (docs/catalog-readings.md), lossy at
    # jpeg_quality, written by Pillow in the worker (Blender does not write AVIF).
    format: Literal["png", "jpeg", "webp", "avif"]
    jpeg_quality: Annotated[int, Field(ge=1, le=100)] = 90
    transparent: bool = False
    denoise: Annotated[Literal["off", "fast", "balanced", "high"],
                       BeforeValidator(_denoise_boolean)] = "fast"
    primary: bool = False
    layers: bool = False
    # Layers that carry their neighbours' light (docs/layers.md, "Neighbours' light"):
    # a project extension of the format, only with layers: true.
    bounce: bool = False
    # Smaller widths also made from each picture (CATALOG_FORMAT.md 1.1, sitegen/sizes.py);
    # validate checks each is below the resolution's width, none twice.
    sizes: list[Annotated[int, Field(ge=1, le=65536)]] = Field(default_factory=list)

    @property
    def ext(self) -> str:
        return EXTENSIONS[self.format]


def _mesh_short_form(value: Any) -> Any:
    # `- frame` is short for `- {id: frame, objects: [frame]}`.
    return {"id": value} if isinstance(value, str) else value


class Mesh(Entity):
    id: MeshId
    objects: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)] | None = None

    @property
    def object_names(self) -> list[str]:
        return self.objects if self.objects is not None else [self.id]


def frame_name(spin: str, frame: int, frames: int) -> str:
    """A spin's frame as a view name: `spin-07` (as many digits as `frames` has)."""
    return f"{spin}-{frame:0{len(str(frames))}d}"


class Spin(Entity):
    """A view entry `{id: spin, frames: N}`: N views `spin-01`..`spin-N`, each seen by the
    camera object `spin` (CATALOG_FORMAT.md, "Spins"; docs/catalog-readings.md)."""

    id: MeshId
    frames: Annotated[int, Field(ge=2, le=MAX_SPIN_FRAMES)]

    @property
    def names(self) -> list[str]:
        """The frames' view names, frame 1 first."""
        return [frame_name(self.id, f, self.frames) for f in range(1, self.frames + 1)]

    @property
    def span(self) -> str:
        """The frames for a message: `spin-01..spin-24`."""
        return f"{frame_name(self.id, 1, self.frames)}..{self.names[-1]}"


class SpinFrame(NamedTuple):
    """One frame of a spin: its camera object, the frame (1..frames) and the frame count."""

    camera: str
    frame: int
    frames: int


def _view_kind(value: Any) -> str:
    return "[spin]" if isinstance(value, dict) else "[view]"


# A model's view entry: a view id, or a spin. The tags are in pydantic's error locations
# between brackets; the loader drops them, so errors read `views[1].frames`.
ViewEntry = Annotated[Annotated[MeshId, Tag("[view]")] | Annotated[Spin, Tag("[spin]")],
                      Discriminator(_view_kind)]


def _default_views() -> list[str | Spin]:
    return ["main"]


class Model(Entity):
    id: Slug
    blend: str
    meshes: Annotated[list[Annotated[Mesh, BeforeValidator(_mesh_short_form)]],
                      Field(min_length=1)]
    # The YAML's `views` as written; `views` (below) is every view name, frames included.
    entries: Annotated[list[ViewEntry], Field(min_length=1)] = Field(
        default_factory=_default_views, alias="views")

    @property
    def mesh_ids(self) -> list[str]:
        return [m.id for m in self.meshes]

    @cached_property
    def views(self) -> list[str]:
        """Every view name in order, a spin's frames in its place (`front`, `spin-01`, ...)."""
        return [name for entry in self.entries
                for name in ([entry] if isinstance(entry, str) else entry.names)]

    @cached_property
    def _frames(self) -> dict[str, SpinFrame]:
        return {name: SpinFrame(entry.id, f, entry.frames)
                for entry in self.entries if isinstance(entry, Spin)
                for f, name in enumerate(entry.names, 1)}

    @property
    def cameras(self) -> list[str]:
        """The camera objects the views are seen by: view ids and spin ids, in order."""
        return [entry if isinstance(entry, str) else entry.id for entry in self.entries]

    @property
    def spins(self) -> dict[str, Spin]:
        """The model's spins by id."""
        return {e.id: e for e in self.entries if isinstance(e, Spin)}

    def spin_frame(self, view: str) -> SpinFrame | None:
        """The spin frame a view name is (None for a plain view)."""
        return self._frames.get(view)

    def camera_of(self, view: str) -> tuple[str, int | None, int | None]:
        """A view name's camera object, frame and frame count (None, None: a plain view).
        KeyError for a name that is not one of the model's views."""
        spin = self._frames.get(view)
        if spin is not None:
            return spin
        if view in self.cameras and view not in self.spins:
            return view, None, None
        raise KeyError(view)

    def views_of(self, name: str) -> list[str]:
        """The view names `name` stands for: a view, a frame, or a spin id (all its frames);
        [] when it names none of the model's views."""
        spin = self.spins.get(name)
        if spin is not None:
            return spin.names
        return [name] if name in self._frames or name in self.cameras else []

    def expand_views(self, names: list[str]) -> list[str]:
        """Names as an order or `--view` gives them -> view names, each once, in order."""
        return list(dict.fromkeys(v for name in names for v in self.views_of(name)))

    @property
    def view_choices(self) -> list[str]:
        """The views for a message, a spin as its span: `front, spin-01..spin-24`."""
        return [e if isinstance(e, str) else e.span for e in self.entries]


class Part(Entity):
    part: PartName
    covered: Annotated[list[Slug], Field(min_length=1)]
    meshes: Annotated[list[MeshId], Field(min_length=1)]
    default: FinishId | None = None
    optional: bool = False
    limited: Slug | None = None
    colorchart: Slug | None = None
    source: PartName | None = None


class Kind(Entity):
    id: Slug
    name: str | None = None
    parts: Annotated[list[Part], Field(min_length=1)]

    @property
    def label(self) -> str:
        return self.name or self.id


class Product(Entity):
    id: Slug
    name: str | None = None
    model: Slug
    render: Literal["all", "default"] = "all"
    kinds: Annotated[list[Kind], Field(min_length=1)]

    @property
    def label(self) -> str:
        return self.name or self.id


class Selector(Entity):
    finishes: list[FinishId] = Field(default_factory=list)
    patterns: list[Slug] = Field(default_factory=list)


class Order(Entity):
    id: Slug
    product: Slug
    quality: Slug | None = None
    # View ids, spin ids (all their frames) or single frames (`spin-07`).
    views: list[ViewName] | None = None
    select: dict[str, Selector] = Field(default_factory=dict)


# Section name -> the model of its items, in the order sections are checked.
SECTIONS: dict[str, type[Entity]] = {
    "natures": Nature,
    "patterns": Pattern,
    "finishes": Finish,
    "limitations": Limitation,
    "colorcharts": Colorchart,
    "qualities": Quality,
    "models": Model,
    "products": Product,
    "orders": Order,
}
TOP_LEVEL_KEYS = ("site", *SECTIONS)


class Catalog:
    """A loaded, valid catalog: every section as an ordered mapping id -> entity."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.site = Site()
        self.natures: dict[str, Nature] = {}
        self.patterns: dict[str, Pattern] = {}
        self.finishes: dict[int, Finish] = {}
        self.limitations: dict[str, Limitation] = {}
        self.colorcharts: dict[str, Colorchart] = {}
        self.qualities: dict[str, Quality] = {}
        self.models: dict[str, Model] = {}
        self.products: dict[str, Product] = {}
        self.orders: dict[str, Order] = {}
        # Absolute paths of the files the catalog names (blend files, textures), by the
        # (file, path) of the field that names them.
        self.files: dict[tuple[str, tuple[str | int, ...]], Path] = {}
        # Ids of entries that failed to load, by section: not reported again as unknown.
        self.broken: dict[str, set[Any]] = {}
        # Results of pure functions of this catalog, computed once (see sitegen.expand).
        self.memo: dict[Any, Any] = {}
        # The YAML documents it was loaded from, by shown path: later checks (the models'
        # check with Blender) place their problems with them.
        self.documents: dict[str, Any] = {}

    def section(self, name: str) -> dict[Any, Any]:
        """The mapping for a section name ("finishes", ...)."""
        return getattr(self, name)  # type: ignore[no-any-return]

    @property
    def primary_quality(self) -> Quality:
        """The quality the sketchbook shows."""
        return next(q for q in self.qualities.values() if q.primary)

    def nature_of(self, finish: Finish) -> str:
        """The nature id of a finish (through its pattern)."""
        return self.patterns[finish.pattern].nature

    def blend_path(self, model: Model) -> Path:
        """The absolute path of a model's .blend file."""
        file, where = model._where
        return self.files[(file, (*where, "blend"))]

    def texture_path(self, entity: Pattern | Finish, map_name: str) -> Path | None:
        """The absolute path of a pattern's or finish's texture for one map, if any."""
        file, where = entity._where
        return self.files.get((file, (*where, "textures", map_name)))
