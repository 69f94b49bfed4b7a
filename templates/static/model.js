// The sketchbook's model: what the page data allows and what is ready, without the page.
//
// Pure: no DOM, no location, no history. The page data (docs/site.md) is prepared once into
// a Model; its methods answer the catalog's rules (choices, charts, defaults), pick the
// kind that fits a selection, build a picture's addresses, find the nearest ready picture
// and count the ready pictures under a filter. Two kinds of page data: full pictures (one
// file per colouring, `kinds[].ready`, ready.js) and, at a layered quality (`data.layers`),
// pictures stacked from a backdrop and part layers (layers.js). A view may be a frame of a
// spin (`data.spins`, "Spins" below).

import { Layers, bounceWeight } from "./layers.js";
import { ReadySet, paletteMask } from "./ready.js";

export const PAGE_SIZE = 24;

/** A view's label: its id, capitalised. */
export function viewName(view) {
  return view.charAt(0).toUpperCase() + view.slice(1);
}

/** Whether an entry shows its kinds as a style switch (two or more kinds to switch). */
export function showsStyleSwitch(entry) {
  return Boolean(entry.style_switch) && entry.kinds.length > 1;
}

/** How many parts of `a` (a Map part name -> value) differ in `b` (absent counts as 0). */
export function differences(a, b) {
  let n = 0;
  for (const [name, value] of a) if ((b.get(name) ?? 0) !== value) n++;
  return n;
}

/** A filter (Map part name -> Set of values) from an object or Map of part -> list. */
export function toFilter(object) {
  const filter = new Map();
  if (!object) return filter;
  const pairs = object instanceof Map ? object.entries() : Object.entries(object);
  for (const [name, list] of pairs) {
    filter.set(name, new Set(Array.from(list || [], (v) => Number(v))));
  }
  return filter;
}

/**
 * A picture's copy `width` pixels wide (CATALOG_FORMAT.md, sitegen/sizes.py
 * `sized_address`): `<name>.w<W>.<ext>`. A width that is null, undefined or the full
 * width leaves the URL as it is (the full size has the plain name).
 */
export function sizedUrl(url, width, fullWidth = null) {
  if (width === null || width === undefined || width === fullWidth) return url;
  const dot = url.lastIndexOf(".");
  const slash = url.lastIndexOf("/");
  if (dot <= slash) throw new Error(`no extension in ${url}`);
  return `${url.slice(0, dot)}.w${width}${url.slice(dot)}`;
}

/**
 * The width to load for a picture shown `cssWidth` CSS pixels wide at `dpr` device pixels
 * per CSS pixel: the smallest of `sizes` (the quality's smaller widths) that is at least
 * cssWidth * dpr, else the full width.
 */
export function chooseWidth(sizes, fullWidth, cssWidth, dpr = 1) {
  const needed = cssWidth * (dpr > 0 ? dpr : 1);
  let best = fullWidth;
  for (const w of sizes || []) if (w < fullWidth && w >= needed && w < best) best = w;
  return best;
}

/** A `srcset` (w descriptors): every smaller size, then the full width (the plain name). */
export function srcsetOf(url, sizes, fullWidth) {
  const widths = [...new Set((sizes || []).filter((w) => w < fullWidth))].sort((a, b) => a - b);
  return [...widths.map((w) => `${sizedUrl(url, w)} ${w}w`), `${url} ${fullWidth}w`].join(", ");
}

/** A count as a number when that is exact (below 2^53), else as the exact BigInt. */
export function exact(n) {
  return typeof n === "bigint" && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

// ---------------------------------------------------------------------------------------
// Spins (issue 13)
//
// A spin is a view the shopper turns frame by frame. The page data's `spins` maps a spin id
// to its number of frames N ({"spin": 12}; absent or {} when there is none), and `views`
// lists every frame as a view of its own: `<id>-<f>`, f = 1..N written with as many digits
// as N has (N = 24: spin-01..spin-24; N = 4: spin-1..spin-4). View ids never contain "-",
// so a frame's name splits at its one "-". A view is a frame only when its spin is in
// `spins`, its number has exactly N's digits and lies in 1..N; every other view is plain.
//
// Turning wraps around (after the last frame, the first; before the first, the last).
// Frames "around" a frame are ordered by circular distance, nearest first; of two frames
// equally far, the one before (f - d) comes first. That one order serves both what to
// preload (`neighbours`) and which ready frame stands in for one not rendered yet
// (`Model.nearestShown`).

/** The spin frame `view` is, {spin, frame (1-based), frames}, or null for a plain view. */
export function frameOf(view, spins) {
  if (!spins || typeof view !== "string") return null;
  const at = view.indexOf("-");
  if (at <= 0) return null;
  const spin = view.slice(0, at);
  const frames = Object.prototype.hasOwnProperty.call(spins, spin) ? spins[spin] : undefined;
  if (!Number.isInteger(frames) || frames < 1) return null;
  const digits = view.slice(at + 1);
  if (!/^\d+$/.test(digits) || digits.length !== String(frames).length) return null;
  const frame = Number(digits);
  return frame >= 1 && frame <= frames ? { spin, frame, frames } : null;
}

/** The view name of frame `frame` (1-based) of a spin of `frames` frames: `spin-07`. */
export function frameName(spin, frame, frames) {
  return `${spin}-${String(frame).padStart(String(frames).length, "0")}`;
}

/**
 * The view buttons a page shows, in the order of first appearance in `views`:
 * [{id, view, frames}], a plain view as itself ({id: view, view, frames: null}), each spin
 * once ({id: spin, view: its first frame listed, frames: N}).
 */
export function viewGroups(views, spins) {
  const groups = [];
  const seen = new Set();
  for (const view of views) {
    const at = frameOf(view, spins);
    if (at === null) groups.push({ id: view, view, frames: null });
    else if (!seen.has(at.spin)) {
      seen.add(at.spin);
      groups.push({ id: at.spin, view, frames: at.frames });
    }
  }
  return groups;
}

/** The frame `steps` (an integer, negative turns back) from `view`, wrapping around; a plain view stays. */
export function turn(view, steps, spins) {
  const at = frameOf(view, spins);
  if (at === null) return view;
  const n = at.frames;
  const index = (((at.frame - 1 + Math.trunc(steps)) % n) + n) % n;
  return frameName(at.spin, index + 1, n);
}

/** Every other frame of `view`'s spin, nearest first (of two equally far, the one before); [] for a plain view. */
export function framesAround(view, spins) {
  const at = frameOf(view, spins);
  if (at === null) return [];
  const out = [];
  for (let d = 1; 2 * d <= at.frames; d++) {
    out.push(turn(view, -d, spins));
    if (2 * d < at.frames) out.push(turn(view, d, spins)); // N even: f - N/2 is f + N/2
  }
  return out;
}

/** The frames to preload around `view`: up to `k` on each side, nearest first (framesAround's order). */
export function neighbours(view, spins, k = 2) {
  return framesAround(view, spins).slice(0, 2 * Math.max(0, k));
}

/**
 * The prepared page data. A state, where methods take one, is
 * {entry, kind, values: Map over the entry's part names, view}.
 */
export class Model {
  /**
   * @param {object} raw the page data (data.json)
   * @param {string} pageUrl the page's address, against which `renders_url` is resolved
   */
  constructor(raw, pageUrl) {
    if (!raw || typeof raw !== "object" || !raw.kinds || !Array.isArray(raw.entries)) {
      throw new Error("the page data is not a sketchbook (docs/site.md)");
    }
    this.data = raw;
    this.rendersBase = new URL(raw.renders_url || "", pageUrl).href;
    // The full size (the plain name) and the smaller widths each picture also has.
    this.resolution = Array.isArray(raw.resolution) ? raw.resolution : null;
    this.fullWidth = this.resolution ? this.resolution[0] : null;
    this.sizes = this.fullWidth ? [...(raw.sizes || [])].filter((w) => w < this.fullWidth).sort((a, b) => a - b) : [];
    this.kinds = new Map(); // kind id -> prepared kind
    for (const [id, kind] of Object.entries(raw.kinds)) {
      const index = new Map(kind.parts.map((p, i) => [p.name, i]));
      const positions = kind.parts.map((p) => new Map(p.palette.map((v, i) => [v, i])));
      this.kinds.set(id, { ...kind, id, index, positions, sets: new Map() });
    }
    this.entries = raw.entries.map((entry, i) => ({
      ...entry,
      index: i,
      kinds: entry.kinds.filter((k) => this.kinds.has(k)).map((k) => this.kinds.get(k)),
    }));
    for (const entry of this.entries) for (const k of entry.kinds) k.entry = entry.index;
    // Layers, at a layered quality (data.layers); null for full pictures.
    this.layers = raw.layers ? new Layers(raw, this.kinds.values()) : null;
    // Spins: spin id -> frames ({} when there is none); the views, to check a frame is one.
    this.spins = raw.spins && typeof raw.spins === "object" ? raw.spins : {};
    this.views = new Set(raw.views || []);
  }

  /** The spin frame a view is, {spin, frame, frames}, or null for a plain view (see frameOf). */
  frameOf(view) {
    return frameOf(view, this.spins);
  }

  /** The page's view buttons (see viewGroups). */
  viewGroups() {
    return viewGroups(this.data.views || [], this.spins);
  }

  /** The frame `steps` from `view`, wrapping around (see turn). */
  turn(view, steps) {
    return turn(view, steps, this.spins);
  }

  /** The frames to preload around `view`, nearest first (see neighbours). */
  neighbours(view, k = 2) {
    return neighbours(view, this.spins, k).filter((v) => this.views.has(v));
  }

  /** The ready set of a kind in a view (decoded on first use, then kept). */
  readySet(kind, view) {
    let set = kind.sets.get(view);
    if (set === undefined) {
      const rows = kind.ready ? kind.ready[view] : undefined;
      const dup = kind.duplicate ? kind.duplicate[view] : undefined;
      set = new ReadySet(rows || "", kind.parts.length, dup);
      kind.sets.set(view, set);
    }
    return set;
  }

  finishName(value) {
    if (value === 0) return "removed";
    const finish = this.data.finishes[value];
    return finish ? finish.name : `#${value}`;
  }

  patternName(id) {
    const pattern = this.data.patterns[id];
    return pattern ? pattern.name : id;
  }

  // -------------------------------------------------------------------------------------
  // Colourings: choices, resolution, keys

  /** A part's choices, given the values (by part name) chosen so far. */
  choicesOf(kind, i, values) {
    const part = kind.parts[i];
    if (part.source === null || part.source === undefined) return part.choices;
    const s = values.get(kind.parts[part.source].name) ?? 0;
    if (s === 0) return [0];
    const listed = part.chart ? part.chart[String(s)] : undefined;
    return listed ?? part.missing ?? [];
  }

  defaultFor(kind, i, choices) {
    const part = kind.parts[i];
    const plain = part.source === null || part.source === undefined;
    const d = kind.default ? kind.default[i] : undefined;
    return plain && d !== undefined && choices.includes(d) ? d : choices[0];
  }

  /**
   * A colouring of `kind` close to `wanted` (a Map part name -> value): parts named in
   * `fixed` must keep their wanted value; the others keep theirs where still allowed, else
   * take the part's default (a charted part: its first choice). Returns a Map over the
   * entry's part names (0 for parts the kind lacks), or null when no colouring fits.
   */
  resolve(kind, wanted, fixed) {
    const entry = this.entries[kind.entry];
    const out = new Map();
    for (let i = 0; i < kind.parts.length; i++) {
      const name = kind.parts[i].name;
      const choices = this.choicesOf(kind, i, out);
      if (!choices.length) return null;
      let value = wanted.get(name);
      if (fixed.has(name)) {
        if (!choices.includes(value)) return null;
      } else if (value === undefined || !choices.includes(value)) {
        value = this.defaultFor(kind, i, choices);
      }
      out.set(name, value);
    }
    for (const name of fixed) {
      if (!kind.index.has(name) && wanted.get(name) !== 0) return null;
    }
    const values = new Map();
    for (const name of entry.parts) values.set(name, out.get(name) ?? 0);
    return values;
  }

  /**
   * The best colouring among `candidates` kinds that keeps `fixed` parts of `wanted`:
   * fewest other parts changed, then the current kind, then entry order.
   */
  bestFit(candidates, wanted, fixed, currentKind) {
    let best = null;
    for (const kind of candidates) {
      const values = this.resolve(kind, wanted, fixed);
      if (values === null) continue;
      const cost = 2 * differences(values, wanted) + (kind === currentKind ? 0 : 1);
      if (best === null || cost < best.cost) best = { kind, values, cost };
    }
    return best;
  }

  /** The entry's starting state: the default colouring of its first kind that has one. */
  entryDefault(entry, view) {
    for (const kind of entry.kinds) {
      if (!kind.default) continue;
      const values = new Map(entry.parts.map((n) => [n, 0]));
      kind.parts.forEach((p, i) => values.set(p.name, kind.default[i]));
      return { entry: entry.index, kind, values, view };
    }
    return null;
  }

  indicesOf(kind, values) {
    const out = new Int32Array(kind.parts.length);
    kind.parts.forEach((p, i) => {
      const at = kind.positions[i].get(values.get(p.name) ?? 0);
      out[i] = at === undefined ? -1 : at;
    });
    return out;
  }

  /** The picture's key: `<mesh>-<finish>` for every mesh of the model, joined by `_`. */
  keyOf(kind, values) {
    const byMesh = new Array(this.data.meshes.length).fill(0);
    kind.parts.forEach((p) => {
      const value = values.get(p.name) ?? 0;
      for (const m of p.meshes) byMesh[m] = value;
    });
    return this.data.meshes.map((mesh, i) => `${mesh}-${byMesh[i]}`).join("_");
  }

  /** The kind's values, one per part in kind order, from a Map part name -> value. */
  arrayOf(kind, values) {
    return kind.parts.map((p) => values.get(p.name) ?? 0);
  }

  /** The entry's values (a Map over the entry's part names) from one value per kind part. */
  entryValues(kind, array) {
    const values = new Map(this.entries[kind.entry].parts.map((n) => [n, 0]));
    kind.parts.forEach((p, i) => values.set(p.name, array[i]));
    return values;
  }

  /**
   * Every URL the picture is made of: the picture itself, or at a layered quality the
   * backdrop and then each present part's layer, in kind order.
   */
  pictureUrls(kind, values, view, thumb = false, width = null) {
    const data = this.data;
    const tail = thumb ? data.thumb_suffix || ".thumb.webp" : `.${data.ext}`;
    const names = this.layers
      ? this.layers.names(kind, this.arrayOf(kind, values))
      : [this.keyOf(kind, values)];
    const sized = !thumb && width !== null && width !== this.fullWidth && this.sizes.includes(width);
    return names.map((name) => {
      const url = `${this.rendersBase}${data.quality}/${data.model}/${view}/${name}${tail}`;
      return sized ? sizedUrl(url, width) : url;
    });
  }

  /**
   * The bounce images of a layered picture with neighbours' light, when all are ready:
   * [{item, url, colours}] (item: index into `pictureUrls`; colours: its strips' weights,
   * layers.js `bounceWeight`); else null (the page stacks without them).
   */
  bounceImages(kind, values, view) {
    if (!this.layers) return null;
    const found = this.layers.bounceNames(kind, this.arrayOf(kind, values), view);
    if (!found) return null;
    const data = this.data;
    const images = [];
    const neutral = (data.bounce || {}).neutral;
    if (!neutral) return null;
    for (const { item, name, finishes } of found) {
      const lights = finishes.map((f) => (data.finishes[String(f)] || {}).light);
      if (lights.some((c) => !c)) return null;
      const colours = lights.map((c) => bounceWeight(c, neutral));
      images.push({ item, url: `${this.rendersBase}${data.quality}/${data.model}/${view}/${name}.${data.ext}`, colours });
    }
    return images;
  }

  /** The picture's URL (at a layered quality: its backdrop's). */
  pictureUrl(kind, values, view, thumb = false, width = null) {
    return this.pictureUrls(kind, values, view, thumb, width)[0];
  }

  /** The width to load for a picture shown `cssWidth` CSS pixels wide (see chooseWidth). */
  widthFor(cssWidth, dpr = 1) {
    return chooseWidth(this.sizes, this.fullWidth, cssWidth, dpr);
  }

  /** The `srcset` of a picture's (full-size, plain) URL: every size and the full width. */
  srcset(url) {
    return this.fullWidth ? srcsetOf(url, this.sizes, this.fullWidth) : null;
  }

  /** Whether the colouring's picture (at a layered quality: every layer) is ready. */
  isReady(kind, values, view) {
    if (this.layers) return this.layers.isReady(kind, this.arrayOf(kind, values), view);
    const idx = this.indicesOf(kind, values);
    if (idx.includes(-1)) return false;
    return this.readySet(kind, view).has(idx);
  }

  valuesOfRow(kind, set, row) {
    const r = set.row(row);
    const values = new Map(this.entries[kind.entry].parts.map((n) => [n, 0]));
    kind.parts.forEach((p, i) => values.set(p.name, p.palette[r[i]]));
    return values;
  }

  /** A colouring in words: the product, the kind where asked, each part's finish. */
  describe(kind, values, withKind) {
    const bits = [this.data.product.name];
    if (withKind) bits.push(kind.name);
    for (const p of kind.parts) bits.push(`${p.name}: ${this.finishName(values.get(p.name) ?? 0)}`);
    return bits.join(", ");
  }

  /**
   * The ready picture nearest to a selection in one view, within its entry: fewest parts
   * differing (in a style-switch entry another kind counts as one more difference).
   * Returns {kind, values} or null.
   */
  nearestReady(state, view) {
    const entry = this.entries[state.entry];
    const layers = this.layers;
    const order = [state.kind, ...entry.kinds.filter((k) => k !== state.kind)];
    let best = null;
    let bound = Infinity;
    for (const kind of order) {
      let extra = kind !== state.kind && entry.style_switch ? 1 : 0;
      for (const name of entry.parts) {
        if (!kind.index.has(name) && (state.values.get(name) ?? 0) !== 0) extra++;
      }
      if (extra >= bound) continue;
      if (layers) {
        // Branch and bound over the kind's parts, restricted to ready layers (layers.js).
        const found = layers.nearest(kind, this.arrayOf(kind, state.values), view, extra, bound);
        if (found !== null && found.distance < bound) {
          best = { kind, values: this.entryValues(kind, found.values) };
          bound = found.distance;
        }
        continue;
      }
      const set = this.readySet(kind, view);
      if (!set.size) continue;
      const [row, distance] = set.nearest(this.indicesOf(kind, state.values), extra, bound);
      if (row >= 0 && distance < bound) {
        best = { kind, row, set };
        bound = distance;
      }
    }
    if (best === null) return null;
    if (layers) return best;
    return { kind: best.kind, values: this.valuesOfRow(best.kind, best.set, best.row) };
  }

  /**
   * What to show for a state in a view: {kind, values, view, exact}, or null when nothing
   * is ready. In order: the picture itself (exact: true); in a spin frame, the same
   * colouring in the nearest ready frame (framesAround's order: circular distance, the
   * frame before first on a tie); the nearest ready colouring in the view (nearestReady);
   * and, in a frame where no colouring is ready at all, the nearest ready colouring in the
   * nearest frame that has one. `view` is the view chosen, so the page can say "frame 5"
   * as well as what colouring differs. Works alike for full pictures and layers.
   */
  nearestShown(state, view = state.view) {
    const { kind, values } = state;
    if (this.isReady(kind, values, view)) return { kind, values, view, exact: true };
    const around = framesAround(view, this.spins).filter((v) => this.views.has(v));
    for (const frame of around) {
      if (this.isReady(kind, values, frame)) return { kind, values, view: frame, exact: false };
    }
    for (const v of [view, ...around]) {
      const found = this.nearestReady(state, v);
      if (found) return { kind: found.kind, values: found.values, view: v, exact: false };
    }
    return null;
  }

  // -------------------------------------------------------------------------------------
  // Counting ready pictures under a filter

  /** filter: Map part name -> Set of values (an absent part is unconstrained). */
  kindConstraints(kind, filter) {
    const constraints = [];
    for (const [name, allowedValues] of filter) {
      const i = kind.index.get(name);
      if (i === undefined) {
        if (!allowedValues.has(0)) return null; // the kind lacks the part: it is 0 there
        continue;
      }
      constraints.push([i, paletteMask(kind.parts[i].palette, allowedValues)]);
    }
    return constraints;
  }

  /** How many ready pictures of the entry match: a number, or a BigInt at a layered quality. */
  count(entry, view, filter) {
    if (this.layers) return this.layers.count(entry.kinds, view, filter);
    let total = 0;
    for (const kind of entry.kinds) {
      const constraints = this.kindConstraints(kind, filter);
      if (constraints !== null) total += this.readySet(kind, view).count(constraints);
    }
    return total;
  }

  matchesIn(entry, view, filter) {
    const out = [];
    for (const kind of entry.kinds) {
      const constraints = this.kindConstraints(kind, filter);
      if (constraints === null) continue;
      const set = this.readySet(kind, view);
      out.push({ kind, set, rows: set.matches(constraints) });
    }
    return out;
  }

  /** One page of matching ready colourings: [{kind, values}], values over the entry's parts. */
  galleryPageItems(entry, view, filter, page) {
    const items = [];
    if (this.layers) {
      // Lazily, from the page's first colouring on (layers.js skips whole subtrees by count).
      const start = BigInt(page) * BigInt(PAGE_SIZE);
      for (const { kind, values } of this.layers.walk(entry.kinds, view, filter, start)) {
        items.push({ kind, values: this.entryValues(kind, values) });
        if (items.length >= PAGE_SIZE) break;
      }
      return items;
    }
    let skip = page * PAGE_SIZE;
    for (const { kind, set, rows } of this.matchesIn(entry, view, filter)) {
      if (skip >= rows.length) {
        skip -= rows.length;
        continue;
      }
      for (let j = skip; j < rows.length && items.length < PAGE_SIZE; j++) {
        items.push({ kind, values: this.valuesOfRow(kind, set, rows[j]) });
      }
      skip = 0;
      if (items.length >= PAGE_SIZE) break;
    }
    return items;
  }

  /** Every value a part takes over the entry's kinds (0 when optional or lacking in a kind). */
  filterValues(entry, name) {
    const values = [];
    const seen = new Set();
    let zero = false;
    for (const kind of entry.kinds) {
      const i = kind.index.get(name);
      if (i === undefined) {
        zero = true;
        continue;
      }
      for (const v of kind.parts[i].palette) {
        if (v === 0) zero = true;
        else if (!seen.has(v)) {
          seen.add(v);
          values.push(v);
        }
      }
    }
    if (zero) values.push(0);
    return values;
  }

  /** Finishes by pattern, in the order given (0 left out): Map pattern -> [values]. */
  groupByPattern(values) {
    const groups = new Map();
    for (const v of values) {
      if (v === 0) continue;
      const pattern = (this.data.finishes[v] || {}).pattern || "";
      if (!groups.has(pattern)) groups.set(pattern, []);
      groups.get(pattern).push(v);
    }
    return groups;
  }

  // -------------------------------------------------------------------------------------
  // Picking a finish in a state

  /** Kinds whose palettes a part shows: with a style switch only the current kind's. */
  paletteKinds(state) {
    const entry = this.entries[state.entry];
    return showsStyleSwitch(entry) ? [state.kind] : entry.kinds;
  }

  /** The best state after picking `value` for part `name`, or null. */
  fitPick(state, name, value) {
    const wanted = new Map(state.values);
    wanted.set(name, value);
    const best = this.bestFit(this.paletteKinds(state), wanted, new Set([name]), state.kind);
    return best && { entry: state.entry, kind: best.kind, values: best.values, view: state.view };
  }

  /** What a part's palette shows in a state: {visible, values, optional, absent}. */
  partPalette(state, name) {
    const values = [];
    const seen = new Set();
    let absent = false;
    let charted = true;
    let optional = false;
    for (const kind of this.paletteKinds(state)) {
      const i = kind.index.get(name);
      if (i === undefined) {
        absent = true;
        continue;
      }
      const part = kind.parts[i];
      if (part.source === null || part.source === undefined) charted = false;
      if (part.optional) optional = true;
      for (const v of this.choicesOf(kind, i, state.values)) {
        if (!seen.has(v)) {
          seen.add(v);
          values.push(v);
        }
      }
    }
    const switched = showsStyleSwitch(this.entries[state.entry]);
    if (absent && values.length && !switched) {
      if (!seen.has(0)) values.push(0);
    }
    // A charted part is only asked about when its chart leaves a real choice.
    const visible = values.length > (charted ? 1 : 0) && !(absent && switched);
    return { visible, values, optional, absent };
  }
}
