// The sketchbook's selection and URL hash (templates/static/state.js), run in node with a
// stand-in location and history: parse / format round trips, links that reproduce a
// selection, back and forward, per-entry memory, and select()'s rules and errors.
// Driven by tests/test_sketchbook_js.py.

import assert from "node:assert/strict";
import { test } from "node:test";

import { Model } from "../static/model.js";
import { Selection, hashOf, parseHash } from "../static/state.js";
import { PAGE, stoolData, stoolValues } from "./fixture.mjs";

/** A Selection over the stool, with a location and history that record what they are told. */
function open(hash = "") {
  const model = new Model(stoolData(), PAGE);
  const location = { hash };
  const log = [];
  const history = {
    pushState: (_, __, h) => { log.push(["push", h]); location.hash = h; },
    replaceState: (_, __, h) => { log.push(["replace", h]); location.hash = h; },
  };
  const changes = [];
  const selection = new Selection(model, { location, history, onChange: (e) => changes.push(e) });
  return { model, location, log, changes, selection };
}

const plain = (values) => Object.fromEntries(values);
const brief = (s) => [s.entry, s.kind.id, plain(s.values), s.view];

test("a state's hash: kind, view, then each part of the kind in kind order", () => {
  const { model } = open();
  const lino = model.kinds.get("lino");
  const state = { entry: 0, kind: lino, values: stoolValues({ Frame: 2, Top: 11, Rim: 21 }), view: "side" };
  assert.equal(hashOf(state), "kind=lino&view=side&Frame=2&Top=11&Rim=21");
  const wood = { entry: 0, kind: model.kinds.get("wood"), values: stoolValues({ Frame: 1, Top: 2 }), view: "front" };
  assert.equal(hashOf(wood), "kind=wood&view=front&Frame=1&Top=2"); // the rim is not the kind's
});

test("names are URI-encoded, and parse(format(x)) gives x back", () => {
  const kind = { id: "wood & co", parts: [{ name: "Seat pad" }, { name: "Top=1&x" }, { name: "Ø" }] };
  const values = new Map([["Seat pad", 12], ["Top=1&x", 0], ["Ø", 7]]);
  const hash = hashOf({ kind, values, view: "three quarter" });
  assert.equal(hash, "kind=wood%20%26%20co&view=three%20quarter&Seat%20pad=12&Top%3D1%26x=0&%C3%98=7");
  const parsed = parseHash(`#${hash}`);
  assert.equal(parsed.kind, "wood & co");
  assert.equal(parsed.view, "three quarter");
  assert.deepEqual([...parsed.parts], [["Seat pad", 12], ["Top=1&x", 0], ["Ø", 7]]);
});

test("parsing: '+' is a space, anchors and bad items are left out", () => {
  const parsed = parseHash("#kind=wood&Seat+pad=3&content&Top=oak&Bad%E0=1&Frame=%ZZ&Rim=4&&view=front");
  assert.equal(parsed.kind, "wood");
  assert.equal(parsed.view, "front");
  assert.deepEqual([...parsed.parts], [["Seat pad", 3], ["Rim", 4]]);
  assert.deepEqual(parseHash(""), { kind: null, view: null, parts: new Map() });
  assert.deepEqual(parseHash("#content"), { kind: null, view: null, parts: new Map() });
});

test("setting a state pushes its hash (once), remembers it per entry, tells the page", () => {
  const { model, location, log, changes, selection } = open();
  const start = model.entryDefault(model.entries[0], "front");
  selection.set(start, { push: false });
  assert.deepEqual(log, [["replace", "#kind=wood&view=front&Frame=1&Top=1"]]);
  assert.deepEqual(changes, [true]);
  const next = model.fitPick(start, "Top", 11);
  selection.set(next);
  assert.equal(location.hash, "#kind=lino&view=front&Frame=1&Top=11&Rim=20");
  assert.equal(log.at(-1)[0], "push");
  assert.deepEqual(changes, [true, false]);
  selection.set(next); // the same hash: history is not touched
  assert.equal(log.length, 2);
  assert.equal(selection.remembered.get(0), next);
  selection.set(model.entryDefault(model.entries[1], "front"));
  assert.deepEqual(changes, [true, false, false, true]);
  assert.equal(selection.entryStart(model.entries[0], "side"), next); // the entry's last state
});

test("a link reproduces the selection it was made from", () => {
  const { model, selection } = open();
  selection.set(model.entryDefault(model.entries[0], "front"), { push: false });
  const states = [
    { entry: 0, kind: model.kinds.get("lino"), values: stoolValues({ Frame: 2, Top: 11, Rim: 21 }), view: "side" },
    { entry: 0, kind: model.kinds.get("wood"), values: stoolValues({ Frame: 2, Top: 1 }), view: "front" },
    { entry: 1, kind: model.kinds.get("bench"), values: new Map([["Seat", 30]]), view: "side" },
  ];
  for (const state of states) {
    const fresh = open().selection; // a new page opened on the link
    assert.deepEqual(brief(fresh.fromHash(parseHash(`#${hashOf(state)}`))), brief(state));
    assert.deepEqual(brief(selection.fromHash(parseHash(`#${hashOf(state)}`))), brief(state));
  }
});

test("a hash that does not fit exactly gives the nearest state that keeps what it can", () => {
  const { model, selection } = open();
  // No hash, or nothing in it: no state.
  assert.equal(selection.fromHash(parseHash("")), null);
  assert.equal(selection.fromHash(parseHash("#content")), null);
  // A rim the chart does not allow for a red top: the kind keeps the top, the rim follows.
  let s = selection.fromHash(parseHash("#kind=lino&Top=10&Rim=21"));
  assert.deepEqual(brief(s), [0, "lino", { Frame: 1, Top: 10, Rim: 20 }, "front"]);
  // No kind: the kind that fits the parts (a lino top), the others from the entry's default.
  s = selection.fromHash(parseHash("#Top=11&view=side"));
  assert.deepEqual(brief(s), [0, "lino", { Frame: 1, Top: 11, Rim: 20 }, "side"]);
  // A part of another entry: that entry.
  s = selection.fromHash(parseHash("#Seat=30"));
  assert.deepEqual(brief(s), [1, "bench", { Seat: 30 }, "front"]);
  // An unknown view or kind: the current view, a kind that fits.
  selection.set(model.entryDefault(model.entries[0], "side"), { push: false });
  s = selection.fromHash(parseHash("#kind=nope&view=top&Frame=2"));
  assert.deepEqual(brief(s), [0, "wood", { Frame: 2, Top: 1, Rim: 0 }, "side"]);
  // Nothing fits: the current state in the hash's view.
  s = selection.fromHash(parseHash("#Top=99&view=front"));
  assert.deepEqual(brief(s), [0, "wood", { Frame: 1, Top: 1, Rim: 0 }, "front"]);
});

test("back and forward follow the hash; in-page anchors change nothing", () => {
  const { model, location, changes, selection } = open();
  selection.followLocation(); // before any state: nothing
  assert.equal(selection.state, null);
  const start = model.entryDefault(model.entries[0], "front");
  selection.set(start, { push: false });
  location.hash = "#content";
  selection.followLocation();
  assert.equal(selection.state, start);
  location.hash = "#kind=lino&view=side&Frame=2&Top=11&Rim=21";
  selection.followLocation();
  assert.deepEqual(brief(selection.state), [0, "lino", { Frame: 2, Top: 11, Rim: 21 }, "side"]);
  const count = changes.length;
  selection.followLocation(); // the hash is the state's already
  assert.equal(changes.length, count);
  location.hash = ""; // back to the page without a hash: the first entry's default
  selection.followLocation();
  assert.deepEqual(brief(selection.state), [0, "wood", { Frame: 1, Top: 1, Rim: 0 }, "front"]);
  assert.equal(location.hash, "#kind=wood&view=front&Frame=1&Top=1");
});

test("select(): parts left out keep their finish where allowed; kind and view by name", () => {
  const { model, selection } = open();
  selection.set(model.entryDefault(model.entries[0], "front"), { push: false });
  let s = selection.selected({ Frame: 2 });
  assert.deepEqual(brief(s), [0, "wood", { Frame: 2, Top: 1, Rim: 0 }, "front"]);
  selection.set(s);
  s = selection.selected({ Top: "11" }, { view: "side" });
  assert.deepEqual(brief(s), [0, "lino", { Frame: 2, Top: 11, Rim: 20 }, "side"]);
  selection.set(s);
  s = selection.selected({}, { kind: "wood" });
  assert.deepEqual(brief(s), [0, "wood", { Frame: 2, Top: 1, Rim: 0 }, "side"]);
  s = selection.selected({}, { kind: "bench" });
  assert.deepEqual(brief(s), [1, "bench", { Seat: 30 }, "side"]);
  assert.throws(() => selection.selected({}, { kind: "nope" }), /^Error: sketchbook: unknown kind 'nope'$/);
  assert.throws(() => selection.selected({}, { view: "top" }), /^Error: sketchbook: unknown view 'top'$/);
  assert.throws(() => selection.selected({ Top: 99 }), /^Error: sketchbook: no colouring fits \{"Top":99\}$/);
  assert.throws(() => selection.selected({ Rim: 21 }, { kind: "wood" }),
    /^Error: sketchbook: no colouring fits \{"Rim":21\} in kind 'wood'$/);
});
