"""The command line: output formats, exit statuses, help."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from blender_scenes import KINO
from click.testing import CliRunner
from conftest import ROOT, base_catalog

from sitegen.cli import cli


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sitegen", *args], capture_output=True,
                          text=True, check=False)


def real_kino(root: Path, scenes: Path) -> Path:
    """The catalog at `root` with a kino.blend Blender opens (validate checks the models)."""
    shutil.copyfile(scenes / KINO, root / "kino.blend")
    return root


def test_validate_ok(make_catalog: Callable[..., Path], blender_scenes: Path) -> None:
    root = real_kino(make_catalog(), blender_scenes)
    result = run("--catalog", str(root), "validate")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "catalog valid: 1 products, 2 kinds, 7 finishes, 1 models\n"


def test_validate_invalid_exits_1_without_traceback(make_catalog: Callable[..., Path]) -> None:
    cat = base_catalog()
    cat["products"][0]["kinds"][0]["parts"][1]["covered"] = ["lino"]
    text = yaml.safe_dump(cat, sort_keys=False)
    root = make_catalog({"kino.yaml": text})
    line = text[: text.index("- lino\n")].count("\n") + 1
    result = run("--catalog", str(root), "validate")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"cat/kino.yaml:{line}: products[0].kinds[0].parts[1].covered[0]: unknown nature 'lino' "
        "(known: fabric, linoleum, mdf, wood)",
        "catalog invalid: 1 error(s)",
    ]


def test_strict_makes_warnings_fail(make_catalog: Callable[..., Path],
                                    blender_scenes: Path) -> None:
    cat = base_catalog()
    cat["products"][0]["kinds"][1]["parts"][1]["covered"] = ["fabric"]
    root = real_kino(make_catalog({"c.yaml": cat}), blender_scenes)
    assert run("--catalog", str(root), "validate").returncode == 0
    strict = run("--catalog", str(root), "validate", "--strict")
    assert strict.returncode == 1
    assert ": warning: products[0].kinds[1]: kind 'lino-top' has no allowed colouring" in (
        strict.stderr)


def test_missing_catalog_folder(tmp_path: Path) -> None:
    result = run("--catalog", str(tmp_path / "nope"), "validate")
    assert result.returncode == 1
    assert "catalog folder not found" in result.stderr and "Traceback" not in result.stderr


def test_usage_errors_exit_2(make_catalog: Callable[..., Path]) -> None:
    root = make_catalog()
    assert run("--catalog", str(root), "variants").returncode == 2
    assert run("--catalog", str(root), "variants", "nope").returncode == 2
    bad_kind = run("--catalog", str(root), "variants", "kino-stool", "--kind", "x")
    assert bad_kind.returncode == 2 and "known: wood-top, lino-top" in bad_kind.stderr
    assert run("--catalog", str(root), "frobnicate").returncode == 2


def test_render_colouring_usage_errors_exit_2(make_catalog: Callable[..., Path]) -> None:
    root = make_catalog()

    def render(*args: str) -> subprocess.CompletedProcess[str]:
        return run("--catalog", str(root), "render", "--dry-run", "--renders",
                   str(root.parent / "renders"), *args)

    for args, says in [
        (("--colouring", "Top:235"), "--colouring needs exactly one --product"),
        (("--colouring", "Top:235", "--product", "kino-stool", "--product", "kino-stool"),
         "--colouring needs exactly one --product"),
        (("--colouring", "Top:235", "--product", "kino-stool", "--order", "o"),
         "does not go with --order"),
        (("--kind", "lino-top", "--product", "kino-stool"), "--kind goes with --colouring"),
        (("--colouring", "Top:235", "--product", "kino-stool", "--kind", "x"),
         "unknown kind 'x' of kino-stool (known: wood-top, lino-top)"),
        (("--colouring", "Top:235", "--product", "kino-stool", "--view", "back"),
         "unknown 'back' (known: front, side)"),
    ]:
        result = render(*args)
        assert result.returncode == 2 and says in result.stderr, (args, result.stderr)
    result = render("--colouring", "Top:2001", "--product", "kino-stool")
    assert result.returncode == 1 and result.stderr == (
        "error: finish 2001 (MDF natural) is not offered for Top of kino-stool: Top takes "
        "1127 (Oak natural), 1128 (Oak white), 1140 (Walnut), 235 (Charcoal), "
        "236 (Pistachio)\n")
    result = render("--colouring", "Top:235", "--product", "kino-stool", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {
        "event": "colouring", "product": "kino-stool", "kind": "lino-top",
        "configuration": "Frame:1127-Top:235",
        "addresses": ["preview/kino/front/frame-1127_top-0_insert-235_rim-1127.png",
                      "preview/kino/side/frame-1127_top-0_insert-235_rim-1127.png"],
        "states": {"preview/kino/front/frame-1127_top-0_insert-235_rim-1127.png": "planned",
                   "preview/kino/side/frame-1127_top-0_insert-235_rim-1127.png": "planned"}}


def test_variants_outputs(make_catalog: Callable[..., Path]) -> None:
    root = make_catalog()
    runner = CliRunner()

    def out(*args: str) -> str:
        result = runner.invoke(cli, ["--catalog", str(root), "variants", "kino-stool", *args])
        assert result.exit_code == 0, result.output
        return result.output

    keys = out().splitlines()
    assert keys == sorted(keys) and len(keys) == 15
    assert "frame-1127_top-0_insert-235_rim-1127" in keys
    assert out("--count") == "15\n"
    assert out("--kind", "lino-top", "--count") == "6\n"
    assert out("--default") == ("wood-top frame-1127_top-1127_insert-0_rim-0\n"
                                "lino-top frame-1127_top-0_insert-235_rim-1127\n")
    rows = [json.loads(line) for line in out("--json").splitlines()]
    assert len(rows) == 15
    assert rows[-1] == {"kind": "lino-top", "parts": {"Frame": 1140, "Top": 236},
                        "key": "frame-1140_top-0_insert-236_rim-1140"}


def test_variants_default_of_a_kind_without_colouring(make_catalog: Callable[..., Path]) -> None:
    cat = base_catalog()
    cat["products"][0]["kinds"][1]["parts"][1]["covered"] = ["fabric"]
    root = make_catalog({"c.yaml": cat})
    result = CliRunner().invoke(cli, ["--catalog", str(root), "variants", "kino-stool",
                                      "--default"])
    assert result.output.splitlines()[-1] == "lino-top -"


def test_products_table(make_catalog: Callable[..., Path]) -> None:
    root = make_catalog()
    result = CliRunner().invoke(cli, ["--catalog", str(root), "products"])
    assert result.exit_code == 0
    header, row = result.output.splitlines()
    assert header.split() == ["PRODUCT", "KINDS", "SKETCHBOOK", "ENTRIES", "VIEWS", "COLOURINGS"]
    assert row.split() == ["kino-stool", "wood-top", "(9),", "lino-top", "(6)", "wood-top", "+",
                           "lino-top", "[follows]", "2", "15"]


@pytest.mark.parametrize("command", [[], ["validate"], ["variants"], ["products"], ["render"],
                                     ["status"], ["index", "rebuild"], ["build"], ["serve"],
                                     ["publish"], ["worker"]])
def test_every_command_has_help_with_an_example(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output


def test_demo_catalog_from_the_command_line() -> None:
    result = subprocess.run([sys.executable, "-m", "sitegen", "validate"], cwd=ROOT,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
