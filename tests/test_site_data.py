"""The site's data: ready-set encoding, counts, coverage, the page data of a product."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import base_catalog

from sitegen.errors import SitegenError
from sitegen.expand import expand_product, iter_keys, sketchbook_entries
from sitegen.site import content_security_policy, from_page, ready_by_model, write_site
from sitegen.site.data import (
    colouring_of_key,
    count_ready_from_rows,
    decode_rows,
    encode_bits,
    encode_rows,
    product_coverage,
    product_data,
    ready_rows,
)

Load = Callable[..., Any]


def test_rows_round_trip_in_two_bytes_per_part() -> None:
    rows = [(0, 1, 2), (65535, 0, 7)]
    text = encode_rows(rows)
    assert decode_rows(text, 3) == rows
    import base64

    assert len(base64.b64decode(text)) == 2 * 3 * len(rows)
    assert encode_bits([True, False, False, False, False, False, False, False, True]) == "AQE="


def test_colouring_of_key(load: Load) -> None:
    wood, lino = expand_product(catalog := load(), catalog.products["kino-stool"])
    assert colouring_of_key(lino, "frame-1127_top-0_insert-235_rim-1127") == (1127, 235)
    assert colouring_of_key(wood, "frame-1127_top-0_insert-235_rim-1127") is None
    assert colouring_of_key(lino, "frame-1127_top-0_insert-235_rim-1128") is None  # Frame split
    assert colouring_of_key(lino, "frame-1127_top-0_insert-1127_rim-1127") is None  # not offered


def test_ready_rows_and_counts_match_brute_force(load: Load) -> None:
    cat = base_catalog()
    kinds = cat["products"][0]["kinds"]
    kinds.append({"id": "bare", "parts": [dict(kinds[0]["parts"][0]),
                                          dict(kinds[0]["parts"][1], optional=True)]})
    catalog = load({"c.yaml": cat})
    plans = expand_product(catalog, catalog.products["kino-stool"])
    entries = sketchbook_entries(plans)
    (entry,) = entries
    keys = sorted({k for p in plans for k in iter_keys(p)})
    ready_keys = set(keys[::2])
    ready = ready_rows(plans, entries, ready_keys)
    filters: list[dict[str, list[int]]] = [
        {}, {"Top": [235, 1128]}, {"Top": [0]}, {"Frame": [1140], "Top": [1127, 1140, 0]}]
    for flt in filters:
        expected = set()
        for plan in plans:
            for colouring in itertools.product(*(p.domain for p in plan.parts)):
                key = plan.key(colouring)
                if key in ready_keys and colouring_of_key(plan, key) == colouring and all(
                    colouring[plan.part_names.index(n)] in v if n in plan.part_names
                    else 0 in v for n, v in flt.items()
                ):
                    expected.add(key)
        assert count_ready_from_rows(plans, entry, ready, flt) == len(expected), flt
    # a key of wood-top is also a key of `bare`: listed in both, counted once
    assert any(ready["bare"].duplicate) and not any(ready["wood-top"].duplicate)


def test_product_data_follows_docs(load: Load) -> None:
    catalog = load()
    product = catalog.products["kino-stool"]
    data = product_data(catalog, product, "preview",
                        {"front": {"frame-1127_top-0_insert-235_rim-1127"}}, "../../renders/",
                        {f: f"../../swatches/{f}.png" for f in catalog.finishes})
    assert data["views"] == ["front", "side"] and data["ext"] == "png"
    assert data["entries"] == [{"label": "Wooden top / Linoleum top",
                                "kinds": ["wood-top", "lino-top"], "parts": ["Frame", "Top"],
                                "style_switch": False}]
    lino = data["kinds"]["lino-top"]
    assert lino["parts"][0]["meshes"] == [0, 3] and lino["default"] == [1127, 235]
    assert decode_rows(lino["ready"]["front"], 2) == [(0, 0)]
    assert lino["ready"]["side"] == "" and data["kinds"]["wood-top"]["ready"]["front"] == ""
    assert set(data["finishes"]) == {"1127", "1128", "1140", "235", "236"}


def test_coverage_counts_colourings_ready_in_every_view(load: Load) -> None:
    catalog = load()
    product = catalog.products["kino-stool"]
    key = "frame-1127_top-0_insert-235_rim-1127"
    cover = product_coverage(catalog, product, {"front": {key}, "side": set()})
    assert (cover.allowed, cover.ready) == (15, 0)
    cover = product_coverage(catalog, product, {"front": {key}, "side": {key}})
    assert cover.ready == 1
    frame = dict(cover.parts)["Frame"]
    assert frame[0] == (1127, 1, 5) and sum(a for _, _, a in frame) == 15


def test_ready_by_model_keeps_one_quality() -> None:
    ready = ready_by_model({"q/kino/front/a-1.jpg": 1, "r/kino/front/a-2.jpg": 1}, "q")
    assert ready == {"kino": {"front": {"a-1"}}}


def test_urls_and_csp() -> None:
    assert from_page("renders/", "../../") == "../../renders/"
    assert from_page("https://cdn.example.com/r/", "../../") == "https://cdn.example.com/r/"
    assert from_page("/r/", "../../") == "/r/"
    csp = content_security_policy("https://cdn.example.com/r/")
    assert "script-src 'self'" in csp and "img-src 'self' https://cdn.example.com" in csp
    assert "unsafe-inline" not in csp


def test_write_site_rewrites_nothing_unchanged_and_prunes(tmp_path: Path) -> None:
    out = tmp_path / "build"
    first = write_site({"a.html": b"a", "static/x-1.js": b"x"}, out)
    assert sorted(first.written) == ["a.html", "static/x-1.js"]
    mtime = (out / "a.html").stat().st_mtime_ns
    second = write_site({"a.html": b"a", "static/x-2.js": b"y"}, out)
    assert second.written == ["static/x-2.js"] and second.removed == ["static/x-1.js"]
    assert (out / "a.html").stat().st_mtime_ns == mtime
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "precious.txt").write_text("keep")
    with pytest.raises(SitegenError, match="not made by sitegen build"):
        write_site({"a.html": b"a"}, foreign)
    assert (foreign / "precious.txt").exists()


def test_index_picture_comes_from_the_first_kind_with_a_colouring(load: Load) -> None:
    from sitegen.site import site_files

    cat = base_catalog()
    cat["products"][0]["kinds"][0]["parts"][1]["covered"] = ["fabric"]  # wood-top: none
    catalog = load({"c.yaml": cat})
    key = "frame-1127_top-0_insert-235_rim-1127"
    files = site_files(catalog, "preview", {"kino": {"front": {key}, "side": {key}}})
    assert f"renders/preview/kino/front/{key}.png" in files["index.html"].decode()
    assert f"../../renders/preview/kino/front/{key}.png" in (
        files["products/kino-stool/index.html"].decode())


def test_coverage_percent_rounds_down_and_complete_means_all(load: Load) -> None:
    from sitegen.site import site_files

    catalog = load()
    plans = expand_product(catalog, catalog.products["kino-stool"])
    keys = sorted({k for p in plans for k in iter_keys(p)})
    oak = [k for k in keys if k.startswith("frame-1127_")]  # 5 colourings with Frame 1127
    ready = set(oak[:-1])
    page = site_files(catalog, "preview", {"kino": {"front": ready, "side": ready}}
                      )["coverage.html"].decode()
    assert "4 of 5 <span class=\"percent\">(80%)</span>" in page
    ready = set(keys) - {oak[-1]}  # 14 of 15, and Frame 1127: 4 of 5
    page = site_files(catalog, "preview", {"kino": {"front": ready, "side": ready}}
                      )["coverage.html"].decode()
    # the missing one is Frame 1127 + Top 1140: Frame 1128, 1140 and Top 1127, 1128, 235, 236
    assert page.count('class="is-complete"') == 2 + 4
