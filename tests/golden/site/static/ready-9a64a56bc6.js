// Ready sets: which colourings of a kind have a picture, per view (docs/site.md, "The ready set").
//
// A ready set is a sorted list of rows, one per ready colouring; a row holds, for each part
// of the kind in kind order, the index of the part's value in its palette, as an unsigned
// 16-bit little-endian integer. Rows are decoded once into a Uint16Array and then searched
// (binary search), counted (per-part masks) and scanned (nearest row) without allocating.

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Base64 text -> bytes ("" gives no bytes). */
export function decodeBase64(text) {
  if (!text) return new Uint8Array(0);
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Base64 rows -> Uint16Array of palette indices (little-endian on every platform). */
export function decodeRows(text) {
  const bytes = decodeBase64(text);
  if (bytes.length % 2) throw new Error("ready set: odd number of bytes");
  if (LITTLE_ENDIAN) return new Uint16Array(bytes.buffer, 0, bytes.length / 2);
  const view = new DataView(bytes.buffer);
  const out = new Uint16Array(bytes.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint16(2 * i, true);
  return out;
}

/** The ready pictures of one kind in one view. */
export class ReadySet {
  /**
   * @param {string} rows base64 rows
   * @param {number} width parts per row (the kind's number of parts)
   * @param {string|undefined} duplicate base64 bitset of rows another kind already has
   */
  constructor(rows, width, duplicate) {
    this.width = width;
    this.rows = decodeRows(rows);
    if (width <= 0 || this.rows.length % width) throw new Error("ready set: bad row width");
    this.size = this.rows.length / width;
    this.duplicate = duplicate ? decodeBase64(duplicate) : null;
  }

  /** Whether row `r` is a picture an earlier kind of the entry already has. */
  isDuplicate(r) {
    const d = this.duplicate;
    return d !== null && (r >> 3) < d.length && ((d[r >> 3] >> (r & 7)) & 1) === 1;
  }

  /** The palette indices of row `r` (a view into the decoded rows, not a copy). */
  row(r) {
    return this.rows.subarray(r * this.width, (r + 1) * this.width);
  }

  /** Row number of `indices` (palette indices, one per part), or -1 when not ready. */
  find(indices) {
    const rows = this.rows;
    const n = this.width;
    let lo = 0;
    let hi = this.size - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const base = mid * n;
      let cmp = 0;
      for (let i = 0; i < n; i++) {
        const d = rows[base + i] - indices[i];
        if (d !== 0) {
          cmp = d;
          break;
        }
      }
      if (cmp === 0) return mid;
      if (cmp < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Whether the colouring with these palette indices is ready. */
  has(indices) {
    return this.find(indices) >= 0;
  }

  /**
   * How many rows match: `constraints` is a list of [partIndex, mask], where mask is a
   * Uint8Array over the part's palette (1 = accepted). Duplicate rows are skipped unless
   * `withDuplicates`.
   */
  count(constraints, withDuplicates = false) {
    const dup = withDuplicates ? null : this.duplicate;
    const k = constraints.length;
    if (k === 0 && dup === null) return this.size;
    const rows = this.rows;
    const n = this.width;
    const size = this.size;
    let total = 0;
    if (k === 1 && dup === null) {
      const [off, mask] = constraints[0];
      for (let p = off, end = size * n; p < end; p += n) total += mask[rows[p]];
      return total;
    }
    const offs = new Int32Array(k);
    const masks = new Array(k);
    for (let j = 0; j < k; j++) {
      offs[j] = constraints[j][0];
      masks[j] = constraints[j][1];
    }
    const dupLen = dup === null ? 0 : dup.length;
    for (let r = 0, base = 0; r < size; r++, base += n) {
      if (dup !== null && (r >> 3) < dupLen && (dup[r >> 3] >> (r & 7)) & 1) continue;
      let j = 0;
      while (j < k && masks[j][rows[base + offs[j]]]) j++;
      if (j === k) total++;
    }
    return total;
  }

  /** The matching rows' numbers (same rules as `count`), as an Int32Array. */
  matches(constraints, withDuplicates = false) {
    const dup = withDuplicates ? null : this.duplicate;
    const rows = this.rows;
    const n = this.width;
    const k = constraints.length;
    const out = new Int32Array(this.size);
    let m = 0;
    for (let r = 0, base = 0; r < this.size; r++, base += n) {
      if (dup !== null && (r >> 3) < dup.length && (dup[r >> 3] >> (r & 7)) & 1) continue;
      let j = 0;
      while (j < k && constraints[j][1][rows[base + constraints[j][0]]]) j++;
      if (j === k) out[m++] = r;
    }
    return out.subarray(0, m);
  }

  /**
   * The row nearest to `target` (palette indices, -1 where the wanted value is not in the
   * part's palette): fewest differing parts, `extra` added to every row (parts the entry
   * has and this kind lacks, that the target wants present). Returns [row, distance], row
   * -1 when the set is empty; stops early at `bound` (a distance already found elsewhere).
   */
  nearest(target, extra = 0, bound = Infinity) {
    const rows = this.rows;
    const n = this.width;
    let best = -1;
    let bestDistance = bound;
    for (let r = 0, base = 0; r < this.size; r++, base += n) {
      let d = extra;
      for (let i = 0; i < n && d < bestDistance; i++) if (rows[base + i] !== target[i]) d++;
      if (d < bestDistance) {
        best = r;
        bestDistance = d;
        if (d === 0) break;
      }
    }
    return [best, best < 0 ? Infinity : bestDistance];
  }
}

/** A mask over a palette: 1 where the palette's value is in `values` (a Set of numbers). */
export function paletteMask(palette, values) {
  const mask = new Uint8Array(palette.length);
  for (let i = 0; i < palette.length; i++) if (values.has(palette[i])) mask[i] = 1;
  return mask;
}
