"""The sketchbook's pure modules (templates/static/model.js, state.js), tested in node.

The tests are node:test files under tests/js/. The page's modules are plain ES modules
named `.js`, which node reads as ES modules only inside a `"type": "module"` package: they
are copied, as they are, into a temporary one next to the tests, which import them from
`../static/`.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT
from programs import need_node

STATIC = ROOT / "templates" / "static"
TESTS = ROOT / "tests" / "js"


@pytest.mark.parametrize("name", sorted(p.name for p in TESTS.glob("*.test.mjs")))
def test_sketchbook_module(name: str, tmp_path: Path) -> None:
    """One node:test file passes: every test in it, with node's report on failure."""
    node = str(need_node())
    static = tmp_path / "static"
    static.mkdir()
    for module in STATIC.glob("*.js"):
        shutil.copyfile(module, static / module.name)
    (static / "package.json").write_text('{"type": "module"}\n')
    shutil.copytree(TESTS, tmp_path / "js")
    result = subprocess.run([node, "--test", "--test-reporter=tap", f"js/{name}"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout and "# pass 0" not in result.stdout
