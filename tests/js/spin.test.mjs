// Spins (issue 13), run in node: frames' names and turning (templates/static/model.js), what a
// frame not rendered yet shows (Model.nearestShown), the hash naming a frame (state.js) and
// the turning controller (templates/static/spin.js) driven by fake pointers, keys and
// animation frames. Driven by tests/test_sketchbook_js.py.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  Model, frameName, frameOf, framesAround, neighbours, turn, viewGroups,
} from "../static/model.js";
import { FRICTION, MAX_SPEED, STOP_SPEED, Turntable } from "../static/spin.js";
import { Selection, hashOf, parseHash } from "../static/state.js";
import { PAGE, spinData } from "./fixture.mjs";

const plain = (values) => Object.fromEntries(values);
const chair = (m, parts, view) => ({
  entry: 0, kind: m.kinds.get("chair"), values: new Map(Object.entries(parts)), view,
});

// ---------------------------------------------------------------------------------------
// Names and turning

test("a frame is named <spin>-<f>, f padded to as many digits as the spin has frames", () => {
  assert.equal(frameName("spin", 7, 24), "spin-07");
  assert.equal(frameName("spin", 12, 12), "spin-12");
  assert.equal(frameName("spin", 1, 12), "spin-01");
  assert.equal(frameName("spin", 3, 4), "spin-3");
  assert.equal(frameName("turn", 5, 100), "turn-005");
  const spins = { spin: 12, turn: 100 };
  assert.deepEqual(frameOf("spin-07", spins), { spin: "spin", frame: 7, frames: 12 });
  assert.deepEqual(frameOf("turn-100", spins), { spin: "turn", frame: 100, frames: 100 });
  for (const name of ["main", "spin-7", "spin-007", "spin-00", "spin-13", "spin-", "spin-1a", "other-01", "-01"]) {
    assert.equal(frameOf(name, spins), null, name);
  }
  assert.equal(frameOf("spin-01", {}), null);
  assert.equal(frameOf("spin-01", undefined), null);
  assert.equal(frameOf("hasOwnProperty-1", {}), null); // only the spins' own keys
});

test("turning wraps around both ways; a plain view does not turn", () => {
  const spins = { spin: 12 };
  assert.equal(turn("spin-01", 1, spins), "spin-02");
  assert.equal(turn("spin-12", 1, spins), "spin-01");
  assert.equal(turn("spin-01", -1, spins), "spin-12");
  assert.equal(turn("spin-03", -27, spins), "spin-12"); // more than once round
  assert.equal(turn("spin-05", 24, spins), "spin-05");
  assert.equal(turn("spin-05", 0, spins), "spin-05");
  assert.equal(turn("main", 3, spins), "main");
  assert.equal(turn("spin-1", 3, { spin: 4 }), "spin-4");
});

test("the view buttons: plain views as they are, each spin once, at its first frame", () => {
  const spins = { spin: 3, orbit: 2 };
  const views = ["front", "spin-1", "spin-2", "spin-3", "side", "orbit-1", "orbit-2"];
  assert.deepEqual(viewGroups(views, spins), [
    { id: "front", view: "front", frames: null },
    { id: "spin", view: "spin-1", frames: 3 },
    { id: "side", view: "side", frames: null },
    { id: "orbit", view: "orbit-1", frames: 2 },
  ]);
  assert.deepEqual(viewGroups(["front", "side"], undefined).map((g) => g.view), ["front", "side"]);
  assert.deepEqual(new Model(spinData(), PAGE).viewGroups().map((g) => g.id), ["main", "spin"]);
});

test("frames around one: nearest first, the frame before first; preloading takes k each side", () => {
  const spins = { spin: 12, four: 4, two: 2, one: 1 };
  assert.deepEqual(framesAround("four-1", spins), ["four-4", "four-2", "four-3"]);
  assert.deepEqual(framesAround("two-1", spins), ["two-2"]);
  assert.deepEqual(framesAround("one-1", spins), []);
  assert.deepEqual(framesAround("main", spins), []);
  assert.deepEqual(framesAround("spin-01", spins).length, 11);
  assert.deepEqual(neighbours("spin-01", spins, 2), ["spin-12", "spin-02", "spin-11", "spin-03"]);
  assert.deepEqual(neighbours("spin-06", spins, 1), ["spin-05", "spin-07"]);
  assert.deepEqual(neighbours("four-2", spins, 5), ["four-1", "four-3", "four-4"]); // each frame once
  assert.deepEqual(neighbours("main", spins, 2), []);
  assert.deepEqual(neighbours("spin-06", spins, 0), []);
  const m = new Model(spinData(), PAGE);
  assert.deepEqual(m.neighbours("spin-1", 1), ["spin-4", "spin-2"]);
  assert.equal(m.turn("spin-4", 1), "spin-1");
  assert.deepEqual(m.frameOf("spin-3"), { spin: "spin", frame: 3, frames: 4 });
  assert.equal(m.frameOf("main"), null);
});

// ---------------------------------------------------------------------------------------
// What a frame shows

test("a ready picture shows itself; a frame not rendered shows the nearest ready frame of its colouring", () => {
  const m = new Model(spinData(), PAGE);
  const oak = { Frame: 1, Top: 1 };
  const walnut = { Frame: 2, Top: 2 };
  const itself = m.nearestShown(chair(m, oak, "spin-4"));
  assert.equal(itself.view, "spin-4");
  assert.equal(itself.exact, true);
  assert.deepEqual(plain(itself.values), oak);
  // spin-2 has nothing: walnut is ready in spin-1 and spin-3 (one frame away each): before.
  const walnut2 = m.nearestShown(chair(m, walnut, "spin-2"));
  assert.equal(walnut2.view, "spin-1");
  assert.equal(walnut2.exact, false);
  assert.deepEqual(plain(walnut2.values), walnut);
  // walnut in spin-4: spin-3 (one away) before spin-1 (one away, after): before wins again.
  assert.equal(m.nearestShown(chair(m, walnut, "spin-4")).view, "spin-3");
  // The view defaults to the state's.
  assert.equal(m.nearestShown(chair(m, walnut, "spin-2")).view, "spin-1");
});

test("the same colouring in another frame comes before another colouring in the frame", () => {
  const m = new Model(spinData({ ready: { "spin-2": [[0, 0]] } }), PAGE);
  // spin-2 has oak only; walnut is ready in spin-1: the frame changes, not the colouring.
  const shown = m.nearestShown(chair(m, { Frame: 2, Top: 2 }, "spin-2"));
  assert.equal(shown.view, "spin-1");
  assert.deepEqual(plain(shown.values), { Frame: 2, Top: 2 });
  // A colouring no frame has: the nearest colouring in the frame itself.
  const mixed = m.nearestShown(chair(m, { Frame: 2, Top: 1 }, "spin-2"));
  assert.equal(mixed.view, "spin-2");
  assert.deepEqual(plain(mixed.values), { Frame: 1, Top: 1 });
});

test("a frame with nothing ready shows the nearest colouring of the nearest frame that has one", () => {
  const m = new Model(spinData({ ready: { "spin-1": [], "spin-3": [[0, 1]], "spin-4": [] } }), PAGE);
  const shown = m.nearestShown(chair(m, { Frame: 2, Top: 2 }, "spin-2"));
  assert.equal(shown.view, "spin-3");
  assert.deepEqual(plain(shown.values), { Frame: 1, Top: 2 });
  assert.equal(shown.exact, false);
});

test("a plain view shows the nearest colouring in that view only; nothing ready anywhere is null", () => {
  const m = new Model(spinData(), PAGE);
  const shown = m.nearestShown(chair(m, { Frame: 2, Top: 2 }, "main"));
  assert.equal(shown.view, "main");
  assert.deepEqual(plain(shown.values), { Frame: 1, Top: 1 });
  const empty = Object.fromEntries(["main", "spin-1", "spin-2", "spin-3", "spin-4"].map((v) => [v, []]));
  const none = new Model(spinData({ ready: empty }), PAGE);
  assert.equal(none.nearestShown(chair(none, { Frame: 1, Top: 1 }, "spin-2")), null);
  assert.equal(none.nearestShown(chair(none, { Frame: 1, Top: 1 }, "main")), null);
});

test("at a layered quality a frame's stand-in is chosen alike (every layer ready)", () => {
  const m = new Model(spinData({
    layered: {
      main: { frame: [1], top: [1] },
      "spin-1": { frame: [2], top: [1, 2] },
      "spin-2": { frame: [1], top: [1] },
      "spin-3": { frame: [2], top: [2] },
      "spin-4": { frame: [1, 2], top: [1] },
    },
  }), PAGE);
  assert.ok(m.layers);
  const walnut = { Frame: 2, Top: 2 };
  assert.equal(m.nearestShown(chair(m, walnut, "spin-3")).exact, true);
  // spin-2 lacks walnut layers; spin-1 (before) and spin-3 have both.
  const shown = m.nearestShown(chair(m, walnut, "spin-2"));
  assert.equal(shown.view, "spin-1");
  assert.deepEqual(plain(shown.values), walnut);
  assert.deepEqual(m.pictureUrls(shown.kind, shown.values, shown.view).map((u) => u.split("/").slice(-2).join("/")),
    ["spin-1/layer-11-base.jpg", "spin-1/layer-11-frame-2.jpg", "spin-1/layer-11-top-2.jpg"]);
  // Walnut frame with an oak top: only spin-1 and spin-4 have both layers; spin-2 is 2 away
  // from spin-4 and 1 from spin-1.
  assert.equal(m.nearestShown(chair(m, { Frame: 2, Top: 1 }, "spin-2")).view, "spin-1");
  // No frame has a walnut top with an oak frame: the nearest colouring in the frame.
  const near = m.nearestShown(chair(m, { Frame: 1, Top: 2 }, "spin-2"));
  assert.equal(near.view, "spin-2");
  assert.deepEqual(plain(near.values), { Frame: 1, Top: 1 });
});

test("select(parts, {view: 'spin-3'}) and the URL hash name a frame", () => {
  const m = new Model(spinData(), PAGE);
  const location = { hash: "" };
  const history = { pushState: (_, __, h) => (location.hash = h), replaceState: (_, __, h) => (location.hash = h) };
  const selection = new Selection(m, { location, history });
  selection.set(m.entryDefault(m.entries[0], "main"), { push: false });
  const next = selection.selected({ Top: 2 }, { view: "spin-3" });
  assert.equal(next.view, "spin-3");
  selection.set(next);
  assert.equal(location.hash, "#kind=chair&view=spin-3&Frame=1&Top=2");
  assert.equal(parseHash(hashOf(next)).view, "spin-3");
  assert.equal(selection.fromHash(parseHash("#kind=chair&view=spin-4&Frame=2&Top=2")).view, "spin-4");
  assert.throws(() => selection.selected({}, { view: "spin-5" }), /unknown view/);
});

// ---------------------------------------------------------------------------------------
// The turning controller

/** An element enough for a Turntable: events, a width, a style, pointer capture. */
class FakeElement extends EventTarget {
  constructor(width = 400) {
    super();
    this.clientWidth = width;
    this.style = { touchAction: "auto" };
    this.dataset = {};
    this.captured = new Set();
    this.listening = new Map(); // type -> listeners added and not removed
  }

  addEventListener(type, listener, options) {
    this.listening.set(type, (this.listening.get(type) || 0) + 1);
    super.addEventListener(type, listener, options);
  }

  removeEventListener(type, listener, options) {
    this.listening.set(type, (this.listening.get(type) || 0) - 1);
    super.removeEventListener(type, listener, options);
  }

  setPointerCapture(id) {
    this.captured.add(id);
  }

  listeners() {
    return [...this.listening.values()].reduce((a, b) => a + b, 0);
  }
}

/** A clock and animation frames the test advances by hand. */
function fakeTime() {
  const time = { t: 1000, queue: new Map(), next: 1, cancelled: 0 };
  time.now = () => time.t;
  time.raf = (f) => {
    time.queue.set(time.next, f);
    return time.next++;
  };
  time.caf = (id) => {
    if (time.queue.delete(id)) time.cancelled++;
  };
  /** Run animation frames every `ms` until none is asked for (or `max` frames). */
  time.frames = (ms = 16, max = 10000) => {
    let n = 0;
    while (time.queue.size && n < max) {
      time.t += ms;
      const pending = [...time.queue.values()];
      time.queue.clear();
      for (const f of pending) f(time.t);
      n++;
    }
    return n;
  };
  return time;
}

function setup(options = {}, width = 400) {
  const element = new FakeElement(width);
  const time = fakeTime();
  const turns = [];
  let settled = 0;
  const table = new Turntable(element, {
    onTurn: (steps) => turns.push(steps),
    onSettle: () => settled++,
    now: time.now, raf: time.raf, caf: time.caf,
    ...options,
  });
  const fire = (type, props = {}) => {
    const event = new Event(type, { cancelable: true });
    Object.assign(event, { pointerId: 1, pointerType: "mouse", button: 0, isPrimary: true, ...props });
    element.dispatchEvent(event);
    return event;
  };
  const total = () => turns.reduce((a, b) => a + b, 0);
  return { element, time, table, turns, fire, total, settled: () => settled };
}

/** A drag from x0 by dx pixels, in `moves` moves `ms` apart; release after `hold` ms still. */
function drag(s, { x0 = 200, dx, moves = 10, ms = 50, hold = 0, type = "mouse", id = 1 }) {
  s.fire("pointerdown", { clientX: x0, pointerType: type, pointerId: id });
  for (let i = 1; i <= moves; i++) {
    s.time.t += ms;
    s.fire("pointermove", { clientX: x0 + (dx * i) / moves, pointerType: type, pointerId: id });
  }
  s.time.t += hold;
  s.fire("pointerup", { clientX: x0 + dx, pointerType: type, pointerId: id });
}

test("a slow drag of 3 x pixelsPerFrame to the left turns 3 frames on, to the right 3 back", () => {
  const s = setup({ pixelsPerFrame: 20 });
  assert.equal(s.element.style.touchAction, "pan-y"); // vertical scrolling stays the browser's
  drag(s, { dx: -60, moves: 12, ms: 100, hold: 200 });
  assert.deepEqual(s.turns, [1, 1, 1]);
  assert.equal(s.table.turning, false);
  assert.equal(s.time.queue.size, 0); // no inertia after a slow release
  assert.equal(s.settled(), 1);
  assert.ok(s.element.captured.has(1));
  drag(s, { dx: 60, moves: 3, ms: 100, hold: 200 });
  assert.equal(s.total(), 0);
  assert.equal(s.settled(), 2);
  // Less than a frame's worth, there and back: nothing turns, nothing settles.
  drag(s, { dx: -19, moves: 2, ms: 100, hold: 200 });
  assert.equal(s.turns.length, 6);
  assert.equal(s.settled(), 2);
});

test("the frame's width: pixelsPerFrame, else the element's width over the frames, else a constant", () => {
  const byWidth = setup({ frames: 4 }, 400); // 100 px a frame
  drag(byWidth, { dx: -250, hold: 500 });
  assert.equal(byWidth.total(), 2);
  const reversed = setup({ pixelsPerFrame: 10, reverse: true });
  drag(reversed, { dx: -30, hold: 500 });
  assert.equal(reversed.total(), -3);
  const constant = setup({}); // 12 px
  drag(constant, { dx: 36, hold: 500 });
  assert.equal(constant.total(), -3);
});

test("arrow keys turn one frame each way; a key's release settles; shortcuts are left alone", () => {
  const s = setup({ pixelsPerFrame: 20 });
  const left = s.fire("keydown", { key: "ArrowLeft" });
  assert.equal(left.defaultPrevented, true);
  s.fire("keydown", { key: "ArrowLeft", repeat: true });
  assert.deepEqual(s.turns, [1, 1]);
  assert.equal(s.settled(), 0);
  s.fire("keyup", { key: "ArrowLeft" });
  assert.equal(s.settled(), 1);
  s.fire("keydown", { key: "ArrowRight" });
  s.fire("keyup", { key: "ArrowRight" });
  assert.deepEqual(s.turns, [1, 1, -1]);
  assert.equal(s.settled(), 2);
  const back = s.fire("keydown", { key: "ArrowLeft", altKey: true }); // the browser's "back"
  assert.equal(back.defaultPrevented, false);
  s.fire("keydown", { key: "a" });
  assert.deepEqual(s.turns, [1, 1, -1]);
});

test("a fast release keeps turning, slowing down, then stops and settles once", () => {
  const s = setup({ pixelsPerFrame: 10 });
  drag(s, { dx: -100, moves: 10, ms: 10 }); // 1 px/ms = 0.1 frame/ms: capped
  assert.equal(s.total(), 10);
  assert.equal(s.table.turning, true);
  assert.equal(s.settled(), 0);
  const frames = s.time.frames(16);
  assert.ok(frames > 10, `${frames} animation frames`);
  assert.equal(s.table.turning, false);
  assert.equal(s.settled(), 1);
  // From MAX_SPEED, decaying by FRICTION per 1/60 s until under STOP_SPEED: about
  // MAX_SPEED * (1000 / 60) / -ln(FRICTION) frames more (less what is left under the stop).
  const more = s.total() - 10;
  const ideal = (MAX_SPEED * (1000 / 60)) / -Math.log(FRICTION);
  const tail = (STOP_SPEED * (1000 / 60)) / -Math.log(FRICTION);
  assert.ok(more >= ideal - tail - 2 && more <= ideal + 1, `${more} more frames (ideal ${ideal})`);
  assert.ok(s.turns.every((t) => t > 0), "inertia keeps the drag's direction");
});

test("a fast drag to the right turns back by inertia; a pause before the release has none", () => {
  const s = setup({ pixelsPerFrame: 10 });
  drag(s, { dx: 50, moves: 10, ms: 10 }); // 0.05 frame/ms
  s.time.frames(16);
  assert.ok(s.total() < -5, `${s.total()}`);
  const held = setup({ pixelsPerFrame: 10 });
  drag(held, { dx: -50, moves: 10, ms: 10, hold: 150 }); // still for 150 ms, then released
  assert.equal(held.table.turning, false);
  assert.equal(held.total(), 5);
  assert.equal(held.settled(), 1);
});

test("a pointerdown stops the inertia; the drag that follows settles", () => {
  const s = setup({ pixelsPerFrame: 10 });
  drag(s, { dx: -100, moves: 10, ms: 10 });
  s.time.frames(16, 5);
  const turned = s.total();
  assert.ok(turned > 10);
  s.fire("pointerdown", { clientX: 50 });
  assert.equal(s.time.queue.size, 0);
  assert.equal(s.time.cancelled, 1);
  assert.equal(s.table.turning, true); // held
  s.time.frames(16);
  assert.equal(s.total(), turned);
  assert.equal(s.settled(), 0);
  s.time.t += 300;
  s.fire("pointerup", { clientX: 50 });
  assert.equal(s.table.turning, false);
  assert.equal(s.settled(), 1); // the inertia turned frames since the last settle
});

test("only the first pointer drags; the mouse's other buttons do not; a cancelled touch has no inertia", () => {
  const s = setup({ pixelsPerFrame: 10 });
  s.fire("pointerdown", { clientX: 100, button: 2 });
  s.fire("pointermove", { clientX: 50 });
  assert.equal(s.table.turning, false);
  s.fire("pointerdown", { clientX: 100, pointerType: "touch", pointerId: 7 });
  s.fire("pointerdown", { clientX: 100, pointerType: "touch", pointerId: 8, isPrimary: false });
  s.time.t += 10;
  s.fire("pointermove", { clientX: 300, pointerType: "touch", pointerId: 8 });
  assert.equal(s.total(), 0);
  s.time.t += 10;
  s.fire("pointermove", { clientX: 60, pointerType: "touch", pointerId: 7 });
  assert.equal(s.total(), 4);
  s.fire("pointercancel", { clientX: 60, pointerType: "touch", pointerId: 7 }); // a vertical scroll took it
  assert.equal(s.table.turning, false);
  assert.equal(s.time.queue.size, 0);
  assert.equal(s.settled(), 1);
  assert.equal(s.fire("dragstart").defaultPrevented, true); // images are not dragged away
});

test("destroy removes every listener, stops the inertia and gives back the touch-action", () => {
  const s = setup({ pixelsPerFrame: 10 });
  assert.ok(s.element.listeners() > 0);
  drag(s, { dx: -100, moves: 10, ms: 10 });
  assert.equal(s.table.turning, true);
  s.table.destroy();
  assert.equal(s.element.listeners(), 0);
  assert.equal(s.time.queue.size, 0);
  assert.equal(s.table.turning, false);
  assert.equal(s.element.style.touchAction, "auto");
  const before = s.turns.length;
  drag(s, { dx: -100, moves: 10, ms: 100, hold: 300 });
  s.fire("keydown", { key: "ArrowLeft" });
  assert.equal(s.turns.length, before);
  assert.equal(s.settled(), 0);
});
