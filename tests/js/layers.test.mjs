// Stacking in linear light (templates/static/layers.js `stackLinear`), run in node: the
// backdrop holds the parts as holdouts, so every layer is added (docs/layers.md).

import assert from "node:assert/strict";
import { test } from "node:test";

import { stackLinear } from "../static/layers.js";

const lin = (v) => {
  const x = v / 255;
  return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
};
const srgb = (y) => {
  const c = Math.min(1, y);
  const x = c <= 0.0031308 ? c * 12.92 : 1.055 * c ** (1 / 2.4) - 0.055;
  return Math.floor(x * 255 + 0.5);
};
const px = (...values) => Uint8ClampedArray.from(values);

test("a pixel no layer touches keeps the backdrop's bytes", () => {
  const out = stackLinear(px(12, 200, 77, 255), [px(250, 0, 0, 0)], new Uint8ClampedArray(4));
  assert.deepEqual([...out], [12, 200, 77, 255]);
});

test("at a part's edge the backdrop (a holdout) and the layer are added in linear light", () => {
  // The floor (200) keeps 1 - coverage of its light in the backdrop; the part (40) covers
  // 60% of the pixel: out = lin(B) + 0.6 * lin(L).
  const b = srgb(0.4 * lin(200));
  const out = stackLinear(px(b, b, b, 255), [px(40, 90, 10, 153)], new Uint8ClampedArray(4));
  const f = 153 / 255;
  const want = [40, 90, 10].map((c) => {
    const y = lin(b) + f * lin(c);
    return srgb(y);
  });
  for (let k = 0; k < 3; k++) assert.ok(Math.abs(out[k] - want[k]) <= 1, `${out[k]} vs ${want[k]}`);
  assert.equal(out[3], 255);
  // No (1 - alpha) factor: a black backdrop under a half-covering white part is lin 0.5.
  const half = stackLinear(px(0, 0, 0, 255), [px(255, 255, 255, 255 / 2 | 0)], new Uint8ClampedArray(4));
  assert.equal(half[0], srgb(127 / 255));
});

test("two parts meeting in a pixel add up, order-free, clamped to 1 only at the end", () => {
  const red = px(255, 0, 0, 128);
  const blue = px(0, 0, 255, 127);
  const a = stackLinear(px(0, 0, 0, 255), [red, blue], new Uint8ClampedArray(4));
  const b = stackLinear(px(0, 0, 0, 255), [blue, red], new Uint8ClampedArray(4));
  assert.deepEqual([...a], [...b]);
  assert.deepEqual([...a], [srgb(128 / 255), 0, srgb(127 / 255), 255]);
  // Over a bright backdrop the sum saturates at 255.
  const bright = stackLinear(px(250, 250, 250, 255), [px(255, 255, 255, 255)], new Uint8ClampedArray(4));
  assert.deepEqual([...bright], [255, 255, 255, 255]);
});

test("out may be the backdrop itself", () => {
  const back = px(0, 0, 0, 255, 9, 8, 7, 255);
  stackLinear(back, [px(255, 255, 255, 255, 0, 0, 0, 0)], back);
  assert.deepEqual([...back], [255, 255, 255, 255, 9, 8, 7, 255]);
});
