// The sketchbook's selection, the URL hash and the history (docs/site.md, "The URL hash").
//
// `#kind=<kind>&view=<view>&<Part>=<finish id>&...`, each part of the kind in kind order,
// names URI-encoded. A Selection holds the current state ({entry, kind, values: Map over
// the entry's part names, view}) and the last state of every entry, writes each new state
// to the hash (pushed, or replaced) and follows the hash back (back, forward, a pasted
// link). Location and history are handed in, so that it runs outside a browser too.

/** The hash of a state, without the leading "#". */
export function hashOf(s) {
  const bits = [`kind=${encodeURIComponent(s.kind.id)}`, `view=${encodeURIComponent(s.view)}`];
  for (const p of s.kind.parts) {
    bits.push(`${encodeURIComponent(p.name)}=${s.values.get(p.name) ?? 0}`);
  }
  return bits.join("&");
}

/** A hash ("#..." or without "#") -> {kind, view, parts: Map part name -> finish id}. */
export function parseHash(hash) {
  const out = { kind: null, view: null, parts: new Map() };
  for (const item of hash.replace(/^#/, "").split("&")) {
    if (!item) continue;
    const at = item.indexOf("=");
    if (at < 0) continue;
    let name;
    let value;
    try {
      name = decodeURIComponent(item.slice(0, at).replace(/\+/g, " "));
      value = decodeURIComponent(item.slice(at + 1));
    } catch {
      continue;
    }
    if (name === "kind") out.kind = value;
    else if (name === "view") out.view = value;
    else if (/^\d+$/.test(value)) out.parts.set(name, Number(value));
  }
  return out;
}

export class Selection {
  /**
   * @param {import("./model.js").Model} model
   * @param {{location: {hash: string}, history: {pushState: Function, replaceState: Function},
   *          onChange?: (entryChanged: boolean) => void}} io
   */
  constructor(model, { location, history, onChange = () => {} }) {
    this.model = model;
    this.location = location;
    this.history = history;
    this.onChange = onChange;
    this.state = null;
    this.remembered = new Map(); // entry index -> last state there
  }

  /** Make `next` the current state: remember it, write the hash, tell the page. */
  set(next, { push = true } = {}) {
    const entryChanged = !this.state || this.state.entry !== next.entry;
    this.state = next;
    this.remembered.set(next.entry, next);
    this.writeHash(push);
    this.onChange(entryChanged);
  }

  writeHash(push) {
    const hash = `#${hashOf(this.state)}`;
    if (this.location.hash === hash) return;
    if (push) this.history.pushState(null, "", hash);
    else this.history.replaceState(null, "", hash);
  }

  /** The state an entry starts from: its last one, else its default in `view`. */
  entryStart(entry, view) {
    return this.remembered.get(entry.index) || this.model.entryDefault(entry, view);
  }

  /** A state from a parsed hash, or null when it names nothing usable. */
  fromHash(parsed) {
    const { model, state } = this;
    const data = model.data;
    if (!parsed.kind && !parsed.parts.size && !parsed.view) return null;
    const view = data.views.includes(parsed.view) ? parsed.view : state ? state.view : data.views[0];
    const kind = parsed.kind ? model.kinds.get(parsed.kind) : null;
    const fixed = new Set(parsed.parts.keys());
    if (kind && kind.entry !== undefined) {
      const entry = model.entries[kind.entry];
      const base = this.entryStart(entry, view);
      const wanted = new Map(base ? base.values : []);
      for (const [n, v] of parsed.parts) wanted.set(n, v);
      const values = model.resolve(kind, wanted, fixed) || model.resolve(kind, wanted, new Set());
      if (values) return { entry: entry.index, kind, values, view };
    }
    const found = this.fitAnywhere(parsed.parts);
    if (found) return { ...found, view };
    if (state) return { ...state, view };
    return null;
  }

  /** The best state over every entry (current entry first) that keeps `parts` exactly. */
  fitAnywhere(parts) {
    const { model, state } = this;
    const fixed = new Set(parts.keys());
    const order = state
      ? [model.entries[state.entry], ...model.entries.filter((e) => e.index !== state.entry)]
      : model.entries;
    for (const entry of order) {
      const base =
        state && state.entry === entry.index
          ? state
          : this.entryStart(entry, state ? state.view : model.data.views[0]);
      if (!base) continue;
      const wanted = new Map(base.values);
      for (const [n, v] of parts) wanted.set(n, v);
      const best = model.bestFit(entry.kinds, wanted, fixed, base.kind);
      if (best) return { entry: entry.index, kind: best.kind, values: best.values, view: base.view };
    }
    return null;
  }

  /**
   * The state `window.sketchbook.select(parts, options)` asks for (docs/site.md); throws an
   * Error when nothing fits, or for an unknown kind or view.
   */
  selected(parts = {}, options = {}) {
    const { model, state } = this;
    const wanted = new Map();
    for (const [name, value] of Object.entries(parts || {})) wanted.set(name, Number(value));
    let kind = null;
    if (options && options.kind !== undefined && options.kind !== null) {
      kind = model.kinds.get(options.kind);
      if (!kind || kind.entry === undefined) throw new Error(`sketchbook: unknown kind '${options.kind}'`);
    }
    let view = state.view;
    if (options && options.view !== undefined && options.view !== null) {
      if (!model.data.views.includes(options.view)) throw new Error(`sketchbook: unknown view '${options.view}'`);
      view = options.view;
    }
    let next;
    if (kind) {
      const entry = model.entries[kind.entry];
      const base = state.entry === entry.index ? state : this.entryStart(entry, view);
      const merged = new Map(base ? base.values : []);
      for (const [n, v] of wanted) merged.set(n, v);
      const values = model.resolve(kind, merged, new Set(wanted.keys()));
      if (values) next = { entry: entry.index, kind, values, view };
    } else {
      const found = this.fitAnywhere(wanted);
      if (found) next = { ...found, view };
    }
    if (!next) {
      throw new Error(`sketchbook: no colouring fits ${JSON.stringify(parts)}${kind ? ` in kind '${kind.id}'` : ""}`);
    }
    return next;
  }

  /** Follow the hash after back, forward or a link: in-page anchors change nothing. */
  followLocation() {
    if (!this.state) return;
    const hash = this.location.hash;
    if (hash === `#${hashOf(this.state)}`) return;
    // Other in-page links (#content, ...) are not selections: leave the state alone.
    if (hash && !hash.includes("=")) return;
    const next = hash ? this.fromHash(parseHash(hash)) : null;
    const target = next || this.model.entryDefault(this.model.entries[0], this.model.data.views[0]);
    if (target) this.set(target, { push: false });
  }
}
