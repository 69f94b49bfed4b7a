"""The house (docs/architecture.md): imports flow one way, and there is no import cycle.

Every module of sitegen has a layer; a module imports only from its own layer or lower
ones, whether at the top of the file or inside a function. A new module must be given a
layer here and a line in docs/architecture.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
from conftest import ROOT

PACKAGE = ROOT / "sitegen"

# Lower layers know nothing of higher ones (docs/architecture.md, "Layers").
LAYERS: dict[str, int] = {
    # 0: shared vocabulary, no domain
    "sitegen": 0, "sitegen.errors": 0, "sitegen.cache": 0, "sitegen.package_data": 0,
    "sitegen.sizes": 0,
    "sitegen.protocol": 0, "sitegen.schemas": 0, "sitegen.constraints": 0,
    "sitegen.store.records": 0, "sitegen.s3_client": 0,
    # 1-4: the catalog, its expansion and the plan (pure)
    "sitegen.catalog.models": 1, "sitegen.catalog.source": 1, "sitegen.catalog": 1,
    "sitegen.catalog.checker": 2, "sitegen.catalog.images": 2, "sitegen.catalog.validate": 2,
    "sitegen.expand": 2,
    "sitegen.catalog.check_expansion": 3, "sitegen.layers": 3, "sitegen.configuration": 3,
    "sitegen.catalog.load": 4, "sitegen.plan": 4, "sitegen.albedo": 4,
    # 5: the store
    "sitegen.store.protocol": 5, "sitegen.store.folder": 5, "sitegen.store": 5,
    "sitegen.store.s3": 5, "sitegen.store.s3.objects": 5, "sitegen.store.s3.uploads": 5,
    "sitegen.store.s3.index": 5, "sitegen.store.s3.lock": 5,
    # 6: rendering
    "sitegen.render.blender": 6, "sitegen.render.workers": 6, "sitegen.render": 6,
    "sitegen.modelcheck": 6, "sitegen.farm": 6, "sitegen.verify": 6,
    "sitegen.render.ondemand": 6,
    # 7-8: the site, then publishing it
    "sitegen.site.data": 7, "sitegen.site.write": 7, "sitegen.site": 7, "sitegen.site.serve": 7,
    "sitegen.site.studio": 7,
    "sitegen.publish": 8,
    # 9: the command line, which only parses, calls a stage and prints
    "sitegen.cli": 9, "sitegen.cli.options": 9, "sitegen.cli.output": 9,
    "sitegen.cli.catalog": 9, "sitegen.cli.render": 9, "sitegen.cli.farm": 9,
    "sitegen.cli.site": 9, "sitegen.cli.publish": 9, "sitegen.__main__": 9,
}


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def import_graph() -> nx.DiGraph:
    """Module -> the sitegen modules it imports, anywhere in the file."""
    known = modules()
    graph = nx.DiGraph()
    graph.add_nodes_from(known)
    for name, path in known.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{path}: relative import (sitegen imports absolutely)"
                base = node.module or ""
                targets = [base, *(f"{base}.{a.name}" for a in node.names)]
            for target in targets:
                if target in known and target != name:
                    graph.add_edge(name, target)
    return graph


def test_every_module_has_a_layer() -> None:
    assert sorted(set(modules()) - set(LAYERS)) == []  # give a new module a layer
    assert sorted(set(LAYERS) - set(modules())) == []  # a module that is gone


def test_imports_go_down_the_layers_only() -> None:
    graph = import_graph()
    upward = [(a, b) for a, b in graph.edges if LAYERS[b] > LAYERS[a]]
    assert upward == []


def test_no_import_cycle_even_through_imports_inside_functions() -> None:
    assert list(nx.simple_cycles(import_graph())) == []


def test_blender_side_code_never_imports_sitegen() -> None:
    for path in (ROOT / "blender").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.split(".")[0] in ("sitegen", "yaml") for n in names), path
