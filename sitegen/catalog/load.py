"""Loading a catalog folder: YAML files -> typed entities, with every problem placed."""

from __future__ import annotations

import os
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sitegen.catalog.check_expansion import check_expansion
from sitegen.catalog.checker import Locator
from sitegen.catalog.images import image_problem
from sitegen.catalog.models import (
    SECTIONS,
    TOP_LEVEL_KEYS,
    Catalog,
    Entity,
    Finish,
    Pattern,
    Site,
)
from sitegen.catalog.source import Document, NodePath, catalog_files, display_path, read_document
from sitegen.catalog.validate import validate_catalog
from sitegen.errors import CatalogError, Problem, SitegenError


def load_catalog(root: Path, *, strict: bool = False) -> tuple[Catalog, list[Problem]]:
    """Load and validate the catalog under `root`.

    Returns the catalog and its warnings; raises CatalogError with every problem found when
    there is any error (or any warning, with `strict`).
    """
    if not root.is_dir():
        raise SitegenError(f"{display_path(root)}: catalog folder not found")
    catalog = Catalog(root.resolve())
    locator = Locator()
    problems: list[Problem] = []
    files = list(catalog_files(root))
    if not files:
        raise SitegenError(f"{display_path(root)}: no *.yaml or *.yml file in the catalog folder")
    for path in files:
        problems += _load_file(path, catalog, locator)
    problems += _resolve_files(catalog, locator)
    catalog.documents = locator.docs
    problems += validate_catalog(catalog, locator, loaded=not any(not p.warning for p in problems))
    problems += check_expansion(catalog, locator, failed=any(not p.warning for p in problems))
    problems.sort()
    if any(not p.warning or strict for p in problems):
        raise CatalogError(problems)
    return catalog, problems


def _load_file(path: Path, catalog: Catalog, locator: Locator) -> list[Problem]:
    doc = read_document(path)
    if isinstance(doc, Problem):
        return [doc]
    locator.docs[doc.shown] = doc
    if doc.data is None:
        return []
    if not isinstance(doc.data, dict):
        return [doc.place((), "a catalog file must be a mapping of sections: "
                          + ", ".join(TOP_LEVEL_KEYS))]
    problems: list[Problem] = []
    for key, value in doc.data.items():
        if key not in TOP_LEVEL_KEYS:
            problems.append(doc.place((str(key),), f"unknown section '{key}' (allowed: "
                                      + ", ".join(TOP_LEVEL_KEYS) + ")"))
        elif key == "site":
            problems += _load_site(doc, value, catalog, locator)
        else:
            problems += _load_section(doc, key, value, catalog, locator)
    return problems


def _load_site(doc: Document, value: Any, catalog: Catalog, locator: Locator) -> list[Problem]:
    previous = catalog.site._where
    if previous[0]:
        other = locator.line(catalog.site)
        return [doc.place(("site",), f"site is defined twice (also at {other}); it may appear "
                          "once")]
    try:
        site = Site.model_validate(value if value is not None else {})
    except ValidationError as exc:
        return _pydantic_problems(doc, ("site",), exc, Site)
    site._where = (doc.shown, ("site",))
    catalog.site = site
    return []


def _load_section(doc: Document, key: str, value: Any, catalog: Catalog,
                  locator: Locator) -> list[Problem]:
    if value is None:
        return []
    model = SECTIONS[key]
    if not isinstance(value, list):
        return [doc.place((key,), f"{key} must be a list of entries, each a mapping with an id")]
    problems: list[Problem] = []
    section = catalog.section(key)
    for index, item in enumerate(value):
        try:
            entity = model.model_validate(item)
        except ValidationError as exc:
            problems += _pydantic_problems(doc, (key, index), exc, model)
            if isinstance(item, dict) and isinstance(item.get("id"), str | int):
                # Known to exist, only broken: references to it are not errors of their own.
                catalog.broken.setdefault(key, set()).add(item["id"])
            continue
        entity._where = (doc.shown, (key, index))
        ident = entity.id  # type: ignore[attr-defined]
        if ident in section:
            other = locator.line(section[ident], "id")
            problems.append(doc.place((key, index, "id"),
                                      f"duplicate id {ident!r} (also defined at {other})"))
            continue
        section[ident] = entity
    return problems


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model whose field set applies at `loc` (the last item: the field name)."""
    current: type[BaseModel] | None = model
    for part in loc[:-1]:
        # List indices and dict keys (`select.Frame`) keep the model found so far.
        if current is not None and isinstance(part, str):
            by_key = _fields(current)
            if part in by_key:
                current = _find_model(current.model_fields[by_key[part]].annotation)
    return current


def _fields(model: type[BaseModel]) -> dict[str, str]:
    """A model's fields as the YAML names them (the alias, where there is one) -> name."""
    return {info.alias or name: name for name, info in model.model_fields.items()}


def _find_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        if arg is types.NoneType:
            continue
        found = _find_model(arg)
        if found is not None:
            return found
    return None


def _pydantic_problems(doc: Document, base: NodePath, exc: ValidationError,
                       model: type[BaseModel]) -> list[Problem]:
    problems = []
    for err in exc.errors():
        # pydantic's own markers ([key], a union's [tag]) are no part of the YAML path.
        loc = tuple(p for p in err["loc"]
                    if not (isinstance(p, str) and p.startswith("[") and p.endswith("]")))
        path = (*base, *loc)
        kind = err["type"]
        if kind == "extra_forbidden":
            owner = _model_at(model, loc)
            allowed = ", ".join(_fields(owner)) if owner else "see CATALOG_FORMAT.md"
            message = f"unknown field '{loc[-1]}' (allowed: {allowed})"
        elif kind == "missing":
            message = f"missing required field '{loc[-1]}'"
        elif kind in ("model_type", "dict_type") and not loc:
            message = f"must be a mapping with the fields: {', '.join(_fields(model))}"
        else:
            message = err["msg"]
            if not err.get("ctx", {}).get("value") and kind not in ("literal_error",):
                message += f" (got {_short(err.get('input'))})"
        problems.append(doc.place(path, message))
    # The same union can fail in several ways at one place: keep the first message per field.
    seen: set[tuple[int, str]] = set()
    unique = []
    for p in problems:
        if (p.line, p.field) not in seen:
            seen.add((p.line, p.field))
            unique.append(p)
    return unique


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _resolve_files(catalog: Catalog, locator: Locator) -> list[Problem]:
    """Check that every named file exists inside the catalog folder; remember its path."""
    problems: list[Problem] = []
    named: list[tuple[Entity, tuple[str, ...], str]] = []
    for model in catalog.models.values():
        named.append((model, ("blend",), model.blend))
    textured: list[Pattern | Finish] = [*catalog.patterns.values(), *catalog.finishes.values()]
    for item in textured:
        for map_name, rel in item.textures.model_dump().items():
            if rel is not None:
                named.append((item, ("textures", map_name), rel))
    root = os.path.realpath(catalog.root)
    for entity, sub, rel in named:
        file, where = entity._where
        base = locator.docs[file].path.parent
        target = os.path.realpath(base / rel)
        if os.path.isabs(rel) or os.path.commonpath([root, target]) != root:
            problems.append(locator.at(entity, *sub, message=f"'{rel}' lies outside the catalog "
                                       f"folder {display_path(catalog.root)}; paths are relative "
                                       "to the YAML file and must stay inside the catalog"))
        elif not os.path.isfile(target):
            problems.append(locator.at(entity, *sub, message=f"file not found: '{rel}' "
                                       f"(looked for {display_path(Path(target))})"))
        elif sub[0] == "textures" and (problem := image_problem(Path(target))) is not None:
            problems.append(locator.at(entity, *sub, message=f"{_named(entity)}'{rel}' is not "
                                       f"a texture Blender can read: {problem}"))
        else:
            catalog.files[(file, (*where, *sub))] = Path(target)
    return problems


def _named(entity: Entity) -> str:
    """`finish 237: ` for a finish (its position in the file says little), else nothing."""
    return f"finish {entity.id}: " if isinstance(entity, Finish) else ""
