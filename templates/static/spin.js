// Turning a spin (issue 13): drag, swipe and arrow keys, with inertia after a release.
//
// A Turntable knows nothing of frames' names or pictures: it reports whole steps
// (`onTurn(steps)`, +1 = the next frame) and the end of a motion that turned something
// (`onSettle()`); the page turns its view (model.js `turn`) and, once settled, loads the
// frame on screen at full size.
//
// Direction: dragging to the LEFT turns to the NEXT frame (one per `pixelsPerFrame` pixels),
// dragging right to the previous one; ArrowLeft and ArrowRight do what a short drag that
// way does (ArrowLeft: next). With frames rendered as the camera's angle grows
// (counter-clockwise seen from above) the product then follows the finger: its front moves
// the way it is dragged. `reverse: true` flips drag and keys alike.
//
// Inertia: a release at speed keeps turning at that speed (capped at MAX_SPEED), slowed
// by FRICTION each 1/60 s (exponentially, whatever the frame rate), until it is under
// STOP_SPEED; a new pointerdown or key press stops it. Touch keeps vertical scrolling
// (`touch-action: pan-y`): a swipe that the browser takes for a scroll cancels the drag.
// Time and animation frames can be handed in (`now`, `raf`, `caf`) for tests.
//
// The element must be focusable for the keys (a tabindex, set by the page).

export const DEFAULT_PIXELS_PER_FRAME = 12; // without `frames` or `pixelsPerFrame`
export const MIN_PIXELS_PER_FRAME = 4; // however many frames share the element's width
export const FRICTION = 0.95; // share of the speed kept per 1/60 s of inertia
export const STOP_SPEED = 0.002; // frames per ms (2 a second): inertia stops under it
export const MAX_SPEED = 0.06; // frames per ms (60 a second): a flick turns no faster
export const VELOCITY_WINDOW = 100; // ms: the release speed is the pointer's over its last 100 ms

const FRAME_MS = 1000 / 60;
const MAX_TICK = 100; // ms: a longer gap between animation frames (a hidden tab) counts as this
const EPSILON = 1e-9; // so that exactly 3 x pixelsPerFrame is 3 steps despite rounding

/** Whole steps in a position (in frames), toward 0. */
function whole(position) {
  return Math.trunc(position + (position < 0 ? -EPSILON : EPSILON));
}

export class Turntable {
  /**
   * @param {EventTarget & {clientWidth: number, style: object}} element what is dragged
   * @param {{onTurn: (steps: number) => void, onSettle?: () => void, frames?: number,
   *          pixelsPerFrame?: number, reverse?: boolean, now?: () => number,
   *          raf?: (f: Function) => any, caf?: (id: any) => void}} options
   *   pixelsPerFrame: pixels of drag per frame; else the element's width / `frames` (a
   *   drag across the whole element turns the spin once round), else DEFAULT_PIXELS_PER_FRAME.
   */
  constructor(element, options) {
    const { onTurn, onSettle = () => {}, frames = null, pixelsPerFrame = null, reverse = false } = options;
    this.element = element;
    this.onTurn = onTurn;
    this.onSettle = onSettle;
    this.frames = frames; // the page may change it when it shows another spin
    this.pixelsPerFrame = pixelsPerFrame;
    this.sign = reverse ? -1 : 1;
    this.now = options.now || (() => performance.now());
    this.raf = options.raf || ((f) => requestAnimationFrame(f));
    this.caf = options.caf || ((id) => cancelAnimationFrame(id));

    this.pointer = null; // the dragging pointer's id, or null
    this.frameId = null; // the pending animation frame of the inertia, or null
    this.position = 0; // frames turned since the motion began (fractional)
    this.emitted = 0; // whole steps of it reported
    this.unsettled = false; // steps were reported since the last onSettle
    this.keyHeld = false;

    this.handlers = {
      pointerdown: (e) => this.down(e),
      pointermove: (e) => this.move(e),
      pointerup: (e) => this.up(e),
      pointercancel: (e) => this.cancel(e),
      lostpointercapture: (e) => this.cancel(e),
      keydown: (e) => this.key(e),
      keyup: (e) => this.keyUp(e),
      blur: () => this.keyUp(null),
      dragstart: (e) => e.preventDefault(), // a mouse drag over an <img> turns, never drags it
    };
    for (const [type, handler] of Object.entries(this.handlers)) element.addEventListener(type, handler);
    this.touchAction = element.style.touchAction;
    element.style.touchAction = "pan-y";
    this.tick = () => this.step();
  }

  /** Whether the spin is moving: dragged, or turning on by inertia. */
  get turning() {
    return this.pointer !== null || this.frameId !== null;
  }

  /** Remove every listener and stop the inertia (no onSettle); the element's touch-action is restored. */
  destroy() {
    this.stopInertia();
    for (const [type, handler] of Object.entries(this.handlers)) this.element.removeEventListener(type, handler);
    this.element.style.touchAction = this.touchAction;
    this.pointer = null;
  }

  // -------------------------------------------------------------------------------------
  // Dragging

  ppf() {
    if (this.pixelsPerFrame > 0) return this.pixelsPerFrame;
    const width = this.element.clientWidth;
    if (this.frames > 0 && width > 0) return Math.max(MIN_PIXELS_PER_FRAME, width / this.frames);
    return DEFAULT_PIXELS_PER_FRAME;
  }

  down(e) {
    if (this.pointer !== null || e.isPrimary === false) return;
    if (e.pointerType === "mouse" && e.button !== 0) return;
    this.stopInertia();
    this.pointer = e.pointerId;
    this.startX = e.clientX;
    this.scale = this.ppf();
    this.position = 0;
    this.emitted = 0;
    this.samples = [{ t: this.now(), x: e.clientX }];
    try {
      this.element.setPointerCapture(e.pointerId);
    } catch {
      // Not capturable (already released): moves over the element still turn.
    }
  }

  move(e) {
    if (e.pointerId !== this.pointer) return;
    const t = this.now();
    this.samples.push({ t, x: e.clientX });
    // Keep the newest sample at least VELOCITY_WINDOW old, and every one since.
    while (this.samples.length > 1 && t - this.samples[1].t >= VELOCITY_WINDOW) this.samples.shift();
    this.position = (this.sign * (this.startX - e.clientX)) / this.scale;
    this.emit();
  }

  up(e) {
    if (e.pointerId !== this.pointer) return;
    this.move(e);
    this.pointer = null;
    const speed = this.releaseSpeed();
    if (Math.abs(speed) >= STOP_SPEED) {
      this.velocity = Math.max(-MAX_SPEED, Math.min(MAX_SPEED, speed));
      this.lastTick = this.now();
      this.frameId = this.raf(this.tick);
    } else {
      this.settle();
    }
  }

  /** The drag ends without inertia (a scroll took the touch, the capture was lost). */
  cancel(e) {
    if (e.pointerId !== this.pointer) return;
    this.pointer = null;
    this.settle();
  }

  /**
   * Frames per ms at the release: the pointer's mean speed over its last VELOCITY_WINDOW ms
   * (or the whole drag, if shorter), so a pointer held still before its release has none.
   */
  releaseSpeed() {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const dt = last.t - first.t;
    if (dt <= 0) return 0;
    return (this.sign * (first.x - last.x)) / this.scale / dt;
  }

  // -------------------------------------------------------------------------------------
  // Inertia

  step() {
    const t = this.now();
    const dt = Math.min(Math.max(t - this.lastTick, 0), MAX_TICK);
    this.lastTick = t;
    this.velocity *= FRICTION ** (dt / FRAME_MS);
    this.position += this.velocity * dt;
    this.emit();
    if (Math.abs(this.velocity) < STOP_SPEED) {
      this.frameId = null;
      this.settle();
    } else {
      this.frameId = this.raf(this.tick);
    }
  }

  stopInertia() {
    if (this.frameId === null) return;
    this.caf(this.frameId);
    this.frameId = null;
  }

  // -------------------------------------------------------------------------------------
  // Keys: ArrowLeft / ArrowRight, one frame each (a held key repeats; its release settles)

  key(e) {
    if (e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return; // Alt+Left is "back"
    const direction = e.key === "ArrowLeft" ? 1 : e.key === "ArrowRight" ? -1 : 0;
    if (!direction) return;
    e.preventDefault();
    if (this.pointer !== null) return;
    this.stopInertia();
    this.keyHeld = true;
    this.unsettled = true;
    this.onTurn(this.sign * direction);
  }

  keyUp(e) {
    if (!this.keyHeld || (e && e.key !== "ArrowLeft" && e.key !== "ArrowRight")) return;
    this.keyHeld = false;
    this.settle();
  }

  // -------------------------------------------------------------------------------------

  /** Report the whole steps of `position` not yet reported. */
  emit() {
    const steps = whole(this.position) - this.emitted;
    if (!steps) return;
    this.emitted += steps;
    this.unsettled = true;
    this.onTurn(steps);
  }

  /** The motion stopped: onSettle, if it turned anything. */
  settle() {
    if (!this.unsettled || this.turning) return;
    this.unsettled = false;
    this.onSettle();
  }
}
