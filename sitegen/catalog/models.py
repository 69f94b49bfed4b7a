"""The catalog's entities as pydantic models: the shape of each YAML section, field by field."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr
from pydantic_core import PydanticCustomError

SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
NAME_RE = re.compile(r"^[a-z][a-z0-9]*$")
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
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
    format: Literal["png", "jpeg", "webp"]
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
        return {"png": "png", "jpeg": "jpg", "webp": "webp"}[self.format]


def _mesh_short_form(value: Any) -> Any:
    # `- frame` is short for `- {id: frame, objects: [frame]}`.
    return {"id": value} if isinstance(value, str) else value


class Mesh(Entity):
    id: MeshId
    objects: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)] | None = None

    @property
    def object_names(self) -> list[str]:
        return self.objects if self.objects is not None else [self.id]


class Model(Entity):
    id: Slug
    blend: str
    meshes: Annotated[list[Annotated[Mesh, BeforeValidator(_mesh_short_form)]],
                      Field(min_length=1)]
    views: Annotated[list[MeshId], Field(min_length=1)] = Field(default_factory=lambda: ["main"])

    @property
    def mesh_ids(self) -> list[str]:
        return [m.id for m in self.meshes]


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
    views: list[MeshId] | None = None
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
