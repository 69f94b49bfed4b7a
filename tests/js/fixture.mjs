// Small page data (docs/site.md, "Page data") for the sketchbook's model and state tests.
//
// A stool: two kinds in one entry (a wooden top, or a linoleum top whose rim is charted on
// the top's finish) and a bench seat in a second entry (a tab).

/** Ready rows (palette indices, one list per colouring) -> base64 of u16 little-endian. */
export function encodeRows(rows) {
  const sorted = [...rows].sort((a, b) => {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
    return 0;
  });
  const flat = sorted.flat();
  const bytes = new Uint8Array(flat.length * 2);
  const view = new DataView(bytes.buffer);
  flat.forEach((v, i) => view.setUint16(2 * i, v, true));
  return Buffer.from(bytes).toString("base64");
}

export const PAGE = "https://shop.example/sketch/products/stool/";

/** The page data; `ready` overrides each kind's ready rows (kind -> view -> rows). */
export function stoolData({ ready = {}, styleSwitch = false } = {}) {
  const rows = {
    wood: { front: [[1, 1]], side: [] },
    lino: { front: [[0, 0, 0]], side: [[0, 1, 1]] },
    bench: { front: [[0]], side: [[0]] },
    ...ready,
  };
  const encoded = (kind) =>
    Object.fromEntries(Object.entries(rows[kind]).map(([view, r]) => [view, encodeRows(r)]));
  return {
    version: 1,
    product: { id: "stool", name: "Stool" },
    model: "kino",
    quality: "preview",
    ext: "jpg",
    renders_url: "../../renders/",
    thumb_suffix: ".thumb.webp",
    views: ["front", "side"],
    meshes: ["frame", "top", "rim", "seat"],
    patterns: { oak: { name: "Oak", nature: "wood" }, lino: { name: "Linoleum", nature: "lino" } },
    finishes: {
      1: { name: "Oak", pattern: "oak", color: "#c8a27a" },
      2: { name: "Walnut", pattern: "oak", color: "#5b3a29" },
      10: { name: "Red lino", pattern: "lino", color: "#a03020" },
      11: { name: "Blue lino", pattern: "lino", color: "#203080" },
      20: { name: "Black rim", pattern: "lino", color: "#111111" },
      21: { name: "Brass rim", pattern: "lino", color: "#b08d57" },
      30: { name: "Felt", pattern: "lino", color: "#777777" },
    },
    entries: [
      { label: "Wooden top / Linoleum top", kinds: ["wood", "lino"], parts: ["Frame", "Top", "Rim"],
        style_switch: styleSwitch },
      { label: "Bench", kinds: ["bench"], parts: ["Seat"], style_switch: false },
    ],
    kinds: {
      wood: {
        name: "Wooden top",
        entry: 0,
        parts: [
          { name: "Frame", meshes: [0], optional: false, source: null, choices: [1, 2], chart: null,
            missing: [], palette: [1, 2] },
          { name: "Top", meshes: [1], optional: false, source: null, choices: [1, 2], chart: null,
            missing: [], palette: [1, 2] },
        ],
        default: [1, 1],
        allowed: 4,
        ready: encoded("wood"),
      },
      lino: {
        name: "Linoleum top",
        entry: 0,
        parts: [
          { name: "Frame", meshes: [0], optional: false, source: null, choices: [1, 2], chart: null,
            missing: [], palette: [1, 2] },
          { name: "Top", meshes: [1], optional: false, source: null, choices: [10, 11], chart: null,
            missing: [], palette: [10, 11] },
          { name: "Rim", meshes: [2], optional: false, source: 1, choices: [20, 21],
            chart: { 10: [20], 11: [20, 21] }, missing: [], palette: [20, 21] },
        ],
        default: [1, 10, 20],
        allowed: 6,
        ready: encoded("lino"),
      },
      bench: {
        name: "Bench seat",
        entry: 1,
        parts: [
          { name: "Seat", meshes: [3], optional: false, source: null, choices: [30], chart: null,
            missing: [], palette: [30] },
        ],
        default: [30],
        allowed: 1,
        ready: encoded("bench"),
      },
    },
  };
}

/** A Map over the first entry's parts (0 where not given). */
export function stoolValues(parts) {
  return new Map(["Frame", "Top", "Rim"].map((n) => [n, parts[n] ?? 0]));
}

/**
 * A small model with a spin (issue 13): views "main" and spin-1..spin-4 (`spins: {spin:
 * 4}`, so one digit), one kind "chair" of two parts, Frame and Top, each oak (1) or walnut
 * (2). `ready` overrides the ready rows per view (palette indices: 0 oak, 1 walnut).
 * `layered` (view -> {frame: [finishes], top: [finishes]}) makes it a layered quality
 * instead, every backdrop ready.
 */
export function spinData({ ready = {}, layered = null } = {}) {
  const rows = {
    main: [[0, 0]],
    "spin-1": [[0, 0], [1, 1]],
    "spin-2": [],
    "spin-3": [[1, 1]],
    "spin-4": [[0, 0]],
    ...ready,
  };
  const plainPart = (name, mesh) => ({
    name, meshes: [mesh], optional: false, source: null, choices: [1, 2], chart: null, missing: [], palette: [1, 2],
  });
  const data = {
    version: 1,
    product: { id: "chair", name: "Chair" },
    model: "chair",
    quality: "preview",
    ext: "jpg",
    renders_url: "../../renders/",
    thumb_suffix: ".thumb.webp",
    resolution: [480, 360],
    sizes: [],
    views: ["main", "spin-1", "spin-2", "spin-3", "spin-4"],
    spins: { spin: 4 },
    meshes: ["frame", "top"],
    patterns: { oak: { name: "Oak", nature: "wood" } },
    finishes: {
      1: { name: "Oak", pattern: "oak", color: "#c8a27a" },
      2: { name: "Walnut", pattern: "oak", color: "#5b3a29" },
    },
    entries: [{ label: "Chair", kinds: ["chair"], parts: ["Frame", "Top"], style_switch: false }],
    kinds: {
      chair: {
        name: "Chair",
        entry: 0,
        parts: [plainPart("Frame", 0), plainPart("Top", 1)],
        default: [1, 1],
        allowed: 4,
        ready: Object.fromEntries(Object.entries(rows).map(([view, r]) => [view, encodeRows(r)])),
      },
    },
  };
  if (layered) {
    delete data.kinds.chair.ready;
    data.layers = Object.fromEntries(Object.entries(layered).map(([view, parts]) => [
      view, { 11: { backdrop: true, parts } }]));
  }
  return data;
}
