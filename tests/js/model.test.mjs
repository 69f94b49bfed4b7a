// The sketchbook's pure model (templates/static/model.js), run in node: the catalog's rules
// for choices and charts, the kind a selection follows, the nearest ready colouring, counts
// and picture addresses. Driven by tests/test_sketchbook_js.py.

import assert from "node:assert/strict";
import { test } from "node:test";

import { Model, chooseWidth, exact, showsStyleSwitch, sizedUrl, srcsetOf, toFilter, viewName } from "../static/model.js";
import { PAGE, stoolData, stoolValues } from "./fixture.mjs";

const model = (options) => new Model(stoolData(options), PAGE);
const plain = (values) => Object.fromEntries(values);
const stateOf = (m, kind, parts, view = "front") => ({
  entry: m.kinds.get(kind).entry, kind: m.kinds.get(kind), values: stoolValues(parts), view,
});

test("page data that is not a sketchbook is refused", () => {
  assert.throws(() => new Model({ kinds: {} }, PAGE), /not a sketchbook/);
  assert.throws(() => new Model(null, PAGE), /not a sketchbook/);
});

test("kinds are grouped into their entries; renders_url is resolved against the page", () => {
  const m = model();
  assert.deepEqual(m.entries.map((e) => e.kinds.map((k) => k.id)), [["wood", "lino"], ["bench"]]);
  assert.equal(m.kinds.get("lino").entry, 0);
  assert.equal(m.kinds.get("bench").entry, 1);
  assert.equal(m.rendersBase, "https://shop.example/sketch/renders/");
  assert.equal(m.layers, null);
});

test("a charted part's choices follow its source (chart, else missing; [0] when removed)", () => {
  const m = model();
  const lino = m.kinds.get("lino");
  assert.deepEqual(m.choicesOf(lino, 2, new Map([["Top", 10]])), [20]);
  assert.deepEqual(m.choicesOf(lino, 2, new Map([["Top", 11]])), [20, 21]);
  assert.deepEqual(m.choicesOf(lino, 2, new Map([["Top", 12]])), []); // not in the chart
  assert.deepEqual(m.choicesOf(lino, 2, new Map([["Top", 0]])), [0]);
  assert.deepEqual(m.choicesOf(lino, 1, new Map()), [10, 11]); // a plain part: rule 2
});

test("resolve keeps what is still allowed, else takes the default or the first choice", () => {
  const m = model();
  const lino = m.kinds.get("lino");
  const none = new Set();
  // Everything allowed: kept.
  assert.deepEqual(plain(m.resolve(lino, stoolValues({ Frame: 2, Top: 11, Rim: 21 }), none)),
    { Frame: 2, Top: 11, Rim: 21 });
  // The rim no longer fits the top: the chart's first choice.
  assert.deepEqual(plain(m.resolve(lino, stoolValues({ Frame: 2, Top: 10, Rim: 21 }), none)),
    { Frame: 2, Top: 10, Rim: 20 });
  // A wooden top does not fit the lino kind: its default top, then the rim the chart gives.
  assert.deepEqual(plain(m.resolve(lino, stoolValues({ Frame: 2, Top: 1 }), none)),
    { Frame: 2, Top: 10, Rim: 20 });
  // A fixed part must keep its value, or nothing fits.
  assert.equal(m.resolve(lino, stoolValues({ Top: 10, Rim: 21 }), new Set(["Rim"])), null);
  // A part the kind lacks is 0 there: fixing it to anything else fits nothing.
  const wood = m.kinds.get("wood");
  assert.equal(m.resolve(wood, stoolValues({ Rim: 20 }), new Set(["Rim"])), null);
  assert.deepEqual(plain(m.resolve(wood, stoolValues({ Frame: 2, Top: 2, Rim: 0 }), new Set(["Rim"]))),
    { Frame: 2, Top: 2, Rim: 0 });
});

test("the entry starts on the default of its first kind with one", () => {
  const m = model();
  const start = m.entryDefault(m.entries[0], "side");
  assert.equal(start.kind.id, "wood");
  assert.equal(start.view, "side");
  assert.deepEqual(plain(start.values), { Frame: 1, Top: 1, Rim: 0 });
  const data = stoolData();
  data.kinds.wood.default = null; // no colouring: the next kind's default
  const m2 = new Model(data, PAGE);
  assert.equal(m2.entryDefault(m2.entries[0], "front").kind.id, "lino");
});

test("picking a finish follows the kind that changes fewest other parts", () => {
  const m = model();
  const wood = stateOf(m, "wood", { Frame: 2, Top: 1 });
  // A lino top only exists in the lino kind: the frame is kept, the rim is the chart's.
  const lino = m.fitPick(wood, "Top", 11);
  assert.equal(lino.kind.id, "lino");
  assert.deepEqual(plain(lino.values), { Frame: 2, Top: 11, Rim: 20 });
  // Back to a wooden top: the wood kind again, the rim gone.
  const back = m.fitPick(lino, "Top", 2);
  assert.equal(back.kind.id, "wood");
  assert.deepEqual(plain(back.values), { Frame: 2, Top: 2, Rim: 0 });
  // A frame both kinds have: the current kind stays.
  assert.equal(m.fitPick(lino, "Frame", 1).kind.id, "lino");
  assert.equal(m.fitPick(wood, "Frame", 1).kind.id, "wood");
  // A finish no kind allows for the part.
  assert.equal(m.fitPick(wood, "Top", 30), null);
});

test("with a style switch, palettes show (and picks stay in) the current kind only", () => {
  const m = model({ styleSwitch: true });
  assert.equal(showsStyleSwitch(m.entries[0]), true);
  assert.equal(showsStyleSwitch(m.entries[1]), false);
  const wood = stateOf(m, "wood", { Frame: 1, Top: 1 });
  assert.equal(m.fitPick(wood, "Top", 11), null);
  assert.deepEqual(m.partPalette(wood, "Top"), { visible: true, values: [1, 2], optional: false, absent: false });
  assert.equal(m.partPalette(wood, "Rim").visible, false); // the wood kind has no rim
});

test("a part's palette: the union over the kinds, 0 where a kind lacks it, charts by source", () => {
  const m = model();
  const lino10 = stateOf(m, "lino", { Frame: 1, Top: 10, Rim: 20 });
  assert.deepEqual(m.partPalette(lino10, "Top").values, [1, 2, 10, 11]);
  // The wooden kind lacks the rim: 0 is a choice (it switches kind).
  assert.deepEqual(m.partPalette(lino10, "Rim"), { visible: true, values: [20, 0], optional: false, absent: true });
  const lino11 = stateOf(m, "lino", { Frame: 1, Top: 11, Rim: 21 });
  assert.deepEqual(m.partPalette(lino11, "Rim").values, [20, 21, 0]);
  // A charted part whose chart gives one finish is not asked about; several are.
  const switched = model({ styleSwitch: true });
  assert.deepEqual(switched.partPalette(stateOf(switched, "lino", { Frame: 1, Top: 10, Rim: 20 }), "Rim"),
    { visible: false, values: [20], optional: false, absent: false });
  assert.deepEqual(switched.partPalette(stateOf(switched, "lino", { Frame: 1, Top: 11, Rim: 20 }), "Rim"),
    { visible: true, values: [20, 21], optional: false, absent: false });
});

test("picture keys and addresses: every mesh of the model, thumbnails by suffix", () => {
  const m = model();
  const s = stateOf(m, "lino", { Frame: 2, Top: 11, Rim: 21 });
  assert.equal(m.keyOf(s.kind, s.values), "frame-2_top-11_rim-21_seat-0");
  assert.deepEqual(m.pictureUrls(s.kind, s.values, "side"),
    ["https://shop.example/sketch/renders/preview/kino/side/frame-2_top-11_rim-21_seat-0.jpg"]);
  assert.equal(m.pictureUrl(s.kind, s.values, "front", true),
    "https://shop.example/sketch/renders/preview/kino/front/frame-2_top-11_rim-21_seat-0.thumb.webp");
});

test("isReady looks the colouring up in its kind's ready set, per view", () => {
  const m = model();
  assert.equal(m.isReady(m.kinds.get("wood"), stoolValues({ Frame: 2, Top: 2 }), "front"), true);
  assert.equal(m.isReady(m.kinds.get("wood"), stoolValues({ Frame: 2, Top: 2 }), "side"), false);
  assert.equal(m.isReady(m.kinds.get("wood"), stoolValues({ Frame: 1, Top: 2 }), "front"), false);
  assert.equal(m.isReady(m.kinds.get("lino"), stoolValues({ Frame: 1, Top: 11, Rim: 21 }), "side"), true);
  // A value outside the palette is never ready.
  assert.equal(m.isReady(m.kinds.get("wood"), stoolValues({ Frame: 1, Top: 10 }), "front"), false);
});

test("the nearest ready colouring: fewest parts differing, within the entry and view", () => {
  const m = model();
  // One part away in the same kind.
  let near = m.nearestReady(stateOf(m, "wood", { Frame: 1, Top: 2 }), "front");
  assert.equal(near.kind.id, "wood");
  assert.deepEqual(plain(near.values), { Frame: 2, Top: 2, Rim: 0 });
  // The lino picture is three parts away, the wooden one two (top, and the rim it lacks).
  near = m.nearestReady(stateOf(m, "lino", { Frame: 2, Top: 11, Rim: 21 }), "front");
  assert.equal(near.kind.id, "wood");
  assert.deepEqual(plain(near.values), { Frame: 2, Top: 2, Rim: 0 });
  // In the side view only a lino picture is ready.
  near = m.nearestReady(stateOf(m, "wood", { Frame: 2, Top: 2 }), "side");
  assert.equal(near.kind.id, "lino");
  assert.deepEqual(plain(near.values), { Frame: 1, Top: 11, Rim: 21 });
  // Nothing ready in the entry: null.
  const bare = model({ ready: { wood: { front: [], side: [] }, lino: { front: [], side: [] } } });
  assert.equal(bare.nearestReady(stateOf(bare, "wood", { Frame: 1, Top: 1 }), "front"), null);
});

test("with a style switch, the other kind counts as one more difference", () => {
  // lino Frame 2, Top 10, Rim 20 (not ready): the lino picture (Frame 1) is one part away;
  // the wooden one (Frame 2, Top 2) two parts (top, rim) and, switched, one more.
  const rows = { wood: { front: [[1, 1]], side: [] }, lino: { front: [[0, 0, 0]], side: [] } };
  for (const styleSwitch of [false, true]) {
    const m = model({ ready: rows, styleSwitch });
    const near = m.nearestReady(stateOf(m, "lino", { Frame: 2, Top: 10, Rim: 20 }), "front");
    assert.equal(near.kind.id, "lino");
  }
  // wood Frame 1, Top 1: the wooden picture is two parts away, the lino one two (top, rim):
  // a tie goes to the current kind; switched, the lino one is three away.
  for (const styleSwitch of [false, true]) {
    const m = model({ ready: rows, styleSwitch });
    const near = m.nearestReady(stateOf(m, "wood", { Frame: 1, Top: 1 }), "front");
    assert.equal(near.kind.id, "wood", `style switch ${styleSwitch}`);
    assert.deepEqual(plain(near.values), { Frame: 2, Top: 2, Rim: 0 });
  }
});

test("counts: filters per part, a lacking part matches only 0, duplicates once", () => {
  const m = model();
  const entry = m.entries[0];
  assert.equal(m.count(entry, "front", toFilter({})), 2);
  assert.equal(m.count(entry, "front", toFilter({ Top: [2, 10] })), 2);
  assert.equal(m.count(entry, "front", toFilter({ Top: ["2"] })), 1); // ids as strings too
  assert.equal(m.count(entry, "front", toFilter({ Rim: [0] })), 1); // the wooden one
  assert.equal(m.count(entry, "front", toFilter({ Rim: [20] })), 1);
  assert.equal(m.count(entry, "front", toFilter({ Rim: [0, 20], Frame: [1] })), 1);
  assert.equal(m.count(entry, "side", toFilter(new Map([["Frame", [2]]]))), 0);
  const data = stoolData({ ready: { lino: { front: [[0, 0, 0], [1, 1, 1]], side: [] } } });
  data.kinds.lino.duplicate = { front: Buffer.from([0b10]).toString("base64") }; // row 1
  const dup = new Model(data, PAGE);
  assert.equal(dup.count(dup.entries[0], "front", toFilter({})), 2);
});

test("gallery pages list the matching ready colourings, kind by kind", () => {
  const m = model({ ready: { lino: { front: [[0, 0, 0], [1, 1, 1]], side: [] } } });
  const items = m.galleryPageItems(m.entries[0], "front", toFilter({}), 0);
  assert.deepEqual(items.map(({ kind, values }) => [kind.id, plain(values)]), [
    ["wood", { Frame: 2, Top: 2, Rim: 0 }],
    ["lino", { Frame: 1, Top: 10, Rim: 20 }],
    ["lino", { Frame: 2, Top: 11, Rim: 21 }],
  ]);
  assert.deepEqual(m.galleryPageItems(m.entries[0], "front", toFilter({}), 1), []);
});

test("words: finish and pattern names, descriptions, views", () => {
  const m = model();
  assert.equal(m.finishName(0), "removed");
  assert.equal(m.finishName(21), "Brass rim");
  assert.equal(m.finishName(99), "#99");
  assert.equal(m.patternName("oak"), "Oak");
  assert.equal(m.patternName("nope"), "nope");
  const s = stateOf(m, "lino", { Frame: 2, Top: 11, Rim: 21 });
  assert.equal(m.describe(s.kind, s.values, true),
    "Stool, Linoleum top, Frame: Walnut, Top: Blue lino, Rim: Brass rim");
  assert.equal(m.describe(s.kind, s.values, false), "Stool, Frame: Walnut, Top: Blue lino, Rim: Brass rim");
  assert.equal(viewName("front"), "Front");
  assert.deepEqual([...m.groupByPattern([0, 10, 1, 2, 11])], [["lino", [10, 11]], ["oak", [1, 2]]]);
  assert.deepEqual(m.filterValues(m.entries[0], "Rim"), [20, 21, 0]);
});

test("counts are plain numbers while exact, BigInts above 2^53", () => {
  assert.equal(exact(5), 5);
  assert.equal(exact(5n), 5);
  assert.equal(exact(BigInt(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
  assert.equal(exact(BigInt(Number.MAX_SAFE_INTEGER) + 1n), BigInt(Number.MAX_SAFE_INTEGER) + 1n);
});

test("at a layered quality a picture is its backdrop and the present parts' layers", () => {
  const data = stoolData();
  for (const kind of Object.values(data.kinds)) delete kind.ready;
  data.layers = {
    front: {
      "1110": { backdrop: true, parts: { frame: [1, 2], top: [10, 11], rim: [20] } },
      "1100": { backdrop: true, parts: { frame: [2], top: [2] } },
    },
  };
  const m = new Model(data, PAGE);
  const lino = stateOf(m, "lino", { Frame: 2, Top: 11, Rim: 20 });
  const base = "https://shop.example/sketch/renders/preview/kino/front/";
  assert.deepEqual(m.pictureUrls(lino.kind, lino.values, "front"), [
    `${base}layer-1110-base.jpg`, `${base}layer-1110-frame-2.jpg`,
    `${base}layer-1110-top-11.jpg`, `${base}layer-1110-rim-20.jpg`]);
  assert.equal(m.isReady(lino.kind, lino.values, "front"), true);
  const lino21 = stateOf(m, "lino", { Frame: 2, Top: 11, Rim: 21 });
  assert.equal(m.isReady(lino21.kind, lino21.values, "front"), false); // no rim-21 layer
  const near = m.nearestReady(lino21, "front");
  assert.equal(near.kind.id, "lino");
  assert.deepEqual(plain(near.values), { Frame: 2, Top: 11, Rim: 20 });
  // wood: frame 2 & top 2 only; lino: 2 frames x (top 10 rim 20, top 11 rim 20).
  assert.equal(m.count(m.entries[0], "front", toFilter({})), 5n);
  assert.equal(exact(m.count(m.entries[0], "front", toFilter({ Rim: [0] }))), 1);
});

test("a sized copy's URL is <name>.w<W>.<ext>; the full width keeps the plain name", () => {
  const url = "https://shop.example/r/q/kino/front/frame-1_top-2.jpg";
  assert.equal(sizedUrl(url, 400), "https://shop.example/r/q/kino/front/frame-1_top-2.w400.jpg");
  assert.equal(sizedUrl(url, null), url);
  assert.equal(sizedUrl(url, 1600, 1600), url);
  assert.equal(sizedUrl("../../r/q/m/v/layer-11-base.webp", 800), "../../r/q/m/v/layer-11-base.w800.webp");
  assert.throws(() => sizedUrl("https://shop.example/r.x/name", 400), /no extension/);
});

test("the width to load: the smallest size covering the shown width in device pixels", () => {
  const sizes = [400, 800, 1200];
  assert.equal(chooseWidth(sizes, 1600, 360, 1), 400);
  assert.equal(chooseWidth(sizes, 1600, 400, 1), 400); // exactly enough
  assert.equal(chooseWidth(sizes, 1600, 401, 1), 800);
  assert.equal(chooseWidth(sizes, 1600, 360, 2), 800); // 720 device pixels
  assert.equal(chooseWidth(sizes, 1600, 700, 2), 1600); // 1400: none is enough, the full size
  assert.equal(chooseWidth(sizes, 1600, 2000, 1), 1600);
  assert.equal(chooseWidth([800, 400], 1600, 300, 1), 400); // any order
  assert.equal(chooseWidth([], 1600, 10, 1), 1600);
  assert.equal(chooseWidth(undefined, 1600, 10, 1), 1600);
  assert.equal(chooseWidth(sizes, 1600, 300, 0), 400); // no ratio known: 1
});

test("a srcset lists every size and the full width, ascending", () => {
  const url = "https://x/q/m/v/k.jpg";
  assert.equal(srcsetOf(url, [800, 400], 1600), "https://x/q/m/v/k.w400.jpg 400w, https://x/q/m/v/k.w800.jpg 800w, https://x/q/m/v/k.jpg 1600w");
  assert.equal(srcsetOf(url, [], 1600), "https://x/q/m/v/k.jpg 1600w");
});

test("the model builds sized picture and layer URLs from resolution and sizes", () => {
  const data = { ...stoolData(), resolution: [1600, 1200], sizes: [400, 800] };
  const m = new Model(data, PAGE);
  assert.equal(m.fullWidth, 1600);
  assert.deepEqual(m.sizes, [400, 800]);
  const s = stateOf(m, "wood", { Frame: 1, Top: 11 });
  const plainUrl = m.pictureUrl(s.kind, s.values, "front");
  assert.equal(m.pictureUrl(s.kind, s.values, "front", false, 400), plainUrl.replace(/\.jpg$/, ".w400.jpg"));
  assert.equal(m.pictureUrl(s.kind, s.values, "front", false, 1600), plainUrl);
  assert.equal(m.pictureUrl(s.kind, s.values, "front", false, 555), plainUrl); // not a size
  assert.equal(m.pictureUrl(s.kind, s.values, "front", true, 400), m.pictureUrl(s.kind, s.values, "front", true));
  assert.equal(m.widthFor(300, 1), 400);
  assert.equal(m.widthFor(500, 1), 800);
  assert.equal(m.widthFor(500, 2), 1600);
  assert.equal(m.srcset(plainUrl), srcsetOf(plainUrl, [400, 800], 1600));
  // Layers of one stack: all at the same width.
  data.layers = { front: { "1110": { backdrop: true, parts: { frame: [2], top: [11], rim: [20] } } } };
  for (const kind of Object.values(data.kinds)) delete kind.ready;
  const layered = new Model(data, PAGE);
  const lino = stateOf(layered, "lino", { Frame: 2, Top: 11, Rim: 20 });
  const urls = layered.pictureUrls(lino.kind, lino.values, "front", false, 800);
  assert.equal(urls.length, 4);
  assert.ok(urls.every((u) => u.endsWith(".w800.jpg")), urls.join(" "));
  assert.match(urls[0], /layer-1110-base\.w800\.jpg$/);
});
