// The sketchbook: pick finishes part by part and see the matching pre-rendered picture.
//
// Everything happens here, in the browser: the page data (docs/site.md) says which
// colourings are allowed and which have a picture; the picture's address is built from the
// selection. Text from the data is only ever inserted with textContent / DOM APIs.
//
// Two kinds of page data: full pictures (one file per colouring, `kinds[].ready`) and, at a
// layered quality (`data.layers`), pictures stacked from a backdrop and part layers
// (layers.js).

import { Layers, paintLinear } from "./layers-7c9551c6f9.js";
import { ReadySet, paletteMask } from "./ready-9a64a56bc6.js";

const PAGE_SIZE = 24;

let resolveReady;
let rejectReady;
const ready = new Promise((resolve, reject) => {
  resolveReady = resolve;
  rejectReady = reject;
});
ready.catch(() => {}); // a failed load is shown on the page; awaiting callers still see it

const api = { ready, select, selection, imageUrl, imageUrls, count, isReady };
window.sketchbook = api;

// ---------------------------------------------------------------------------------------
// Page data, prepared once

let data = null; // data.json
let kinds = null; // Map kind id -> prepared kind
let entries = null; // prepared entries
let rendersBase = "";
let layers = null; // Layers, at a layered quality (data.layers); null for full pictures

function prepare(raw) {
  if (!raw || typeof raw !== "object" || !raw.kinds || !Array.isArray(raw.entries)) {
    throw new Error("the page data is not a sketchbook (docs/site.md)");
  }
  data = raw;
  rendersBase = new URL(raw.renders_url || "", location.href).href;
  kinds = new Map();
  for (const [id, kind] of Object.entries(raw.kinds)) {
    const index = new Map(kind.parts.map((p, i) => [p.name, i]));
    const positions = kind.parts.map((p) => new Map(p.palette.map((v, i) => [v, i])));
    kinds.set(id, { ...kind, id, index, positions, sets: new Map() });
  }
  entries = raw.entries.map((entry, i) => ({
    ...entry,
    index: i,
    kinds: entry.kinds.filter((k) => kinds.has(k)).map((k) => kinds.get(k)),
  }));
  for (const entry of entries) for (const k of entry.kinds) k.entry = entry.index;
  layers = raw.layers ? new Layers(raw, kinds.values()) : null;
}

/** The ready set of a kind in a view (decoded on first use, then kept). */
function readySet(kind, view) {
  let set = kind.sets.get(view);
  if (set === undefined) {
    const rows = kind.ready ? kind.ready[view] : undefined;
    const dup = kind.duplicate ? kind.duplicate[view] : undefined;
    set = new ReadySet(rows || "", kind.parts.length, dup);
    kind.sets.set(view, set);
  }
  return set;
}

function finishName(value) {
  if (value === 0) return "removed";
  const finish = data.finishes[value];
  return finish ? finish.name : `#${value}`;
}

function patternName(id) {
  const pattern = data.patterns[id];
  return pattern ? pattern.name : id;
}

function viewName(view) {
  return view.charAt(0).toUpperCase() + view.slice(1);
}

// ---------------------------------------------------------------------------------------
// Colourings: choices, resolution, keys

/** A part's choices, given the values (by part name) chosen so far. */
function choicesOf(kind, i, values) {
  const part = kind.parts[i];
  if (part.source === null || part.source === undefined) return part.choices;
  const s = values.get(kind.parts[part.source].name) ?? 0;
  if (s === 0) return [0];
  const listed = part.chart ? part.chart[String(s)] : undefined;
  return listed ?? part.missing ?? [];
}

function defaultFor(kind, i, choices) {
  const part = kind.parts[i];
  const plain = part.source === null || part.source === undefined;
  const d = kind.default ? kind.default[i] : undefined;
  return plain && d !== undefined && choices.includes(d) ? d : choices[0];
}

/**
 * A colouring of `kind` close to `wanted` (a Map part name -> value): parts named in `fixed`
 * must keep their wanted value; the others keep theirs where still allowed, else take the
 * part's default (a charted part: its first choice). Returns a Map over the entry's part
 * names (0 for parts the kind lacks), or null when no colouring fits.
 */
function resolve(kind, wanted, fixed) {
  const entry = entries[kind.entry];
  const out = new Map();
  for (let i = 0; i < kind.parts.length; i++) {
    const name = kind.parts[i].name;
    const choices = choicesOf(kind, i, out);
    if (!choices.length) return null;
    let value = wanted.get(name);
    if (fixed.has(name)) {
      if (!choices.includes(value)) return null;
    } else if (value === undefined || !choices.includes(value)) {
      value = defaultFor(kind, i, choices);
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

function differences(a, b) {
  let n = 0;
  for (const [name, value] of a) if ((b.get(name) ?? 0) !== value) n++;
  return n;
}

/**
 * The best colouring among `candidates` kinds that keeps `fixed` parts of `wanted`: fewest
 * other parts changed, then the current kind, then entry order.
 */
function bestFit(candidates, wanted, fixed, currentKind) {
  let best = null;
  for (const kind of candidates) {
    const values = resolve(kind, wanted, fixed);
    if (values === null) continue;
    const cost = 2 * differences(values, wanted) + (kind === currentKind ? 0 : 1);
    if (best === null || cost < best.cost) best = { kind, values, cost };
  }
  return best;
}

/** The entry's starting state: the default colouring of its first kind that has one. */
function entryDefault(entry, view) {
  for (const kind of entry.kinds) {
    if (!kind.default) continue;
    const values = new Map(entry.parts.map((n) => [n, 0]));
    kind.parts.forEach((p, i) => values.set(p.name, kind.default[i]));
    return { entry: entry.index, kind, values, view };
  }
  return null;
}

function indicesOf(kind, values) {
  const out = new Int32Array(kind.parts.length);
  kind.parts.forEach((p, i) => {
    const at = kind.positions[i].get(values.get(p.name) ?? 0);
    out[i] = at === undefined ? -1 : at;
  });
  return out;
}

function keyOf(kind, values) {
  const byMesh = new Array(data.meshes.length).fill(0);
  kind.parts.forEach((p) => {
    const value = values.get(p.name) ?? 0;
    for (const m of p.meshes) byMesh[m] = value;
  });
  return data.meshes.map((mesh, i) => `${mesh}-${byMesh[i]}`).join("_");
}

/** The kind's values, one per part in kind order, from a Map part name -> value. */
function arrayOf(kind, values) {
  return kind.parts.map((p) => values.get(p.name) ?? 0);
}

/** The entry's values (a Map over the entry's part names) from one value per kind part. */
function entryValues(kind, array) {
  const values = new Map(entries[kind.entry].parts.map((n) => [n, 0]));
  kind.parts.forEach((p, i) => values.set(p.name, array[i]));
  return values;
}

/**
 * Every URL the picture is made of: the picture itself, or at a layered quality the
 * backdrop and then each present part's layer, in kind order.
 */
function pictureUrls(kind, values, view, thumb = false) {
  const tail = thumb ? data.thumb_suffix || ".thumb.webp" : `.${data.ext}`;
  const names = layers ? layers.names(kind, arrayOf(kind, values)) : [keyOf(kind, values)];
  return names.map((name) => `${rendersBase}${data.quality}/${data.model}/${view}/${name}${tail}`);
}

/** The picture's URL (at a layered quality: its backdrop's). */
function pictureUrl(kind, values, view, thumb = false) {
  return pictureUrls(kind, values, view, thumb)[0];
}

function isReadyIn(kind, values, view) {
  if (layers) return layers.isReady(kind, arrayOf(kind, values), view);
  const idx = indicesOf(kind, values);
  if (idx.includes(-1)) return false;
  return readySet(kind, view).has(idx);
}

function valuesOfRow(kind, set, row) {
  const r = set.row(row);
  const values = new Map(entries[kind.entry].parts.map((n) => [n, 0]));
  kind.parts.forEach((p, i) => values.set(p.name, p.palette[r[i]]));
  return values;
}

function describe(kind, values, withKind) {
  const bits = [data.product.name];
  if (withKind) bits.push(kind.name);
  for (const p of kind.parts) bits.push(`${p.name}: ${finishName(values.get(p.name) ?? 0)}`);
  return bits.join(", ");
}

function showsStyleSwitch(entry) {
  return Boolean(entry.style_switch) && entry.kinds.length > 1;
}

/**
 * The ready picture nearest to a selection in one view, within its entry: fewest parts
 * differing (in a style-switch entry another kind counts as one more difference).
 */
function nearestReady(state, view) {
  const entry = entries[state.entry];
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
      const found = layers.nearest(kind, arrayOf(kind, state.values), view, extra, bound);
      if (found !== null && found.distance < bound) {
        best = { kind, values: entryValues(kind, found.values) };
        bound = found.distance;
      }
      continue;
    }
    const set = readySet(kind, view);
    if (!set.size) continue;
    const [row, distance] = set.nearest(indicesOf(kind, state.values), extra, bound);
    if (row >= 0 && distance < bound) {
      best = { kind, row, set };
      bound = distance;
    }
  }
  if (best === null) return null;
  if (layers) return best;
  return { kind: best.kind, values: valuesOfRow(best.kind, best.set, best.row) };
}

// ---------------------------------------------------------------------------------------
// Counting ready pictures under a filter

/** filter: Map part name -> Set of values (an absent part is unconstrained). */
function kindConstraints(kind, filter) {
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
function countIn(entry, view, filter) {
  if (layers) return layers.count(entry.kinds, view, filter);
  let total = 0;
  for (const kind of entry.kinds) {
    const constraints = kindConstraints(kind, filter);
    if (constraints !== null) total += readySet(kind, view).count(constraints);
  }
  return total;
}

function matchesIn(entry, view, filter) {
  const out = [];
  for (const kind of entry.kinds) {
    const constraints = kindConstraints(kind, filter);
    if (constraints === null) continue;
    const set = readySet(kind, view);
    out.push({ kind, set, rows: set.matches(constraints) });
  }
  return out;
}

function toFilter(object) {
  const filter = new Map();
  if (!object) return filter;
  const pairs = object instanceof Map ? object.entries() : Object.entries(object);
  for (const [name, list] of pairs) {
    filter.set(name, new Set(Array.from(list || [], (v) => Number(v))));
  }
  return filter;
}

// ---------------------------------------------------------------------------------------
// State, history and the URL hash

let state = null; // {entry, kind, values: Map part name -> value, view}
const remembered = new Map(); // entry index -> last state there
const filters = new Map(); // entry index -> Map part name -> Set of values
const restoreValues = new Map(); // "entry|part" -> last finish before "Remove"
let galleryPage = 0;

function hashOf(s) {
  const bits = [`kind=${encodeURIComponent(s.kind.id)}`, `view=${encodeURIComponent(s.view)}`];
  for (const p of s.kind.parts) {
    bits.push(`${encodeURIComponent(p.name)}=${s.values.get(p.name) ?? 0}`);
  }
  return bits.join("&");
}

function parseHash(hash) {
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

function writeHash(push) {
  const hash = `#${hashOf(state)}`;
  if (location.hash === hash) return;
  if (push) history.pushState(null, "", hash);
  else history.replaceState(null, "", hash);
}

function setState(next, { push = true } = {}) {
  const entryChanged = !state || state.entry !== next.entry;
  state = next;
  remembered.set(next.entry, next);
  if (entryChanged) galleryPage = 0;
  writeHash(push);
  render(entryChanged);
}

/** A state from a parsed hash, or null when it names nothing usable. */
function stateFromHash(parsed) {
  if (!parsed.kind && !parsed.parts.size && !parsed.view) return null;
  const view = data.views.includes(parsed.view) ? parsed.view : state ? state.view : data.views[0];
  const kind = parsed.kind ? kinds.get(parsed.kind) : null;
  const fixed = new Set(parsed.parts.keys());
  if (kind && kind.entry !== undefined) {
    const entry = entries[kind.entry];
    const base = remembered.get(entry.index) || entryDefault(entry, view);
    const wanted = new Map(base ? base.values : []);
    for (const [n, v] of parsed.parts) wanted.set(n, v);
    const values = resolve(kind, wanted, fixed) || resolve(kind, wanted, new Set());
    if (values) return { entry: entry.index, kind, values, view };
  }
  const found = fitAnywhere(parsed.parts);
  if (found) return { ...found, view };
  if (state) return { ...state, view };
  return null;
}

/** The best state over every entry (current entry first) that keeps `parts` exactly. */
function fitAnywhere(parts) {
  const fixed = new Set(parts.keys());
  const order = state
    ? [entries[state.entry], ...entries.filter((e) => e.index !== state.entry)]
    : entries;
  for (const entry of order) {
    const base =
      state && state.entry === entry.index
        ? state
        : remembered.get(entry.index) || entryDefault(entry, state ? state.view : data.views[0]);
    if (!base) continue;
    const wanted = new Map(base.values);
    for (const [n, v] of parts) wanted.set(n, v);
    const best = bestFit(entry.kinds, wanted, fixed, base.kind);
    if (best) return { entry: entry.index, kind: best.kind, values: best.values, view: base.view };
  }
  return null;
}

function onLocationChange() {
  if (!data || !state) return;
  if (location.hash === `#${hashOf(state)}`) return;
  // Other in-page links (#content, ...) are not selections: leave the state alone.
  if (location.hash && !location.hash.includes("=")) return;
  const next = location.hash ? stateFromHash(parseHash(location.hash)) : null;
  const target = next || entryDefault(entries[0], data.views[0]);
  if (target) setState(target, { push: false });
}

// ---------------------------------------------------------------------------------------
// window.sketchbook

function requireData() {
  if (!data || !state) throw new Error("sketchbook: data not loaded yet (await sketchbook.ready)");
}

/** Select finishes: parts maps part names to finish ids (0 = removed). */
function select(parts = {}, options = {}) {
  requireData();
  const wanted = new Map();
  for (const [name, value] of Object.entries(parts || {})) wanted.set(name, Number(value));
  let kind = null;
  if (options && options.kind !== undefined && options.kind !== null) {
    kind = kinds.get(options.kind);
    if (!kind || kind.entry === undefined) throw new Error(`sketchbook: unknown kind '${options.kind}'`);
  }
  let view = state.view;
  if (options && options.view !== undefined && options.view !== null) {
    if (!data.views.includes(options.view)) throw new Error(`sketchbook: unknown view '${options.view}'`);
    view = options.view;
  }
  let next;
  if (kind) {
    const entry = entries[kind.entry];
    const base = state.entry === entry.index ? state : remembered.get(entry.index) || entryDefault(entry, view);
    const merged = new Map(base ? base.values : []);
    for (const [n, v] of wanted) merged.set(n, v);
    const values = resolve(kind, merged, new Set(wanted.keys()));
    if (values) next = { entry: entry.index, kind, values, view };
  } else {
    const found = fitAnywhere(wanted);
    if (found) next = { ...found, view };
  }
  if (!next) {
    throw new Error(`sketchbook: no colouring fits ${JSON.stringify(parts)}${kind ? ` in kind '${kind.id}'` : ""}`);
  }
  setState(next);
  return selection();
}

function selection() {
  requireData();
  const parts = {};
  for (const p of state.kind.parts) parts[p.name] = state.values.get(p.name) ?? 0;
  return { product: data.product.id, kind: state.kind.id, parts };
}

function imageUrl() {
  requireData();
  return pictureUrl(state.kind, state.values, state.view);
}

function imageUrls() {
  requireData();
  return pictureUrls(state.kind, state.values, state.view);
}

/** A count as a number when that is exact (below 2^53), else as the exact BigInt. */
function exact(n) {
  return typeof n === "bigint" && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

function count(filter) {
  requireData();
  return exact(countIn(entries[state.entry], state.view, toFilter(filter)));
}

function isReady() {
  requireData();
  return isReadyIn(state.kind, state.values, state.view);
}

// ---------------------------------------------------------------------------------------
// DOM helpers (text only ever through textContent / text nodes)

function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) el.append(child);
  return el;
}

const SVG = "http://www.w3.org/2000/svg";

function colourChip(colour) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 10 10");
  svg.setAttribute("class", "sb-chip");
  svg.setAttribute("aria-hidden", "true");
  const rect = document.createElementNS(SVG, "rect");
  rect.setAttribute("width", "10");
  rect.setAttribute("height", "10");
  if (/^#[0-9a-fA-F]{3,8}$/.test(colour || "")) rect.setAttribute("fill", colour);
  svg.append(rect);
  return svg;
}

/** A swatch picture; if its file cannot be loaded, the finish's plain colour instead. */
function swatch(value) {
  const finish = data.finishes[value] || {};
  if (!finish.swatch) return colourChip(finish.color);
  const img = h("img", { class: "sb-swatch-img", src: finish.swatch, alt: "", loading: "lazy", decoding: "async" });
  img.addEventListener("error", () => img.replaceWith(colourChip(finish.color)), { once: true });
  return img;
}

/** A thumbnail that falls back to the full picture, then to a "no picture" mark. */
function thumbnail(kind, values, view, alt) {
  if (layers) return stackedThumbnail(kind, values, view, alt);
  const img = h("img", { class: "sb-thumb-img", alt, loading: "lazy", decoding: "async" });
  let step = 0;
  img.addEventListener("error", () => {
    step++;
    if (step === 1) img.src = pictureUrl(kind, values, view);
    else img.replaceWith(h("span", { class: "sb-thumb-missing", text: "No picture" }));
  });
  img.src = pictureUrl(kind, values, view, true);
  return img;
}

/**
 * A layered thumbnail: the backdrop's thumbnail, the part layers' thumbnails stacked over
 * it (.layer-stack). A layer whose thumbnail fails falls back to the full-size layer; if
 * that fails too, the whole stack gives way to a "no picture" mark.
 */
function stackedThumbnail(kind, values, view, alt) {
  const thumbs = pictureUrls(kind, values, view, true);
  const full = pictureUrls(kind, values, view);
  const stack = h("span", { class: "layer-stack" });
  const wrap = h("span", { class: "sb-thumb-stack" });
  const imgs = thumbs.map((url, k) => {
    const img = h("img", { class: k === 0 ? "sb-thumb-img" : null, alt: k === 0 ? alt : "", loading: "lazy", decoding: "async" });
    let step = 0;
    img.addEventListener("error", () => {
      step++;
      if (step === 1) img.src = full[k];
      else if (wrap.isConnected) wrap.replaceWith(h("span", { class: "sb-thumb-missing", text: "No picture" }));
    });
    img.src = url;
    return img;
  });
  stack.append(...imgs.slice(1));
  wrap.append(imgs[0], stack);
  return wrap;
}

// ---------------------------------------------------------------------------------------
// The UI

const ui = {};
let uid = 0;
const nextId = (prefix) => `${prefix}-${++uid}`;

function build(root) {
  root.replaceChildren();
  root.classList.add("sb-live");
  if (entries.length > 1) {
    ui.tablist = h("div", { class: "sb-tabs", role: "tablist", "aria-label": "Styles of this product" });
    ui.tabs = entries.map((entry) => {
      const tab = h("button", {
        type: "button",
        role: "tab",
        class: "sb-tab",
        id: nextId("sb-tab"),
        "aria-controls": "sb-panel",
        text: entry.label,
        onclick: () => activateEntry(entry.index),
      });
      tab.addEventListener("keydown", (event) => tabKeys(event, entry.index));
      return tab;
    });
    ui.tablist.append(...ui.tabs);
    root.append(ui.tablist);
  }

  ui.img = mainImage();
  ui.img.hidden = Boolean(layers); // a layered picture shows once its whole stack is loaded
  // A layered picture: the part layers over the backdrop (ui.img), added to each other.
  ui.layers = h("span", { class: "layer-stack sb-layers", hidden: true });
  // The same stack redrawn in linear light (layers.js paintLinear) covers the CSS one; the
  // backdrop image keeps the alt text.
  ui.canvas = h("canvas", { class: "sb-canvas", "aria-hidden": "true", hidden: true });
  ui.shown = h("div", { class: "sb-shown" }, ui.img, ui.layers, ui.canvas);
  ui.placeholderText = h("span", { class: "sb-placeholder-text" });
  ui.placeholder = h("div", { class: "sb-placeholder", "aria-hidden": "true" }, ui.placeholderText);
  ui.badge = h("span", { class: "sb-badge", text: "Not rendered yet" });
  ui.status = h("p", { class: "sb-status", role: "status", "aria-live": "polite" });
  ui.figure = h(
    "figure",
    { class: "sb-figure" },
    h("div", { class: "sb-picture" }, ui.shown, ui.placeholder, ui.badge),
    h("figcaption", { class: "sb-caption" }, ui.status),
  );
  ui.views = h("div", { class: "sb-views", role: "group", "aria-label": "Views" });
  ui.viewButtons = data.views.map((view) => {
    const button = h("button", {
      type: "button",
      class: "sb-view",
      "aria-pressed": "false",
      onclick: () => setState({ ...state, view }),
    });
    button.dataset.view = view;
    return button;
  });
  ui.views.append(...ui.viewButtons);
  if (data.views.length < 2) ui.views.hidden = true;

  ui.kindName = h("p", { class: "sb-kind" });
  ui.styles = h("div", { class: "sb-styles", role: "group", "aria-label": "Style" });
  ui.palettes = h("div", { class: "sb-palettes" });
  ui.permalink = h("a", { class: "sb-permalink", href: "#", text: "Link to this colouring" });

  ui.filterParts = h("div", { class: "sb-filter-parts" });
  ui.countText = h("p", { class: "sb-count", role: "status", "aria-live": "polite" });
  ui.gallery = h("ul", { class: "sb-gallery", "aria-label": "Ready pictures matching the filters" });
  ui.prev = h("button", { type: "button", class: "sb-page-button", text: "Previous", onclick: () => turnPage(-1) });
  ui.next = h("button", { type: "button", class: "sb-page-button", text: "Next", onclick: () => turnPage(1) });
  ui.pageText = h("span", { class: "sb-page-text" });
  ui.pager = h("nav", { class: "sb-pager", "aria-label": "Gallery pages" }, ui.prev, ui.pageText, ui.next);
  ui.clear = h("button", { type: "button", class: "sb-clear", text: "Clear filters", onclick: clearFilters });

  const filtersId = nextId("sb-filters");
  ui.panel = h(
    "div",
    { class: "sb-panel", id: "sb-panel", role: entries.length > 1 ? "tabpanel" : null },
    h(
      "div",
      { class: "sb-main" },
      h("div", { class: "sb-stage" }, ui.figure, ui.views),
      h("div", { class: "sb-controls" }, ui.kindName, ui.styles, ui.palettes, h("p", { class: "sb-link" }, ui.permalink)),
    ),
    h(
      "section",
      { class: "sb-filters", "aria-labelledby": filtersId },
      h("div", { class: "sb-filters-head" }, h("h2", { id: filtersId, text: "Ready pictures" }), ui.clear),
      h("p", { class: "sb-hint", text: "Tick finishes or whole patterns to see which colourings already have a picture." }),
      ui.filterParts,
      ui.countText,
      ui.gallery,
      ui.pager,
    ),
  );
  root.append(ui.panel);
  ui.partViews = new Map();
}

/** The picture (or a layered picture's backdrop): a failed load shows the placeholder. */
function mainImage(src, alt = "") {
  const img = h("img", { class: "sb-img", alt });
  img.addEventListener("error", () => {
    if (!img.getAttribute("src") || img !== ui.img) return;
    pictureFailed();
  });
  img.addEventListener("load", () => {
    if (img !== ui.img) return;
    img.hidden = false;
    ui.figure.classList.remove("sb-failed");
  });
  if (src) img.src = src;
  return img;
}

function pictureFailed() {
  ui.img.hidden = true;
  ui.figure.classList.add("sb-failed");
  ui.placeholderText.textContent = "Picture not available";
}

/**
 * Show a layered picture: every layer is loaded and decoded first, then the backdrop and
 * the part layers are swapped in together, so a half-loaded or mismatched stack never
 * shows. A layer that cannot be loaded shows the placeholder instead.
 */
function showStack(urls, alt) {
  const key = urls.join(" ");
  if (ui.stackWanted === key) {
    if (ui.img.alt !== alt && ui.stackShown === key) ui.img.alt = alt;
    return;
  }
  ui.stackWanted = key;
  ui.shown.dataset.state = "loading";
  const images = urls.map((url, k) => (k === 0 ? mainImage(url, alt) : h("img", { alt: "", src: url })));
  Promise.all(images.map((img) => img.decode())).then(
    () => {
      if (ui.stackWanted !== key) return;
      ui.img.replaceWith(images[0]);
      ui.img = images[0];
      ui.layers.replaceChildren(...images.slice(1));
      ui.layers.hidden = false;
      try {
        paintLinear(ui.canvas, images);
        ui.canvas.hidden = false;
        ui.shown.dataset.stack = "linear";
      } catch {
        ui.canvas.hidden = true; // pixels not readable (another origin without CORS)
        ui.shown.dataset.stack = "css";
      }
      ui.figure.classList.remove("sb-failed");
      ui.stackShown = key;
      ui.shown.dataset.state = "shown";
    },
    () => {
      if (ui.stackWanted !== key) return;
      ui.layers.replaceChildren();
      ui.layers.hidden = true;
      ui.canvas.hidden = true;
      ui.stackShown = null;
      ui.shown.dataset.state = "failed";
      pictureFailed();
    },
  );
}

function clearStack() {
  ui.stackWanted = null;
  ui.stackShown = null;
  ui.layers.replaceChildren();
  ui.layers.hidden = true;
  ui.canvas.hidden = true;
  delete ui.shown.dataset.state;
}

function tabKeys(event, index) {
  const n = entries.length;
  let target = null;
  if (event.key === "ArrowRight" || event.key === "ArrowDown") target = (index + 1) % n;
  else if (event.key === "ArrowLeft" || event.key === "ArrowUp") target = (index - 1 + n) % n;
  else if (event.key === "Home") target = 0;
  else if (event.key === "End") target = n - 1;
  if (target === null) return;
  event.preventDefault();
  activateEntry(target);
  ui.tabs[target].focus();
}

function activateEntry(index) {
  if (state && state.entry === index) return;
  const entry = entries[index];
  const next = remembered.get(index) || entryDefault(entry, state ? state.view : data.views[0]);
  if (next) setState({ ...next, view: state ? state.view : next.view });
}

/** Kinds whose palettes a part shows: with a style switch only the current kind's. */
function paletteKinds() {
  const entry = entries[state.entry];
  return showsStyleSwitch(entry) ? [state.kind] : entry.kinds;
}

/** The best colouring after picking `value` for part `name`, or null. */
function fitPick(name, value) {
  const wanted = new Map(state.values);
  wanted.set(name, value);
  const best = bestFit(paletteKinds(), wanted, new Set([name]), state.kind);
  return best && { entry: state.entry, kind: best.kind, values: best.values, view: state.view };
}

function pick(name, value) {
  const next = fitPick(name, value);
  if (!next) return;
  const current = state.values.get(name) ?? 0;
  if (value === 0 && current !== 0) restoreValues.set(`${state.entry}|${name}`, current);
  setState(next);
}

/** What a part's palette shows now: {visible, values, charted, absent}. */
function partPalette(name) {
  const values = [];
  const seen = new Set();
  let absent = false;
  let charted = true;
  let optional = false;
  for (const kind of paletteKinds()) {
    const i = kind.index.get(name);
    if (i === undefined) {
      absent = true;
      continue;
    }
    const part = kind.parts[i];
    if (part.source === null || part.source === undefined) charted = false;
    if (part.optional) optional = true;
    for (const v of choicesOf(kind, i, state.values)) {
      if (!seen.has(v)) {
        seen.add(v);
        values.push(v);
      }
    }
  }
  if (absent && values.length && !showsStyleSwitch(entries[state.entry])) {
    if (!seen.has(0)) values.push(0);
  }
  const switched = showsStyleSwitch(entries[state.entry]);
  // A charted part is only asked about when its chart leaves a real choice.
  const visible = values.length > (charted ? 1 : 0) && !(absent && switched);
  return { visible, values, optional, absent };
}

function groupByPattern(values) {
  const groups = new Map();
  for (const v of values) {
    if (v === 0) continue;
    const pattern = (data.finishes[v] || {}).pattern || "";
    if (!groups.has(pattern)) groups.set(pattern, []);
    groups.get(pattern).push(v);
  }
  return groups;
}

function buildPartView(name, spec) {
  const legendValue = h("span", { class: "sb-legend-value" });
  const fieldset = h(
    "fieldset",
    { class: "sb-part" },
    h("legend", { class: "sb-legend" }, h("span", { class: "sb-legend-name", text: name }), legendValue),
  );
  fieldset.dataset.part = name;
  const buttons = new Map();
  for (const [pattern, group] of groupByPattern(spec.values)) {
    const labelId = nextId("sb-group");
    const row = h("div", { class: "sb-swatches" });
    for (const value of group) {
      const button = h(
        "button",
        { type: "button", class: "sb-swatch", "aria-pressed": "false", title: finishName(value) },
        swatch(value),
        h("span", { class: "visually-hidden", text: finishName(value) }),
      );
      button.dataset.value = String(value);
      button.addEventListener("click", () => pick(name, value));
      buttons.set(value, button);
      row.append(button);
    }
    fieldset.append(
      h(
        "div",
        { class: "sb-group", role: "group", "aria-labelledby": labelId },
        h("span", { class: "sb-group-label", id: labelId, text: patternName(pattern) }),
        row,
      ),
    );
  }
  if (spec.values.includes(0)) {
    const remove = h("button", {
      type: "button",
      class: "sb-remove",
      "aria-pressed": "false",
      text: spec.absent && !spec.optional ? "None" : "Remove",
    });
    remove.dataset.value = "0";
    remove.addEventListener("click", () => pick(name, 0));
    buttons.set(0, remove);
    const restore = h("button", { type: "button", class: "sb-restore", text: "Restore" });
    restore.addEventListener("click", () => {
      const remembered = restoreValues.get(`${state.entry}|${name}`);
      const options = spec.values.filter((v) => v !== 0);
      const candidates = remembered ? [remembered, ...options] : options;
      for (const v of candidates) {
        if (fitPick(name, v)) {
          pick(name, v);
          break;
        }
      }
      const pressed = buttons.get(state.values.get(name));
      if (pressed) pressed.focus();
    });
    fieldset.append(h("div", { class: "sb-remove-row" }, remove, restore));
    fieldset._restore = restore;
  }
  fieldset.addEventListener("keydown", (event) => swatchKeys(event, fieldset));
  return { fieldset, buttons, legendValue, signature: spec.values.join(",") };
}

/** Arrow keys move between a palette's buttons (Tab still visits each one). */
function swatchKeys(event, fieldset) {
  const keys = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
  if (!(event.key in keys) || !(event.target instanceof HTMLButtonElement)) return;
  const all = [...fieldset.querySelectorAll("button.sb-swatch, button.sb-remove")].filter((b) => !b.disabled);
  const at = all.indexOf(event.target);
  if (at < 0) return;
  event.preventDefault();
  all[(at + keys[event.key] + all.length) % all.length].focus();
}

function renderTabs() {
  if (!ui.tabs) return;
  ui.tabs.forEach((tab, i) => {
    const selected = i === state.entry;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    if (selected) ui.panel.setAttribute("aria-labelledby", tab.id);
  });
}

function renderStyles() {
  const entry = entries[state.entry];
  ui.styles.replaceChildren();
  ui.styles.hidden = !showsStyleSwitch(entry);
  ui.kindName.textContent = entry.kinds.length > 1 && !showsStyleSwitch(entry) ? state.kind.name : "";
  ui.kindName.hidden = !ui.kindName.textContent;
  if (ui.styles.hidden) return;
  for (const kind of entry.kinds) {
    const values = resolve(kind, state.values, new Set());
    const button = h("button", {
      type: "button",
      class: "sb-style",
      "aria-pressed": String(kind === state.kind),
      disabled: values === null,
      text: kind.name,
    });
    button.dataset.kind = kind.id;
    button.addEventListener("click", () => {
      if (kind === state.kind || values === null) return;
      setState({ ...state, kind, values });
      const again = ui.styles.querySelector(`[data-kind="${CSS.escape(kind.id)}"]`);
      if (again) again.focus();
    });
    ui.styles.append(button);
  }
}

function renderPalettes(entryChanged) {
  const entry = entries[state.entry];
  if (entryChanged) {
    ui.palettes.replaceChildren();
    ui.partViews = new Map();
  }
  const focused = document.activeElement;
  const focusPart = focused && focused.closest ? focused.closest(".sb-part") : null;
  const focusKey = focusPart && focused.dataset.value !== undefined ? [focusPart.dataset.part, focused.dataset.value] : null;
  let previous = null;
  for (const name of entry.parts) {
    const spec = partPalette(name);
    let view = ui.partViews.get(name);
    const signature = spec.values.join(",");
    if (!view || view.signature !== signature) {
      const fresh = buildPartView(name, spec);
      if (view) view.fieldset.replaceWith(fresh.fieldset);
      else if (previous) previous.fieldset.after(fresh.fieldset);
      else ui.palettes.prepend(fresh.fieldset);
      view = fresh;
      ui.partViews.set(name, view);
    }
    previous = view;
    view.fieldset.hidden = !spec.visible;
    const current = state.values.get(name) ?? 0;
    view.legendValue.textContent = current === 0 ? (spec.absent && !spec.optional ? "none" : "removed") : finishName(current);
    for (const [value, button] of view.buttons) {
      button.setAttribute("aria-pressed", String(value === current));
      button.disabled = value !== current && fitPick(name, value) === null;
    }
    if (view.fieldset._restore) view.fieldset._restore.hidden = current !== 0;
  }
  if (focusKey && document.activeElement !== focused) {
    const view = ui.partViews.get(focusKey[0]);
    const button = view && view.buttons.get(Number(focusKey[1]));
    if (button) button.focus();
  }
}

function renderPicture() {
  const entry = entries[state.entry];
  const withKind = showsStyleSwitch(entry);
  const readyNow = isReadyIn(state.kind, state.values, state.view);
  ui.figure.classList.toggle("sb-not-ready", !readyNow);
  let shown = null;
  let message = "";
  if (readyNow) {
    shown = { kind: state.kind, values: state.values };
  } else {
    shown = nearestReady(state, state.view);
    if (shown) {
      const diffs = [];
      if (shown.kind !== state.kind && withKind) diffs.push(`${shown.kind.name} instead of ${state.kind.name}`);
      for (const name of entry.parts) {
        const want = state.values.get(name) ?? 0;
        const have = shown.values.get(name) ?? 0;
        if (want !== have) diffs.push(`${name} ${finishName(have)} instead of ${finishName(want)}`);
      }
      message = `Not rendered yet. Showing: ${diffs.join("; ")}.`;
    } else {
      message = "Not rendered yet. No picture of this product is ready in this view.";
    }
  }
  if (ui.status.textContent !== message) ui.status.textContent = message;
  ui.badge.hidden = readyNow;
  if (shown && layers) {
    showStack(pictureUrls(shown.kind, shown.values, state.view), describe(shown.kind, shown.values, withKind));
    ui.figure.classList.toggle("sb-empty", false);
    ui.placeholderText.textContent = "Picture not available";
  } else if (shown) {
    const url = pictureUrl(shown.kind, shown.values, state.view);
    ui.img.alt = describe(shown.kind, shown.values, withKind);
    if (ui.img.getAttribute("src") !== url) ui.img.src = url;
    ui.figure.classList.toggle("sb-empty", false);
    if (!ui.figure.classList.contains("sb-failed")) ui.img.hidden = false;
    ui.placeholderText.textContent = "Picture not available";
  } else {
    if (layers) clearStack();
    ui.img.removeAttribute("src");
    ui.img.alt = "";
    ui.img.hidden = true;
    ui.figure.classList.remove("sb-failed");
    ui.figure.classList.add("sb-empty");
    ui.placeholderText.textContent = "Not rendered yet";
  }
  ui.permalink.href = `#${hashOf(state)}`;
  ui.permalink.setAttribute("aria-label", `Link to this colouring: ${describe(state.kind, state.values, withKind)}`);
}

function renderViews() {
  for (const button of ui.viewButtons) {
    const view = button.dataset.view;
    button.setAttribute("aria-pressed", String(view === state.view));
    const key = `${view}|${keyOf(state.kind, state.values)}`;
    if (button.dataset.key === key) continue;
    button.dataset.key = key;
    const label = h("span", { class: "sb-view-name", text: viewName(view) });
    const readyThere = isReadyIn(state.kind, state.values, view);
    const picture = readyThere
      ? thumbnail(state.kind, state.values, view, "")
      : h("span", { class: "sb-thumb-missing", text: "Not rendered" });
    button.replaceChildren(h("span", { class: "sb-view-picture" }, picture), label);
    button.setAttribute("aria-label", `${viewName(view)} view${readyThere ? "" : " (not rendered yet)"}`);
  }
}

// Filters -------------------------------------------------------------------------------

function filterOf(entryIndex) {
  if (!filters.has(entryIndex)) filters.set(entryIndex, new Map());
  return filters.get(entryIndex);
}

/** Every value a part takes over the entry's kinds (0 when optional or lacking in a kind). */
function filterValues(entry, name) {
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

function buildFilters() {
  const entry = entries[state.entry];
  const filter = filterOf(state.entry);
  ui.filterParts.replaceChildren();
  ui.filterBoxes = [];
  for (const name of entry.parts) {
    const values = filterValues(entry, name);
    if (values.length < 2) continue;
    const fieldset = h("fieldset", { class: "sb-filter" }, h("legend", { text: name }));
    fieldset.dataset.part = name;
    const list = h("div", { class: "sb-filter-list" });
    const groups = groupByPattern(values);
    for (const [pattern, group] of groups) {
      const groupBox = h("input", { type: "checkbox", class: "sb-check" });
      groupBox.dataset.pattern = pattern;
      const items = group.map((value) => {
        const box = h("input", { type: "checkbox", class: "sb-check" });
        box.dataset.value = String(value);
        box.addEventListener("change", () => {
          toggleFilter(name, [value], box.checked);
        });
        ui.filterBoxes.push({ name, value, box });
        return h("label", { class: "sb-filter-item" }, box, swatch(value), h("span", { text: finishName(value) }));
      });
      groupBox.addEventListener("change", () => toggleFilter(name, group, groupBox.checked));
      ui.filterBoxes.push({ name, group, box: groupBox });
      list.append(
        h(
          "div",
          { class: "sb-filter-group" },
          h("label", { class: "sb-filter-pattern" }, groupBox, h("span", { text: groups.size > 1 || group.length > 1 ? `All ${patternName(pattern)}` : patternName(pattern) })),
          h("div", { class: "sb-filter-items" }, items),
        ),
      );
    }
    if (values.includes(0)) {
      const box = h("input", { type: "checkbox", class: "sb-check" });
      box.dataset.value = "0";
      box.addEventListener("change", () => toggleFilter(name, [0], box.checked));
      ui.filterBoxes.push({ name, value: 0, box });
      list.append(h("label", { class: "sb-filter-item sb-filter-none" }, box, h("span", { text: `Without ${name}` })));
    }
    fieldset.append(list);
    ui.filterParts.append(fieldset);
  }
  syncFilterBoxes(filter);
}

function syncFilterBoxes(filter) {
  for (const item of ui.filterBoxes) {
    const ticked = filter.get(item.name) || new Set();
    if (item.group) {
      const n = item.group.filter((v) => ticked.has(v)).length;
      item.box.checked = n === item.group.length;
      item.box.indeterminate = n > 0 && n < item.group.length;
    } else {
      item.box.checked = ticked.has(item.value);
    }
  }
}

function toggleFilter(name, values, on) {
  const filter = filterOf(state.entry);
  const ticked = new Set(filter.get(name) || []);
  for (const v of values) {
    if (on) ticked.add(v);
    else ticked.delete(v);
  }
  if (ticked.size) filter.set(name, ticked);
  else filter.delete(name);
  galleryPage = 0;
  syncFilterBoxes(filter);
  renderGallery();
}

function clearFilters() {
  filters.set(state.entry, new Map());
  galleryPage = 0;
  syncFilterBoxes(filterOf(state.entry));
  renderGallery();
}

function turnPage(delta) {
  galleryPage += delta;
  renderGallery();
}

let galleryCache = null; // {key, total, pages: Map page -> items}: the ready data never changes

/** The gallery's count and pages for an entry, view and filter (computed once each). */
function galleryOf(entry, view, filter) {
  const parts = [...filter].map(([name, set]) => `${name}=${[...set].sort((a, b) => a - b).join(",")}`);
  const key = JSON.stringify([entry.index, view, parts.sort()]);
  if (!galleryCache || galleryCache.key !== key) galleryCache = { key, total: countIn(entry, view, filter), pages: new Map() };
  return galleryCache;
}

/** One page of matching ready colourings: [{kind, values}], values over the entry's parts. */
function galleryPageItems(entry, view, filter, page) {
  const items = [];
  if (layers) {
    // Lazily, from the page's first colouring on (layers.js skips whole subtrees by count).
    const start = BigInt(page) * BigInt(PAGE_SIZE);
    for (const { kind, values } of layers.walk(entry.kinds, view, filter, start)) {
      items.push({ kind, values: entryValues(kind, values) });
      if (items.length >= PAGE_SIZE) break;
    }
    return items;
  }
  let skip = page * PAGE_SIZE;
  for (const { kind, set, rows } of matchesIn(entry, view, filter)) {
    if (skip >= rows.length) {
      skip -= rows.length;
      continue;
    }
    for (let j = skip; j < rows.length && items.length < PAGE_SIZE; j++) {
      items.push({ kind, values: valuesOfRow(kind, set, rows[j]) });
    }
    skip = 0;
    if (items.length >= PAGE_SIZE) break;
  }
  return items;
}

function renderGallery() {
  const entry = entries[state.entry];
  const filter = filterOf(state.entry);
  const withKind = showsStyleSwitch(entry);
  const gallery = galleryOf(entry, state.view, filter);
  const total = gallery.total; // a number, or a BigInt at a layered quality
  const picture = String(total) === "1" ? "ready picture matches" : "ready pictures match";
  const countText = `${total} ${picture}`;
  if (ui.countText.textContent !== countText) ui.countText.textContent = countText;
  ui.countText.dataset.count = String(total);
  ui.clear.disabled = filter.size === 0;
  const size = BigInt(PAGE_SIZE);
  let pages = (BigInt(total) + size - 1n) / size;
  if (pages < 1n) pages = 1n;
  galleryPage = Math.max(0, galleryPage);
  if (BigInt(galleryPage) > pages - 1n) galleryPage = Number(pages - 1n);
  ui.pager.hidden = pages < 2n;
  ui.prev.disabled = galleryPage === 0;
  ui.next.disabled = BigInt(galleryPage) >= pages - 1n;
  ui.pageText.textContent = `Page ${galleryPage + 1} of ${pages}`;
  let items = gallery.pages.get(galleryPage);
  if (items === undefined) {
    items = galleryPageItems(entry, state.view, filter, galleryPage);
    gallery.pages.set(galleryPage, items);
  }
  const currentKey = `${state.kind.id}|${keyOf(state.kind, state.values)}`;
  ui.gallery.replaceChildren(
    ...items.map(({ kind, values }) => {
      const text = describe(kind, values, withKind);
      const key = keyOf(kind, values);
      const selected = `${kind.id}|${key}` === currentKey;
      const button = h(
        "button",
        { type: "button", class: "sb-tile", title: text, "aria-current": selected ? "true" : null },
        thumbnail(kind, values, state.view, text),
      );
      button.dataset.kind = kind.id;
      button.dataset.key = key;
      button.addEventListener("click", () => {
        setState({ entry: state.entry, kind, values, view: state.view });
        if (ui.figure.scrollIntoView && window.innerWidth < 800) ui.figure.scrollIntoView({ block: "start" });
      });
      return h("li", { class: "sb-gallery-item" }, button);
    }),
  );
}

function render(entryChanged) {
  renderTabs();
  renderStyles();
  renderPalettes(entryChanged);
  renderPicture();
  renderViews();
  if (entryChanged) buildFilters();
  renderGallery();
}

// ---------------------------------------------------------------------------------------
// Start

function fail(root, error) {
  const message = h("p", { class: "sb-error", role: "alert", text: "The sketchbook could not be loaded." });
  root.prepend(message);
  document.body.dataset.sketchbook = "error";
  rejectReady(error);
  console.error(error);
}

async function start() {
  const root = document.getElementById("sketchbook");
  if (!root) return;
  try {
    const url = root.dataset.src || "data.json";
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    prepare(await response.json());
    const first = entries.find((e) => entryDefault(e, data.views[0]));
    if (!first) throw new Error("no kind of this product has a colouring");
    build(root);
    const fromHash = location.hash ? stateFromHash(parseHash(location.hash)) : null;
    setState(fromHash || entryDefault(first, data.views[0]), { push: false });
    window.addEventListener("hashchange", onLocationChange);
    window.addEventListener("popstate", onLocationChange);
    document.body.dataset.sketchbook = "ready";
    resolveReady(api);
  } catch (error) {
    fail(root, error);
  }
}

start();
