// Layered pictures (docs/site.md, "Layered qualities"; docs/layers.md): which colourings can
// be stacked from ready layers, how many match a filter, the nearest ready one, and a lazy
// walk through them for the gallery.
//
// Nothing here lists colourings. A colouring of a kind is ready when the backdrop of its
// *presence* (one character per mesh of the model: 1 present, 0 absent) and the layer of
// every present part in its finish are ready. So, per presence, each part of a kind may
// only take the finishes whose layer is ready (an absent part only 0): counting ready
// colourings is counting the solutions of the kind's rules with those unary restrictions,
// by variable elimination, exactly as sitegen/layers.py `count_ready` does in Python (a port
// of sitegen/constraints.py and sitegen/expand.py `count_common` / `count_union`). Counts
// are BigInt: they are exact however large.

// ---------------------------------------------------------------------------------------
// Counting solutions of small constraint problems (sitegen/constraints.py)

/** A weighted relation over `scope` (variable ids): row key -> {row, weight (BigInt)}. */
class Factor {
  constructor(scope, table) {
    this.scope = scope;
    this.table = table;
  }
}

const keyOfRow = (row) => row.join(",");

/** The unary constraint `v in values`. */
export function allowed(v, values) {
  const table = new Map();
  for (const x of values) table.set(String(x), { row: [x], weight: 1n });
  return new Factor([v], table);
}

/** The binary constraint `(a, b) in pairs`; a === b keeps the pairs with equal values. */
export function allowedPairs(a, b, pairs) {
  const table = new Map();
  if (a === b) {
    for (const [x, y] of pairs) if (x === y) table.set(String(x), { row: [x], weight: 1n });
    return new Factor([a], table);
  }
  for (const [x, y] of pairs) table.set(keyOfRow([x, y]), { row: [x, y], weight: 1n });
  return new Factor([a, b], table);
}

function join(f, g) {
  const shared = g.scope.filter((v) => f.scope.includes(v));
  const extra = [];
  g.scope.forEach((v, i) => {
    if (!f.scope.includes(v)) extra.push(i);
  });
  const fPos = shared.map((v) => f.scope.indexOf(v));
  const gPos = shared.map((v) => g.scope.indexOf(v));
  const index = new Map();
  for (const { row, weight } of g.table.values()) {
    const key = keyOfRow(gPos.map((i) => row[i]));
    let list = index.get(key);
    if (list === undefined) index.set(key, (list = []));
    list.push([extra.map((i) => row[i]), weight]);
  }
  const table = new Map();
  for (const { row, weight } of f.table.values()) {
    const matches = index.get(keyOfRow(fPos.map((i) => row[i])));
    if (matches === undefined) continue;
    for (const [rest, w] of matches) {
      const next = row.concat(rest);
      const key = keyOfRow(next);
      const old = table.get(key);
      if (old === undefined) table.set(key, { row: next, weight: weight * w });
      else old.weight += weight * w;
    }
  }
  return new Factor(f.scope.concat(extra.map((i) => g.scope[i])), table);
}

function sumOut(f, v) {
  const pos = f.scope.indexOf(v);
  const table = new Map();
  for (const { row, weight } of f.table.values()) {
    const next = row.slice(0, pos).concat(row.slice(pos + 1));
    const key = keyOfRow(next);
    const old = table.get(key);
    if (old === undefined) table.set(key, { row: next, weight });
    else old.weight += weight;
  }
  return new Factor(f.scope.slice(0, pos).concat(f.scope.slice(pos + 1)), table);
}

/** The number of assignments of the factors' variables that every factor allows (BigInt). */
export function countSolutions(factors) {
  let pending = factors.slice();
  const variables = new Set();
  for (const f of pending) for (const v of f.scope) variables.add(v);
  while (variables.size) {
    // Fewest neighbours first (greedy min-degree), ties by id: the same work on every run.
    const neighbours = new Map();
    for (const v of variables) neighbours.set(v, new Set());
    for (const f of pending) for (const v of f.scope) for (const w of f.scope) neighbours.get(v).add(w);
    let best = null;
    for (const v of variables) {
      const n = neighbours.get(v).size;
      if (best === null || n < best[1] || (n === best[1] && v < best[0])) best = [v, n];
    }
    const v = best[0];
    const touching = pending.filter((f) => f.scope.includes(v));
    pending = pending.filter((f) => !f.scope.includes(v));
    let joined = touching[0];
    for (const f of touching.slice(1)) {
      joined = join(joined, f);
      if (!joined.table.size) return 0n;
    }
    pending.push(sumOut(joined, v));
    variables.delete(v);
  }
  let total = 1n;
  for (const f of pending) {
    const only = f.table.get("");
    total *= only === undefined ? 0n : only.weight;
  }
  return total;
}

// ---------------------------------------------------------------------------------------
// Kinds as constraints (sitegen/expand.py)

/** A part's choices given its source's value (CATALOG_FORMAT.md rules 2 and 3). */
export function partChoices(part, sourceValue) {
  if (part.source === null || part.source === undefined) return part.choices;
  if (sourceValue === 0) return [0];
  const listed = part.chart ? part.chart[String(sourceValue)] : undefined;
  return listed ?? part.missing ?? [];
}

/** The kind's rules as factors: part i's value is variable partVars[i]. */
function kindFactors(kind, partVars, zeroVars) {
  const factors = [];
  kind.parts.forEach((p, i) => {
    if (p.source === null || p.source === undefined) {
      factors.push(allowed(partVars[i], p.choices));
    } else {
      const pairs = [];
      for (const s of kind.parts[p.source].palette) for (const c of partChoices(p, s)) pairs.push([s, c]);
      factors.push(allowedPairs(partVars[p.source], partVars[i], pairs));
    }
  });
  for (const v of zeroVars) factors.push(allowed(v, [0]));
  return factors;
}

/** Meshes of the model no part of the kind names (always 0 in its colourings). */
function hiddenMeshes(kind, meshCount) {
  const owned = new Set(kind.parts.flatMap((p) => p.meshes));
  const hidden = [];
  for (let m = 0; m < meshCount; m++) if (!owned.has(m)) hidden.push(m);
  return hidden;
}

/**
 * How many keys every one of `kinds` produces (`count_common`): meshes one part of any of
 * the kinds colours are merged into one variable (union-find). `filter` (Map part name ->
 * Set of values) applies to every kind (a kind lacking a filtered part matches only if the
 * set holds 0); `partValues[k]` (an array per part, or null) restricts kind k further.
 */
export function countCommon(kinds, meshCount, filter, partValues) {
  if (kinds.length === 1 && isPlain(kinds[0])) return countPlain(kinds[0], filter, partValues ? partValues[0] : null);
  const parent = Array.from({ length: meshCount }, (_, i) => i);
  const find = (m) => {
    while (parent[m] !== m) {
      parent[m] = parent[parent[m]];
      m = parent[m];
    }
    return m;
  };
  for (const kind of kinds) {
    for (const p of kind.parts) for (const m of p.meshes.slice(1)) parent[find(m)] = find(p.meshes[0]);
  }
  const factors = [];
  for (let k = 0; k < kinds.length; k++) {
    const kind = kinds[k];
    const partVars = kind.parts.map((p) => find(p.meshes[0]));
    factors.push(...kindFactors(kind, partVars, hiddenMeshes(kind, meshCount).map(find)));
    const values = partValues ? partValues[k] : null;
    if (values) values.forEach((list, i) => list !== null && factors.push(allowed(partVars[i], list)));
    if (filter) {
      for (const [name, set] of filter) {
        const i = kind.index.get(name);
        if (i !== undefined) factors.push(allowed(partVars[i], set));
        else if (!set.has(0)) return 0n;
      }
    }
  }
  return countSolutions(factors);
}

/** Whether no part of the kind is charted (its rules are then one choice list per part). */
function isPlain(kind) {
  return kind.parts.every((p) => p.source === null || p.source === undefined);
}

/** `countCommon` of one kind without charts: the product of each part's choices left. */
function countPlain(kind, filter, values) {
  if (filter) for (const [name, set] of filter) if (!kind.index.has(name) && !set.has(0)) return 0n;
  let total = 1n;
  for (let i = 0; i < kind.parts.length && total; i++) {
    const part = kind.parts[i];
    const only = values && values[i] !== null && values[i] !== undefined ? asSet(values[i]) : null;
    const wanted = filter ? filter.get(part.name) : undefined;
    let n = 0;
    for (const v of part.choices) if ((only === null || only.has(v)) && (wanted === undefined || wanted.has(v))) n++;
    total *= BigInt(n);
  }
  return total;
}

const asSet = (values) => (values instanceof Set ? values : new Set(values));

/**
 * How many distinct keys `kinds` produce together (`count_union`): inclusion-exclusion
 * over the subsets, skipping those that contain a subset with nothing in common.
 */
export function countUnion(kinds, meshCount, filter, partValues) {
  const empty = new Set();
  let total = 0n;
  const n = kinds.length;
  for (const subset of subsetsBySize(n)) {
    const id = subset.join(",");
    if (subset.length > 1 && subset.some((k) => empty.has(subset.filter((j) => j !== k).join(",")))) {
      empty.add(id);
      continue;
    }
    const common = countCommon(
      subset.map((k) => kinds[k]),
      meshCount,
      filter,
      partValues ? subset.map((k) => partValues[k]) : null,
    );
    if (common === 0n) empty.add(id);
    total += subset.length % 2 ? common : -common;
  }
  return total;
}

/** Every non-empty subset of 0..n-1, as sorted arrays, smallest first (as itertools). */
function* subsetsBySize(n) {
  for (let size = 1; size <= n; size++) yield* combinations(n, size, 0);
}

function* combinations(n, size, from) {
  if (size === 0) {
    yield [];
    return;
  }
  for (let i = from; i <= n - size; i++) for (const rest of combinations(n, size - 1, i + 1)) yield [i, ...rest];
}

// ---------------------------------------------------------------------------------------
// Ready layers

/**
 * The ready layers of a product, from the page data's `layers` (view -> presence ->
 * {backdrop, parts: {"<mesh ids joined by .>": [ready finishes]}}), with what each kind
 * can be stacked from.
 */
// Neighbour numbers in a bounce image's name (sitegen/layers.py BOUNCE_DIGITS).
const BOUNCE_DIGITS = "123456789abcdefghijklmnopqrstuvwxyz";

export class Layers {
  /**
   * @param {object} data the page data (`layers`, `meshes`)
   * @param {Iterable<object>} kinds prepared kinds (`parts`, `index`)
   */
  constructor(data, kinds) {
    this.meshes = data.meshes;
    this.views = new Map();
    for (const [view, presences] of Object.entries(data.layers || {})) {
      const byPresence = new Map();
      for (const [presence, entry] of Object.entries(presences || {})) {
        const parts = new Map();
        for (const [group, finishes] of Object.entries(entry.parts || {})) parts.set(group, new Set(finishes));
        const bounce = Array.isArray(entry.bounce) ? new Set(entry.bounce) : null;
        byPresence.set(presence, { presence, backdrop: Boolean(entry.backdrop), parts, bounce });
      }
      this.views.set(view, byPresence);
    }
    this.groups = new Map(); // kind -> the layer group ("<mesh ids joined by .>") of each part
    this.patterns = new Map(); // kind -> view -> [{presence, present, only, sets}]
    for (const kind of kinds) this.groups.set(kind, kind.parts.map((p) => p.meshes.map((m) => this.meshes[m]).join(".")));
  }

  /** The presence string of a colouring (values: one per part of the kind). */
  presence(kind, values) {
    const chars = new Array(this.meshes.length).fill("0");
    kind.parts.forEach((p, i) => {
      if (values[i] !== 0) for (const m of p.meshes) chars[m] = "1";
    });
    return chars.join("");
  }

  /** Layer names of a colouring: the backdrop, then each present part's layer. */
  names(kind, values) {
    const presence = this.presence(kind, values);
    const groups = this.groups.get(kind);
    const names = [`layer-${presence}-base`];
    kind.parts.forEach((p, i) => {
      if (values[i] !== 0) names.push(`layer-${presence}-${groups[i]}-${values[i]}`);
    });
    return names;
  }

  /**
   * The bounce images of a colouring's stack (docs/layers.md, "Neighbours' light"): per
   * stacked layer with neighbours (item 0 the backdrop, then the present parts in kind
   * order), [{item, name, finishes}], finishes: the neighbours' in strip order (ordered by
   * their first mesh). Null unless the quality has them and every one is ready: the page
   * then shows the stack without them.
   */
  bounceNames(kind, values, view) {
    const presence = this.presence(kind, values);
    const entry = (this.views.get(view) || new Map()).get(presence);
    if (!entry || !entry.bounce) return null;
    const groups = this.groups.get(kind);
    const present = kind.parts
      .map((p, i) => i)
      .filter((i) => values[i] !== 0)
      .sort((a, b) => Math.min(...kind.parts[a].meshes) - Math.min(...kind.parts[b].meshes));
    const stacked = [{ tail: "base", meshes: [] }];
    kind.parts.forEach((p, i) => {
      if (values[i] !== 0) stacked.push({ tail: `${groups[i]}-${values[i]}`, meshes: p.meshes });
    });
    const found = [];
    stacked.forEach((layer, item) => {
      const neighbours = present.filter((i) => !kind.parts[i].meshes.some((m) => layer.meshes.includes(m)));
      if (!neighbours.length) return;
      const code = new Array(this.meshes.length).fill("0");
      neighbours.forEach((i, n) => {
        for (const m of kind.parts[i].meshes) code[m] = BOUNCE_DIGITS[n];
      });
      found.push({ item, tail: `${layer.tail}.from-${code.join("")}`, finishes: neighbours.map((i) => values[i]) });
    });
    if (found.some((f) => !entry.bounce.has(f.tail))) return null;
    return found.map(({ item, tail, finishes }) => ({ item, name: `layer-${presence}-${tail}`, finishes }));
  }

  /** Whether every layer of the colouring is ready in the view. */
  isReady(kind, values, view) {
    const entry = (this.views.get(view) || new Map()).get(this.presence(kind, values));
    if (!entry || !entry.backdrop) return false;
    const groups = this.groups.get(kind);
    return kind.parts.every((p, i) => {
      if (values[i] === 0) return true;
      const ready = entry.parts.get(groups[i]);
      return ready !== undefined && ready.has(values[i]);
    });
  }

  /**
   * The presences of the view (backdrop ready) that the kind can have, each with the
   * values each part may take there: `only[i]` the ready finishes of a present part, [0]
   * for an absent one.
   */
  kindPatterns(kind, view) {
    let byView = this.patterns.get(kind);
    if (byView === undefined) this.patterns.set(kind, (byView = new Map()));
    let found = byView.get(view);
    if (found !== undefined) return found;
    found = [];
    const groups = this.groups.get(kind);
    const owned = new Set(kind.parts.flatMap((p) => p.meshes));
    for (const entry of (this.views.get(view) || new Map()).values()) {
      if (!entry.backdrop) continue;
      const p = entry.presence;
      if (p.length !== this.meshes.length) continue;
      // Meshes no part of the kind names are absent; a part's meshes are all present or not.
      let fits = true;
      for (let m = 0; m < p.length && fits; m++) if (p[m] === "1" && !owned.has(m)) fits = false;
      const present = kind.parts.map((part) => p[part.meshes[0]] === "1");
      kind.parts.forEach((part, i) => {
        if (part.meshes.some((m) => (p[m] === "1") !== present[i])) fits = false;
      });
      if (!fits) continue;
      const only = kind.parts.map((part, i) => {
        if (!present[i]) return [0];
        const ready = entry.parts.get(groups[i]);
        return ready ? part.palette.filter((v) => v !== 0 && ready.has(v)) : [];
      });
      // Only the presences the kind can really have with ready layers.
      if (countCommon([kind], this.meshes.length, null, [only]) === 0n) continue;
      found.push({ presence: p, present, only, sets: only.map((list) => new Set(list)) });
    }
    byView.set(view, found);
    return found;
  }

  /**
   * How many distinct ready colourings `kinds` (one sketchbook entry) have in the view,
   * matching `filter` (Map part name -> Set of values): per presence, the kinds that can
   * have it, united by inclusion-exclusion. BigInt.
   */
  count(kinds, view, filter) {
    const byPresence = new Map();
    for (const kind of kinds) {
      for (const pattern of this.kindPatterns(kind, view)) {
        if (!byPresence.has(pattern.presence)) byPresence.set(pattern.presence, []);
        byPresence.get(pattern.presence).push([kind, pattern.only]);
      }
    }
    let total = 0n;
    for (const group of byPresence.values()) {
      total += countUnion(group.map(([k]) => k), this.meshes.length, filter, group.map(([, only]) => only));
    }
    return total;
  }

  /**
   * How many ready colourings of kinds[j] start with `prefix` (values of its first parts),
   * match the filter and are not a key an earlier kind of `kinds` yields (ready, matching)
   * too: |A_j \ (A_0 u ... u A_j-1)| = sum over subsets T of the earlier kinds of
   * (-1)^|T| |A_j n (n T)|, per presence. BigInt.
   */
  countNew(kinds, j, view, filter, prefix) {
    const kind = kinds[j];
    let total = 0n;
    for (const pattern of this.kindPatterns(kind, view)) {
      let fits = true;
      for (let i = 0; i < prefix.length && fits; i++) fits = pattern.sets[i].has(prefix[i]);
      if (!fits) continue;
      const only = pattern.sets.map((set, i) => (i < prefix.length ? [prefix[i]] : set));
      const earlier = [];
      for (let k = 0; k < j; k++) {
        const other = this.kindPatterns(kinds[k], view).find((q) => q.presence === pattern.presence);
        if (other) earlier.push([kinds[k], other.only]);
      }
      const empty = new Set();
      const own = countCommon([kind], this.meshes.length, filter, [only]);
      if (own === 0n) continue;
      total += own;
      for (const subset of subsetsBySize(earlier.length)) {
        const id = subset.join(",");
        if (subset.length > 1 && subset.some((k) => empty.has(subset.filter((i) => i !== k).join(",")))) {
          empty.add(id);
          continue;
        }
        const common = countCommon(
          [kind, ...subset.map((k) => earlier[k][0])],
          this.meshes.length,
          filter,
          [only, ...subset.map((k) => earlier[k][1])],
        );
        if (common === 0n) empty.add(id);
        total += subset.length % 2 ? -common : common;
      }
    }
    return total;
  }

  /**
   * The matching ready colourings of `kinds`, from the `start`-th on (BigInt or number),
   * lazily: kind by kind, each in rule 5 order (parts in kind order, choices in their
   * order), a key an earlier kind already yields skipped. Subtrees are skipped whole by
   * counting them. Yields {kind, values} (values: one per part of the kind).
   */
  *walk(kinds, view, filter, start = 0n) {
    let skip = BigInt(start);
    for (let j = 0; j < kinds.length; j++) {
      const kind = kinds[j];
      if (!this.kindPatterns(kind, view).length) continue;
      const total = this.countNew(kinds, j, view, filter, []);
      if (skip >= total) {
        skip -= total;
        continue;
      }
      const n = kind.parts.length;
      const values = [];
      const self = this;
      const possible = kind.parts.map((p, i) => {
        const set = new Set();
        for (const pattern of self.kindPatterns(kind, view)) for (const v of pattern.only[i]) set.add(v);
        const wanted = filter ? filter.get(p.name) : undefined;
        return wanted ? new Set([...set].filter((v) => wanted.has(v))) : set;
      });
      const dive = function* (i) {
        if (i === n) {
          yield { kind, values: values.slice() };
          return;
        }
        const part = kind.parts[i];
        const source = part.source === null || part.source === undefined ? 0 : values[part.source];
        for (const v of partChoices(part, source)) {
          if (!possible[i].has(v)) continue;
          values.push(v);
          const c = self.countNew(kinds, j, view, filter, values);
          if (c > skip) {
            yield* dive(i + 1);
            skip = 0n;
          } else {
            skip -= c;
          }
          values.pop();
        }
      };
      yield* dive(0);
      skip = 0n;
    }
  }

  /**
   * The ready colouring of `kind` nearest to `target` (one value per part of the kind, 0
   * where the wanted value is "removed"), if one is nearer than `bound`: its distance is
   * `extra` plus the parts that differ. By branch and bound: parts in kind order, the
   * wanted value first, then the choices in their order; a branch is cut when the parts
   * that cannot keep their wanted value already reach the bound, or when no ready
   * colouring completes it. Returns {values, distance} or null.
   */
  nearest(kind, target, view, extra = 0, bound = Infinity) {
    const patterns = this.kindPatterns(kind, view);
    if (!patterns.length) return null;
    const n = kind.parts.length;
    const values = [];
    let best = null;
    const meshCount = this.meshes.length;
    // Whether a ready colouring completes the values so far. Without charts every part
    // chooses alone: a presence left (all its parts can take a ready finish) is enough.
    const plain = isPlain(kind);
    const feasible = (alive) =>
      plain ||
      alive.some((pattern) => {
        const only = pattern.only.map((list, i) => (i < values.length ? [values[i]] : list));
        return countCommon([kind], meshCount, null, [only]) > 0n;
      });
    const lowerBound = (i, alive) => {
      let missing = 0;
      for (let k = i; k < n; k++) if (!alive.some((pattern) => pattern.sets[k].has(target[k]))) missing++;
      return missing;
    };
    const dive = (i, cost, alive) => {
      if (i === n) {
        bound = cost;
        best = { values: values.slice(), distance: cost };
        return;
      }
      const part = kind.parts[i];
      const choices = partChoices(part, part.source !== null && part.source !== undefined ? values[part.source] : 0);
      const order = choices.includes(target[i]) ? [target[i], ...choices.filter((v) => v !== target[i])] : choices;
      for (const v of order) {
        const next = alive.filter((pattern) => pattern.sets[i].has(v));
        if (!next.length) continue;
        const c = cost + (v === target[i] ? 0 : 1);
        if (c + lowerBound(i + 1, next) >= bound) continue;
        values.push(v);
        if (feasible(next)) dive(i + 1, c, next);
        values.pop();
      }
    };
    if (extra + lowerBound(0, patterns) < bound) dive(0, extra, patterns);
    return best;
  }
}

// ---------------------------------------------------------------------------------------
// Stacking in linear light (docs/layers.md, "Stacking in the browser")
//
// The backdrop (`layer-<presence>-base`) holds the present parts as holdouts: black where a
// part covers a pixel, only the (1 - coverage) share of the floor at an edge. So every
// layer is *added*: CSS adds display values (plus-lighter), which differs from the render
// where a part covers a pixel only partly (the renderer averages light). Once every layer
// is decoded, the page redraws the stack into a canvas in linear light: the sRGB curve
// undone, backdrop and part layers (premultiplied) added, clamped to 1, the curve redone.
// sitegen/verify.py `composite` does the same in Python.

const TO_LINEAR = new Float32Array(256);
for (let v = 0; v < 256; v++) {
  const x = v / 255;
  TO_LINEAR[v] = x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
}
const SRGB_STEPS = 65535;
let TO_SRGB = null; // built on first use: linear (SRGB_STEPS + 1 steps) -> 8-bit sRGB

function toSrgbTable() {
  if (TO_SRGB === null) {
    TO_SRGB = new Uint8Array(SRGB_STEPS + 1);
    for (let i = 0; i <= SRGB_STEPS; i++) {
      const y = i / SRGB_STEPS;
      const x = y <= 0.0031308 ? y * 12.92 : 1.055 * y ** (1 / 2.4) - 0.055;
      TO_SRGB[i] = Math.floor(x * 255 + 0.5);
    }
  }
  return TO_SRGB;
}

/**
 * The light a layer's neighbours add per unit of its coverage, at the bounce images' size
 * (docs/layers.md, "Neighbours' light"): each image (RGBA pixels, sRGB-encoded, alpha
 * unused) in linear light times its neighbour's colour (linear RGB), summed. Returns
 * {width, height, light: Float64Array(width * height * 3)}, or null when the images differ
 * in size. sitegen/verify.py `bounce_light` does the same.
 */
export function bounceLight(images, colours) {
  const { width, height } = images[0];
  if (images.some((image) => image.width !== width || image.height !== height)) return null;
  const light = new Float64Array(width * height * 3);
  images.forEach((image, n) => {
    const c = colours[n];
    const data = image.data;
    for (let p = 0, j = 0; j < light.length; p += 4, j += 3) {
      light[j] += c[0] * TO_LINEAR[data[p]];
      light[j + 1] += c[1] * TO_LINEAR[data[p + 1]];
      light[j + 2] += c[2] * TO_LINEAR[data[p + 2]];
    }
  });
  return { width, height, light };
}

/**
 * A bounce strip's weight: (c - g) / (1 - g) per channel, c its neighbour's finish as
 * light, g the neutral grey's (the neighbour is neutral in the base layers; a strip holds
 * what it adds white). sitegen/albedo.py `bounce_weight`.
 */
export function bounceWeight(light, neutral) {
  return light.map((c, ch) => (c - neutral[ch]) / (1 - neutral[ch]));
}

/** Bilinear sampling positions along one axis: n full pixels from `size` small ones. */
function upsampleAxis(n, size) {
  const lo = new Int32Array(n);
  const hi = new Int32Array(n);
  const f = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.min(Math.max(((i + 0.5) * size) / n - 0.5, 0), size - 1);
    lo[i] = Math.floor(u);
    hi[i] = Math.min(lo[i] + 1, size - 1);
    f[i] = u - lo[i];
  }
  return { lo, hi, f };
}

/**
 * Stack RGBA pixel arrays (straight alpha, as `getImageData` gives them) in linear light:
 * out = min(1, lin(B) + sum(a_i * lin(L_i)) + neighbours' light) per channel, then back to
 * sRGB (clamped to 0..1). `bounce` (optional, with `width`, the pixels' width): per stacked layer (the
 * backdrop first, then `layers`), null or its `bounceLight`, upsampled bilinearly and
 * weighed by the layer's coverage (the backdrop's: 1 - the layers' alphas). A pixel no
 * layer touches (and no backdrop light) keeps the backdrop's bytes. `out` (RGBA, opaque)
 * may be `backdrop` itself.
 */
export function stackLinear(backdrop, layers, out, bounce = null, width = 0) {
  const srgb = toSrgbTable();
  const n = backdrop.length;
  const extra = [];
  if (bounce && width > 0) {
    const height = n / 4 / width;
    bounce.forEach((b, k) => {
      if (b) extra.push({ k, b, xs: upsampleAxis(width, b.width), ys: upsampleAxis(height, b.height) });
    });
  }
  const backdropLight = extra.length > 0 && extra[0].k === 0;
  const light = [0, 0, 0];
  const sample = (e, x, y) => {
    const { lo: x0, hi: x1, f: fxs } = e.xs;
    const { lo: y0, hi: y1, f: fys } = e.ys;
    const w = e.b.width;
    const data = e.b.light;
    const fx = fxs[x];
    const gx = 1 - fx;
    const fy = fys[y];
    const gy = 1 - fy;
    const a = (y0[y] * w + x0[x]) * 3;
    const b = (y0[y] * w + x1[x]) * 3;
    const c = (y1[y] * w + x0[x]) * 3;
    const d = (y1[y] * w + x1[x]) * 3;
    for (let ch = 0; ch < 3; ch++) {
      light[ch] = (data[a + ch] * gx + data[b + ch] * fx) * gy + (data[c + ch] * gx + data[d + ch] * fx) * fy;
    }
  };
  for (let i = 0; i < n; i += 4) {
    let touched = backdropLight;
    let r = 0;
    let g = 0;
    let b = 0;
    let coverage = 0;
    for (const layer of layers) {
      const a = layer[i + 3];
      if (a === 0) continue;
      const f = a / 255;
      touched = true;
      coverage += f;
      r += f * TO_LINEAR[layer[i]];
      g += f * TO_LINEAR[layer[i + 1]];
      b += f * TO_LINEAR[layer[i + 2]];
    }
    if (!touched) {
      out[i] = backdrop[i];
      out[i + 1] = backdrop[i + 1];
      out[i + 2] = backdrop[i + 2];
    } else {
      // The layers' sum first, then the backdrop, then the neighbours' light layer by
      // layer (the order sitegen.verify sums in).
      r += TO_LINEAR[backdrop[i]];
      g += TO_LINEAR[backdrop[i + 1]];
      b += TO_LINEAR[backdrop[i + 2]];
      if (extra.length) {
        const p = i / 4;
        const x = p % width;
        const y = (p - x) / width;
        for (const e of extra) {
          const weight = e.k === 0 ? Math.max(0, 1 - coverage) : layers[e.k - 1][i + 3] / 255;
          sample(e, x, y);
          r += weight * light[0];
          g += weight * light[1];
          b += weight * light[2];
        }
      }
      // (clamped at 0 too: a neighbour darker than the neutral takes light away)
      out[i] = srgb[Math.round(Math.min(Math.max(r, 0), 1) * SRGB_STEPS)];
      out[i + 1] = srgb[Math.round(Math.min(Math.max(g, 0), 1) * SRGB_STEPS)];
      out[i + 2] = srgb[Math.round(Math.min(Math.max(b, 0), 1) * SRGB_STEPS)];
    }
    out[i + 3] = 255;
  }
  return out;
}

/**
 * Draw decoded images (backdrop first) stacked in linear light into `canvas`, with the
 * neighbours' light of `bounce` ([{item, image, colours}]: the decoded bounce image of the
 * stacked image `item`, 0 the backdrop, and its strips' weights, `bounceWeight`, top to
 * bottom). Throws when
 * the pixels cannot be read (images from another origin without CORS taint the canvas):
 * the caller then keeps the CSS stack.
 */
export function paintLinear(canvas, images, bounce = []) {
  const width = images[0].naturalWidth;
  const height = images[0].naturalHeight;
  const scratch = document.createElement("canvas");
  const context = scratch.getContext("2d", { willReadFrequently: true });
  const read = (img, w, h) => {
    if (scratch.width !== w || scratch.height !== h) {
      scratch.width = w;
      scratch.height = h;
    } else {
      context.clearRect(0, 0, w, h);
    }
    context.drawImage(img, 0, 0, w, h);
    return context.getImageData(0, 0, w, h);
  };
  let lights = null;
  if (bounce.length) {
    lights = images.map(() => null);
    for (const b of bounce) {
      const w = b.image.naturalWidth;
      const h = b.image.naturalHeight / b.colours.length;
      if (!Number.isInteger(h)) continue; // not this many strips: drawn without
      const data = read(b.image, w, h * b.colours.length).data;
      const strips = b.colours.map((_, n) => ({ width: w, height: h, data: data.subarray(n * w * h * 4, (n + 1) * w * h * 4) }));
      lights[b.item] = bounceLight(strips, b.colours);
    }
  }
  const pixels = images.map((img) => read(img, width, height).data);
  const result = new ImageData(width, height);
  stackLinear(pixels[0], pixels.slice(1), result.data, lights, width);
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d").putImageData(result, 0, 0);
}
