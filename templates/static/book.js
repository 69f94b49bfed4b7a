// The sketchbook as a component: one mounted instance per root element (docs/site.md).
//
// Everything happens here, in the browser: the page data says which colourings are
// allowed and which have a picture; the picture's address is built from the selection.
// Text from the data is only ever inserted with textContent / DOM APIs. What the data
// allows and what is ready is the model (model.js, pure); the selection and its hash are
// state.js. A product page mounts one on `#sketchbook`, with the page's own URL hash and
// history (sketchbook.js); the `<sitegen-sketchbook>` element mounts one in its shadow
// root, with a hash of its own (element.js).

import { paintLinear } from "./layers.js";
import { Model, PAGE_SIZE, exact, showsStyleSwitch, sizedUrl, toFilter, viewName } from "./model.js";
import { Turntable } from "./spin.js";
import { Selection, hashOf, parseHash } from "./state.js";

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


// The main picture's width in the layout (style.css: .sb-main's first column, or the whole
// width below 860px), for `srcset`; product.html says the same for the static picture.
const PICTURE_SIZES = "(max-width: 860px) 100vw, min(760px, 60vw)";

const ZOOM_STEPS = [1, 2, 4, 8]; // image pixels per device pixel: 1 is the least

/** What a sketchbook can show besides the picture (`controls`: the element's attribute). */
export const CONTROLS = ["parts", "views", "gallery", "zoom"];

/**
 * Mount a sketchbook on `root` (emptied first) and load its page data.
 *
 * options:
 * - `dataUrl`: the page data's address (relative to the document); swatches and pictures
 *   are resolved against it;
 * - `location`, `history`: where the selection's hash lives (the page's own, or a private
 *   one: `privateHash()`);
 * - `controls`: the subset of CONTROLS to show (default: all);
 * - `permalink`: show "Link to this colouring" (default true);
 * - `corsOrigin`: an origin whose pictures are requested with CORS (`crossorigin=
 *   "anonymous"`) when the document is elsewhere, so the linear-light canvas can read them
 *   (the element passes its site's origin); pictures anywhere else are loaded plainly and
 *   stacked in CSS where the canvas cannot read them;
 * - `onChange(api)`: after every new state is shown; `onError(error, what)`: `what` is
 *   "load" (the page data could not be loaded: nothing shows) or "picture" (a picture
 *   could not be loaded: the placeholder shows).
 *
 * Returns `{api, destroy, applyHash, setControls, view, followLocation}`: api is
 * `window.sketchbook`'s shape.
 */
export function mountSketchbook(root, options = {}) {
  const { dataUrl = "data.json", location, history, permalink = true, corsOrigin = null } = options;
  const onChange = options.onChange || (() => {});
  const onError = options.onError || (() => {});
  let controls = new Set(options.controls || CONTROLS);
  let resolveReady;
  let rejectReady;
  const ready = new Promise((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(() => {}); // a failed load is shown; awaiting callers still see it
  const api = { ready, select, selection: currentSelection, imageUrl, imageUrls, count, isReady };
  let cors = null; // "anonymous" where pictures are read across origins (set on load)
  let started = false; // onChange only once loaded
  const activeElement = () => root.getRootNode().activeElement; // a document or a shadow root
  const dataBase = new URL(dataUrl, document.baseURI).href;
  const listeners = [];
  const listen = (target, type, fn) => {
    target.addEventListener(type, fn);
    listeners.push(() => target.removeEventListener(type, fn));
  };

  let model = null; // Model: the prepared page data
  let selection = null; // Selection: the current state, per-entry memory, the URL hash
  const filters = new Map(); // entry index -> Map part name -> Set of values
  const restoreValues = new Map(); // "entry|part" -> last finish before "Remove"
  let galleryPage = 0;

  function setState(next, options) {
    selection.set(next, options);
  }

  /** A new state is in the hash: show it (a new entry starts its gallery on page 1). */
  function changed(entryChanged) {
    if (entryChanged) galleryPage = 0;
    render(entryChanged);
    if (started) onChange(api);
  }

  // ---------------------------------------------------------------------------------------
  // window.sketchbook

  function requireData() {
    if (!model || !selection || !selection.state) {
      throw new Error("sketchbook: data not loaded yet (await sketchbook.ready)");
    }
  }

  /** Select finishes: parts maps part names to finish ids (0 = removed). */
  function select(parts = {}, options = {}) {
    requireData();
    setState(selection.selected(parts, options));
    return currentSelection();
  }

  /** {product, kind, parts}: the current kind and its parts' finishes. */
  function currentSelection() {
    requireData();
    const { kind, values } = selection.state;
    const parts = {};
    for (const p of kind.parts) parts[p.name] = values.get(p.name) ?? 0;
    return { product: model.data.product.id, kind: kind.id, parts };
  }

  function imageUrl() {
    requireData();
    const s = selection.state;
    return model.pictureUrl(s.kind, s.values, s.view);
  }

  function imageUrls() {
    requireData();
    const s = selection.state;
    return model.pictureUrls(s.kind, s.values, s.view);
  }

  function count(filter) {
    requireData();
    const s = selection.state;
    return exact(model.count(model.entries[s.entry], s.view, toFilter(filter)));
  }

  function isReady() {
    requireData();
    const s = selection.state;
    return model.isReady(s.kind, s.values, s.view);
  }

  /** A swatch picture; if its file cannot be loaded, the finish's plain colour instead. */
  function swatch(value) {
    const finish = model.data.finishes[value] || {};
    if (!finish.swatch) return colourChip(finish.color);
    const img = h("img", { class: "sb-swatch-img", src: new URL(finish.swatch, dataBase).href, alt: "", loading: "lazy", decoding: "async" });
    img.addEventListener("error", () => img.replaceWith(colourChip(finish.color)), { once: true });
    return img;
  }

  /** A thumbnail that falls back to the full picture, then to a "no picture" mark. */
  function thumbnail(kind, values, view, alt) {
    if (model.layers) return stackedThumbnail(kind, values, view, alt);
    const img = h("img", { class: "sb-thumb-img", alt, loading: "lazy", decoding: "async" });
    let step = 0;
    img.addEventListener("error", () => {
      step++;
      if (step === 1) img.src = model.pictureUrl(kind, values, view);
      else img.replaceWith(h("span", { class: "sb-thumb-missing", text: "No picture" }));
    });
    img.src = model.pictureUrl(kind, values, view, true);
    return img;
  }

  /**
   * A layered thumbnail: the backdrop's thumbnail and the part layers' thumbnails added over
   * it, all in one isolated group (.layer-stack). A layer whose thumbnail fails falls back to
   * the full-size layer; if that fails too, the whole stack gives way to a "no picture" mark.
   */
  function stackedThumbnail(kind, values, view, alt) {
    const thumbs = model.pictureUrls(kind, values, view, true);
    const full = model.pictureUrls(kind, values, view);
    const wrap = h("span", { class: "layer-stack sb-thumb-stack" });
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
    wrap.append(...imgs);
    return wrap;
  }

  // ---------------------------------------------------------------------------------------
  // The UI

  const ui = {};
  let uid = 0;
  const nextId = (prefix) => `${prefix}-${++uid}`;

  function build() {
    root.replaceChildren();
    root.classList.add("sb-live");
    if (model.entries.length > 1) {
      ui.tablist = h("div", { class: "sb-tabs", role: "tablist", "aria-label": "Styles of this product" });
      ui.tabs = model.entries.map((entry) => {
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
    ui.img.hidden = Boolean(model.layers); // a layered picture shows once its whole stack is loaded
    // A layered picture: the backdrop (ui.img, the parts as holdouts) and the part layers,
    // all added up in one isolated group.
    ui.layers = h("span", { class: "layer-stack sb-layers", hidden: true });
    if (model.layers) ui.layers.append(ui.img);
    // The same stack redrawn in linear light (layers.js paintLinear) covers the CSS one; the
    // backdrop image keeps the alt text.
    ui.canvas = h("canvas", { class: "sb-canvas", "aria-hidden": "true", hidden: true });
    ui.shown = h("div", { class: "sb-shown" }, model.layers ? null : ui.img, ui.layers, ui.canvas);
    ui.shown.addEventListener("dblclick", () => openZoom());
    ui.zoomButton = h("button", {
      type: "button",
      class: "sb-zoom-button",
      "aria-haspopup": "dialog",
      title: "See the picture at full size",
      text: "Zoom",
      onclick: () => openZoom(),
    });
    ui.placeholderText = h("span", { class: "sb-placeholder-text" });
    ui.placeholder = h("div", { class: "sb-placeholder", "aria-hidden": "true" }, ui.placeholderText);
    ui.badge = h("span", { class: "sb-badge", text: "Not rendered yet" });
    ui.status = h("p", { class: "sb-status", role: "status", "aria-live": "polite" });
    ui.figure = h(
      "figure",
      { class: "sb-figure" },
      h("div", { class: "sb-picture" }, ui.shown, ui.placeholder, ui.badge, ui.zoomButton),
      h("figcaption", { class: "sb-caption" }, ui.status),
    );
    ui.views = h("div", { class: "sb-views", role: "group", "aria-label": "Views" });
    ui.viewButtons = model.viewGroups().map((group) => {
      const button = h("button", {
        type: "button",
        class: "sb-view",
        "aria-pressed": "false",
        onclick: () => {
          // A spin's button keeps the frame shown when the spin is on screen already.
          const frame = model.frameOf(selection.state.view);
          if (!(group.frames && frame && frame.spin === group.id)) setState({ ...selection.state, view: group.view });
        },
      });
      button.dataset.view = group.view;
      if (group.frames) button.dataset.spin = group.id;
      return button;
    });
    ui.views.append(...ui.viewButtons);

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
      { class: "sb-panel", id: "sb-panel", role: model.entries.length > 1 ? "tabpanel" : null },
      h(
        "div",
        { class: "sb-main" },
        h("div", { class: "sb-stage" }, ui.figure, ui.views),
        (ui.controls = h("div", { class: "sb-controls" }, ui.kindName, ui.styles, ui.palettes, permalink ? h("p", { class: "sb-link" }, ui.permalink) : null)),
      ),
      (ui.filters = h(
        "section",
        { class: "sb-filters", "aria-labelledby": filtersId },
        h("div", { class: "sb-filters-head" }, h("h2", { id: filtersId, text: "Ready pictures" }), ui.clear),
        h("p", { class: "sb-hint", text: "Tick finishes or whole patterns to see which colourings already have a picture." }),
        ui.filterParts,
        ui.countText,
        ui.gallery,
        ui.pager,
      )),
    );
    root.append(ui.panel);
    ui.partViews = new Map();
    buildZoom();
    applyControls();
  }

  /** Show only the chosen controls (CONTROLS: the element's `controls` attribute). */
  function applyControls() {
    const parts = controls.has("parts");
    ui.controls.hidden = !parts;
    if (ui.tablist) ui.tablist.hidden = !parts;
    ui.views.hidden = !controls.has("views") || ui.viewButtons.length < 2;
    ui.filters.hidden = !controls.has("gallery");
    ui.zoomButton.hidden = !controls.has("zoom") || !ui.shownPicture;
    root.classList.toggle("sb-picture-only", !parts);
  }

  /** The picture (or a layered picture's backdrop): a failed load shows the placeholder. */
  function mainImage(src, alt = "") {
    const img = h("img", { class: "sb-img", alt, crossorigin: cors });
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
    if (!ui.figure.classList.contains("sb-failed")) onError(new Error(`picture not available: ${ui.img.src || "(none)"}`), "picture");
    ui.img.hidden = true;
    ui.figure.classList.add("sb-failed");
    ui.placeholderText.textContent = "Picture not available";
  }

  /**
   * Show a layered picture: every layer is loaded and decoded first, then the backdrop and
   * the part layers are swapped in together, so a half-loaded or mismatched stack never
   * shows. A layer that cannot be loaded shows the placeholder instead.
   */
  /**
   * Decode a picture's bounce images ([{url, item, colours}] or null): a promise of the
   * [{item, image, colours}] `paintLinear` takes, or of null when there are none or one
   * fails (the stack is then drawn without the neighbours' light).
   */
  function loadBounce(bounce) {
    if (!bounce || !bounce.length) return Promise.resolve(null);
    const loaded = bounce.map((b) => ({ item: b.item, colours: b.colours, image: h("img", { alt: "", crossorigin: cors, src: b.url }) }));
    return Promise.all(loaded.map((b) => b.image.decode())).then(
      () => loaded,
      () => null,
    );
  }

  /** data-bounce on a shown stack: "on" (neighbours' light drawn), "off" (a quality with it,
   * but not all of this picture's bounce images ready or loaded), absent (no such quality). */
  function markBounce(element, lit) {
    if (model.data.bounce) element.dataset.bounce = lit ? "on" : "off";
    else delete element.dataset.bounce;
  }

  function showStack(urls, alt, width, bounce = null) {
    const key = urls.concat(bounce ? bounce.map((b) => b.url) : []).join(" ");
    if (ui.stackWanted === key) {
      if (ui.img.alt !== alt && ui.stackShown === key) ui.img.alt = alt;
      return;
    }
    ui.stackWanted = key;
    ui.shown.dataset.state = "loading";
    const images = urls.map((url, k) => (k === 0 ? mainImage(url, alt) : h("img", { alt: "", crossorigin: cors, src: url })));
    const light = loadBounce(bounce);
    Promise.all(images.map((img) => img.decode())).then(
      () => light,
    ).then(
      (lit) => {
        if (ui.stackWanted !== key) return;
        ui.img = images[0];
        ui.layers.replaceChildren(...images);
        ui.layers.hidden = false;
        ui.shown.dataset.width = String(width ?? images[0].naturalWidth);
        try {
          paintLinear(ui.canvas, images, lit || []);
          ui.canvas.hidden = false;
          ui.shown.dataset.stack = "linear";
          markBounce(ui.shown, lit);
        } catch {
          ui.canvas.hidden = true; // pixels not readable (another origin without CORS)
          ui.shown.dataset.stack = "css";
          delete ui.shown.dataset.bounce;
        }
        ui.figure.classList.remove("sb-failed");
        ui.stackShown = key;
        ui.shown.dataset.state = "shown";
      },
      () => {
        if (ui.stackWanted !== key) return;
        ui.layers.replaceChildren(ui.img);
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
    ui.layers.replaceChildren(ui.img);
    ui.layers.hidden = true;
    ui.canvas.hidden = true;
    delete ui.shown.dataset.state;
  }

  // Sizes -------------------------------------------------------------------------------

  // The main picture's width in the layout (style.css: .sb-main's first column, or the whole
  // width below 860px), for `srcset`; product.html says the same for the static picture.
  /**
   * The width to load a layered picture at: every layer of a stack at the same width, the
   * smallest size at least as wide as the picture shows in device pixels (else the full
   * size). A stack already shown wider (`base`: its unsized URLs) is not loaded again smaller.
   */
  function stackWidth(base) {
    const box = ui.shown.closest(".sb-picture");
    const css = (box && box.clientWidth) || window.innerWidth;
    let width = model.widthFor(css, window.devicePixelRatio || 1);
    if (ui.stackBase === base && ui.stackBaseWidth > width) width = ui.stackBaseWidth;
    ui.stackBase = base;
    ui.stackBaseWidth = width;
    return width;
  }

  let resizeQueued = false;
  function resized() {
    if (resizeQueued || !model || !model.layers || !selection || !selection.state) return;
    resizeQueued = true;
    requestAnimationFrame(() => {
      resizeQueued = false;
      renderPicture();
    });
  }

  // Zoom ----------------------------------------------------------------------------------


  function buildZoom() {
    const button = (text, label, onclick) => h("button", { type: "button", class: "sb-zoom-control", "aria-label": label, text, onclick });
    ui.zoomOut = button("\u2212", "Zoom out", () => zoomBy(-1));
    ui.zoomIn = button("+", "Zoom in", () => zoomBy(1));
    ui.zoomClose = button("Close", "Close the zoom view", () => ui.zoom.close());
    ui.zoomText = h("span", { class: "sb-zoom-text", "aria-live": "polite" });
    ui.zoomArea = h("div", {
      class: "sb-zoom-area",
      tabindex: "0",
      role: "region",
      "aria-label": "The picture at full size: drag it or use the arrow keys to move, + and - to zoom",
    });
    ui.zoom = h(
      "dialog",
      { class: "sb-zoom", "aria-label": "Picture at full size" },
      h("div", { class: "sb-zoom-bar" }, ui.zoomText, ui.zoomOut, ui.zoomIn, ui.zoomClose),
      ui.zoomArea,
    );
    ui.zoom.addEventListener("keydown", zoomKeys);
    ui.zoom.addEventListener("close", () => {
      ui.zoomToken = null;
      ui.zoomArea.replaceChildren();
      ui.zoomContent = null;
      delete ui.zoom.dataset.state;
      const back = ui.zoomReturn && ui.zoomReturn.isConnected && !ui.zoomReturn.hidden ? ui.zoomReturn : ui.zoomButton;
      if (back && back.focus) back.focus();
    });
    // Dragging pans (a mouse or a pen; touch scrolls the area natively).
    let drag = null;
    ui.zoomArea.addEventListener("pointerdown", (event) => {
      if (event.button !== 0 || event.pointerType === "touch") return;
      drag = { id: event.pointerId, x: event.clientX, y: event.clientY, left: ui.zoomArea.scrollLeft, top: ui.zoomArea.scrollTop };
      ui.zoomArea.setPointerCapture(event.pointerId);
      ui.zoomArea.classList.add("sb-dragging");
      event.preventDefault();
    });
    ui.zoomArea.addEventListener("pointermove", (event) => {
      if (!drag || event.pointerId !== drag.id) return;
      ui.zoomArea.scrollLeft = drag.left - (event.clientX - drag.x);
      ui.zoomArea.scrollTop = drag.top - (event.clientY - drag.y);
    });
    const endDrag = (event) => {
      if (!drag || event.pointerId !== drag.id) return;
      drag = null;
      ui.zoomArea.classList.remove("sb-dragging");
    };
    ui.zoomArea.addEventListener("pointerup", endDrag);
    ui.zoomArea.addEventListener("pointercancel", endDrag);
    root.append(ui.zoom);
  }

  /**
   * Open the zoom view on the picture shown: its full size (the plain names), at a layered
   * quality the whole stack redrawn in linear light at full size (else the CSS stack).
   */
  function openZoom() {
    const shown = ui.shownPicture;
    if (!shown || ui.zoom.open || !controls.has("zoom")) return;
    const token = {};
    ui.zoomToken = token;
    ui.zoomReturn = activeElement();
    ui.zoomScale = 1;
    ui.zoomContent = null;
    ui.zoom.dataset.state = "loading";
    delete ui.zoom.dataset.width;
    delete ui.zoom.dataset.stack;
    ui.zoomText.textContent = "Loading the full size\u2026";
    ui.zoomArea.replaceChildren();
    ui.zoom.showModal();
    ui.zoomArea.focus();
    const urls = model.pictureUrls(shown.kind, shown.values, shown.view);
    const images = urls.map((url, k) => h("img", { crossorigin: cors, src: url, alt: k === 0 ? shown.alt : "", draggable: "false" }));
    const bounce = model.bounceImages(shown.kind, shown.values, shown.view);
    const light = loadBounce(bounce);
    Promise.all(images.map((img) => img.decode())).then(
      () => light,
    ).then(
      (lit) => {
        if (ui.zoomToken !== token) return;
        let content = images[0];
        if (model.layers) {
          const canvas = h("canvas", { class: "sb-zoom-picture", role: "img", "aria-label": shown.alt });
          try {
            paintLinear(canvas, images, lit || []);
            content = canvas;
            ui.zoom.dataset.stack = "linear";
            markBounce(ui.zoom, lit);
          } catch {
            content = h("span", { class: "layer-stack sb-zoom-picture" }, ...images);
            ui.zoom.dataset.stack = "css";
          }
        } else {
          content.className = "sb-zoom-picture";
        }
        ui.zoomContent = content;
        ui.zoomSize = [images[0].naturalWidth, images[0].naturalHeight];
        ui.zoomArea.replaceChildren(h("div", { class: "sb-zoom-canvas" }, content));
        ui.zoom.dataset.width = String(images[0].naturalWidth);
        applyZoom(1, true);
        ui.zoom.dataset.state = "shown";
      },
      () => {
        if (ui.zoomToken !== token) return;
        ui.zoom.dataset.state = "failed";
        ui.zoomText.textContent = "The full-size picture is not available.";
      },
    );
  }

  /** Show the zoomed picture at `scale` image pixels per device pixel, about the centre. */
  function applyZoom(scale, centre = false) {
    const content = ui.zoomContent;
    if (!content) return;
    const area = ui.zoomArea;
    const dpr = window.devicePixelRatio || 1;
    const oldWidth = content.offsetWidth || 1;
    const oldHeight = content.offsetHeight || 1;
    const fx = centre ? 0.5 : (area.scrollLeft + area.clientWidth / 2) / oldWidth;
    const fy = centre ? 0.5 : (area.scrollTop + area.clientHeight / 2) / oldHeight;
    const width = (ui.zoomSize[0] * scale) / dpr;
    const height = (ui.zoomSize[1] * scale) / dpr;
    content.style.width = `${width}px`;
    content.style.height = `${height}px`;
    content.classList.toggle("sb-zoom-pixels", scale > 1);
    ui.zoomScale = scale;
    area.scrollLeft = fx * content.offsetWidth - area.clientWidth / 2;
    area.scrollTop = fy * content.offsetHeight - area.clientHeight / 2;
    ui.zoom.dataset.scale = String(scale);
    ui.zoomOut.disabled = scale <= ZOOM_STEPS[0];
    ui.zoomIn.disabled = scale >= ZOOM_STEPS[ZOOM_STEPS.length - 1];
    ui.zoomText.textContent = `${ui.zoomSize[0]} \u00d7 ${ui.zoomSize[1]} pixels, ${scale}\u00d7`;
  }

  function zoomBy(step) {
    const at = ZOOM_STEPS.indexOf(ui.zoomScale);
    const next = ZOOM_STEPS[Math.min(ZOOM_STEPS.length - 1, Math.max(0, at + step))];
    if (next !== ui.zoomScale) applyZoom(next);
  }

  function zoomKeys(event) {
    if (event.key === "Tab") {
      // The focus stays in the zoom view: the controls, then the picture's area, round.
      const stops = [ui.zoomOut, ui.zoomIn, ui.zoomClose, ui.zoomArea].filter((el) => !el.disabled);
      const at = stops.indexOf(activeElement());
      event.preventDefault();
      stops[(at + (event.shiftKey ? -1 : 1) + stops.length) % stops.length].focus();
      return;
    }
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const area = ui.zoomArea;
    const dx = Math.max(40, Math.round(area.clientWidth / 10));
    const dy = Math.max(40, Math.round(area.clientHeight / 10));
    const moves = { ArrowLeft: [-dx, 0], ArrowRight: [dx, 0], ArrowUp: [0, -dy], ArrowDown: [0, dy] };
    if (event.key in moves) {
      event.preventDefault();
      area.scrollLeft += moves[event.key][0];
      area.scrollTop += moves[event.key][1];
    } else if (event.key === "+" || event.key === "=") {
      event.preventDefault();
      zoomBy(1);
    } else if (event.key === "-" || event.key === "_") {
      event.preventDefault();
      zoomBy(-1);
    }
  }

  function tabKeys(event, index) {
    const n = model.entries.length;
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
    if (selection.state && selection.state.entry === index) return;
    const entry = model.entries[index];
    const next = selection.entryStart(entry, selection.state ? selection.state.view : model.data.views[0]);
    if (next) setState({ ...next, view: selection.state ? selection.state.view : next.view });
  }

  /** Pick `value` for part `name` (remembering a removed finish for "Restore"). */
  function pick(name, value) {
    const next = model.fitPick(selection.state, name, value);
    if (!next) return;
    const current = selection.state.values.get(name) ?? 0;
    if (value === 0 && current !== 0) restoreValues.set(`${selection.state.entry}|${name}`, current);
    setState(next);
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
    for (const [pattern, group] of model.groupByPattern(spec.values)) {
      const labelId = nextId("sb-group");
      const row = h("div", { class: "sb-swatches" });
      for (const value of group) {
        const button = h(
          "button",
          { type: "button", class: "sb-swatch", "aria-pressed": "false", title: model.finishName(value) },
          swatch(value),
          h("span", { class: "visually-hidden", text: model.finishName(value) }),
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
          h("span", { class: "sb-group-label", id: labelId, text: model.patternName(pattern) }),
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
        const remembered = restoreValues.get(`${selection.state.entry}|${name}`);
        const options = spec.values.filter((v) => v !== 0);
        const candidates = remembered ? [remembered, ...options] : options;
        for (const v of candidates) {
          if (model.fitPick(selection.state, name, v)) {
            pick(name, v);
            break;
          }
        }
        const pressed = buttons.get(selection.state.values.get(name));
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
      const selected = i === selection.state.entry;
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      if (selected) ui.panel.setAttribute("aria-labelledby", tab.id);
    });
  }

  function renderStyles() {
    const entry = model.entries[selection.state.entry];
    ui.styles.replaceChildren();
    ui.styles.hidden = !showsStyleSwitch(entry);
    ui.kindName.textContent = entry.kinds.length > 1 && !showsStyleSwitch(entry) ? selection.state.kind.name : "";
    ui.kindName.hidden = !ui.kindName.textContent;
    if (ui.styles.hidden) return;
    for (const kind of entry.kinds) {
      const values = model.resolve(kind, selection.state.values, new Set());
      const button = h("button", {
        type: "button",
        class: "sb-style",
        "aria-pressed": String(kind === selection.state.kind),
        disabled: values === null,
        text: kind.name,
      });
      button.dataset.kind = kind.id;
      button.addEventListener("click", () => {
        if (kind === selection.state.kind || values === null) return;
        setState({ ...selection.state, kind, values });
        const again = ui.styles.querySelector(`[data-kind="${CSS.escape(kind.id)}"]`);
        if (again) again.focus();
      });
      ui.styles.append(button);
    }
  }

  function renderPalettes(entryChanged) {
    const entry = model.entries[selection.state.entry];
    if (entryChanged) {
      ui.palettes.replaceChildren();
      ui.partViews = new Map();
    }
    const focused = activeElement();
    const focusPart = focused && focused.closest ? focused.closest(".sb-part") : null;
    const focusKey = focusPart && focused.dataset.value !== undefined ? [focusPart.dataset.part, focused.dataset.value] : null;
    let previous = null;
    for (const name of entry.parts) {
      const spec = model.partPalette(selection.state, name);
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
      const current = selection.state.values.get(name) ?? 0;
      view.legendValue.textContent = current === 0 ? (spec.absent && !spec.optional ? "none" : "removed") : model.finishName(current);
      for (const [value, button] of view.buttons) {
        button.setAttribute("aria-pressed", String(value === current));
        button.disabled = value !== current && model.fitPick(selection.state, name, value) === null;
      }
      if (view.fieldset._restore) view.fieldset._restore.hidden = current !== 0;
    }
    if (focusKey && activeElement() !== focused) {
      const view = ui.partViews.get(focusKey[0]);
      const button = view && view.buttons.get(Number(focusKey[1]));
      if (button) button.focus();
    }
  }

  /** "frame 5": how the status names a spin's frame. */
  function frameLabel(view) {
    const frame = model.frameOf(view);
    return frame ? `frame ${frame.frame}` : `the ${viewName(view)} view`;
  }

  function renderPicture() {
    const entry = model.entries[selection.state.entry];
    const withKind = showsStyleSwitch(entry);
    const view = selection.state.view;
    // The picture itself, else (a spin) the same colouring in the nearest ready frame, else
    // the nearest ready colouring (model.js nearestShown).
    const shown = model.nearestShown(selection.state, view);
    const readyNow = Boolean(shown && shown.exact);
    ui.figure.classList.toggle("sb-not-ready", !readyNow);
    let message = "";
    if (shown && !readyNow) {
      const diffs = [];
      if (shown.view !== view) diffs.push(`${frameLabel(shown.view)} instead of ${frameLabel(view)}`);
      if (shown.kind !== selection.state.kind && withKind) diffs.push(`${shown.kind.name} instead of ${selection.state.kind.name}`);
      for (const name of entry.parts) {
        const want = selection.state.values.get(name) ?? 0;
        const have = shown.values.get(name) ?? 0;
        if (want !== have) diffs.push(`${name} ${model.finishName(have)} instead of ${model.finishName(want)}`);
      }
      message = `Not rendered yet. Showing: ${diffs.join("; ")}.`;
    } else if (!shown) {
      message = "Not rendered yet. No picture of this product is ready in this view.";
    }
    if (ui.status.textContent !== message) ui.status.textContent = message;
    ui.badge.hidden = readyNow;
    ui.shownPicture = shown ? { ...shown, alt: model.describe(shown.kind, shown.values, withKind) } : null;
    ui.zoomButton.hidden = !shown || !controls.has("zoom");
    // While a spin turns, its frames show at the smallest size; once it settles, the frame
    // on screen loads at the size the layout needs.
    const small = ui.turning && model.sizes.length ? model.sizes[0] : null;
    if (shown && model.layers) {
      const width = small || stackWidth(model.pictureUrls(shown.kind, shown.values, shown.view).join(" "));
      showStack(
        model.pictureUrls(shown.kind, shown.values, shown.view, false, width),
        ui.shownPicture.alt,
        width,
        model.bounceImages(shown.kind, shown.values, shown.view),
      );
      ui.figure.classList.toggle("sb-empty", false);
      ui.placeholderText.textContent = "Picture not available";
    } else if (shown) {
      const full = model.pictureUrl(shown.kind, shown.values, shown.view);
      const url = small ? sizedUrl(full, small, model.fullWidth) : full;
      ui.img.alt = model.describe(shown.kind, shown.values, withKind);
      if (ui.img.getAttribute("src") !== url) {
        // The browser picks the size the layout and the screen need (every size, the full one).
        const srcset = model.sizes.length && !small ? model.srcset(url) : null;
        if (srcset) {
          ui.img.sizes = PICTURE_SIZES;
          ui.img.srcset = srcset;
        } else {
          ui.img.removeAttribute("srcset");
        }
        ui.img.src = url;
      }
      ui.figure.classList.toggle("sb-empty", false);
      if (!ui.figure.classList.contains("sb-failed")) ui.img.hidden = false;
      ui.placeholderText.textContent = "Picture not available";
    } else {
      if (model.layers) clearStack();
      ui.img.removeAttribute("srcset");
      ui.img.removeAttribute("src");
      ui.img.alt = "";
      ui.img.hidden = true;
      ui.figure.classList.remove("sb-failed");
      ui.figure.classList.add("sb-empty");
      ui.placeholderText.textContent = "Not rendered yet";
    }
    if (shown) preloadAround(shown);
    ui.permalink.href = `#${hashOf(selection.state)}`;
    ui.permalink.setAttribute("aria-label", `Link to this colouring: ${model.describe(selection.state.kind, selection.state.values, withKind)}`);
  }

  // Spins ---------------------------------------------------------------------------------

  const SPIN_PRELOAD = 3; // frames each side loaded ahead, at the smallest size
  const preloaded = new Set();

  /** Load the frames around a spin's frame (the colouring shown, where ready) at the
   * smallest size, nearest first, so that turning shows them at once. */
  function preloadAround(shown) {
    const width = model.sizes.length ? model.sizes[0] : null;
    for (const view of model.neighbours(shown.view, SPIN_PRELOAD)) {
      if (!model.isReady(shown.kind, shown.values, view)) continue;
      const urls = model.layers
        ? model.pictureUrls(shown.kind, shown.values, view, false, width)
        : [sizedUrl(model.pictureUrl(shown.kind, shown.values, view), width, model.fullWidth)];
      for (const url of urls) {
        if (preloaded.has(url)) continue;
        preloaded.add(url);
        h("img", { alt: "", crossorigin: cors, src: url });
      }
    }
  }

  /** A spin's frame on screen: the picture turns (Turntable: drag, swipe, arrow keys). */
  function renderSpin() {
    const frame = model.frameOf(selection.state.view);
    ui.figure.classList.toggle("sb-spin", Boolean(frame));
    if (!frame) {
      if (ui.turntable) {
        ui.turntable.destroy();
        ui.turntable = null;
        for (const name of ["tabindex", "role", "aria-label", "aria-valuemin", "aria-valuemax", "aria-valuenow", "aria-valuetext"]) {
          ui.shown.removeAttribute(name);
        }
      }
      return;
    }
    if (!ui.turntable) {
      ui.turntable = new Turntable(ui.shown, {
        frames: frame.frames,
        onTurn: (steps) => {
          ui.turning = true;
          setState({ ...selection.state, view: model.turn(selection.state.view, steps) }, { push: false });
        },
        onSettle: () => {
          ui.turning = false;
          renderPicture();
        },
      });
      ui.shown.tabIndex = 0;
      ui.shown.setAttribute("role", "slider");
      ui.shown.setAttribute("aria-label", "Turn the product: drag it, or use the arrow keys");
      ui.shown.setAttribute("aria-valuemin", "1");
    }
    ui.turntable.frames = frame.frames;
    ui.shown.setAttribute("aria-valuemax", String(frame.frames));
    ui.shown.setAttribute("aria-valuenow", String(frame.frame));
    ui.shown.setAttribute("aria-valuetext", `Frame ${frame.frame} of ${frame.frames}`);
  }

  /** One button per plain view and one per spin (at its first frame, or the frame shown). */
  function renderViews() {
    const current = model.frameOf(selection.state.view);
    for (const button of ui.viewButtons) {
      const view = button.dataset.view;
      const spin = button.dataset.spin;
      button.setAttribute("aria-pressed", String(spin ? Boolean(current) && current.spin === spin : view === selection.state.view));
      const key = `${view}|${model.keyOf(selection.state.kind, selection.state.values)}`;
      if (button.dataset.key === key) continue;
      button.dataset.key = key;
      const name = viewName(spin || view);
      const label = h("span", { class: "sb-view-name", text: name });
      const readyThere = model.isReady(selection.state.kind, selection.state.values, view);
      const picture = readyThere
        ? thumbnail(selection.state.kind, selection.state.values, view, "")
        : h("span", { class: "sb-thumb-missing", text: "Not rendered" });
      button.replaceChildren(h("span", { class: "sb-view-picture" }, picture), label);
      const what = spin ? `${name}: turn the product` : `${name} view`;
      button.setAttribute("aria-label", `${what}${readyThere ? "" : " (not rendered yet)"}`);
    }
  }

  // Filters -------------------------------------------------------------------------------

  function filterOf(entryIndex) {
    if (!filters.has(entryIndex)) filters.set(entryIndex, new Map());
    return filters.get(entryIndex);
  }

  function buildFilters() {
    const entry = model.entries[selection.state.entry];
    const filter = filterOf(selection.state.entry);
    ui.filterParts.replaceChildren();
    ui.filterBoxes = [];
    for (const name of entry.parts) {
      const values = model.filterValues(entry, name);
      if (values.length < 2) continue;
      const fieldset = h("fieldset", { class: "sb-filter" }, h("legend", { text: name }));
      fieldset.dataset.part = name;
      const list = h("div", { class: "sb-filter-list" });
      const groups = model.groupByPattern(values);
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
          return h("label", { class: "sb-filter-item" }, box, swatch(value), h("span", { text: model.finishName(value) }));
        });
        groupBox.addEventListener("change", () => toggleFilter(name, group, groupBox.checked));
        ui.filterBoxes.push({ name, group, box: groupBox });
        list.append(
          h(
            "div",
            { class: "sb-filter-group" },
            h("label", { class: "sb-filter-pattern" }, groupBox, h("span", { text: groups.size > 1 || group.length > 1 ? `All ${model.patternName(pattern)}` : model.patternName(pattern) })),
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
    const filter = filterOf(selection.state.entry);
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
    filters.set(selection.state.entry, new Map());
    galleryPage = 0;
    syncFilterBoxes(filterOf(selection.state.entry));
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
    if (!galleryCache || galleryCache.key !== key) galleryCache = { key, total: model.count(entry, view, filter), pages: new Map() };
    return galleryCache;
  }

  function renderGallery() {
    const entry = model.entries[selection.state.entry];
    const filter = filterOf(selection.state.entry);
    const withKind = showsStyleSwitch(entry);
    const gallery = galleryOf(entry, selection.state.view, filter);
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
      items = model.galleryPageItems(entry, selection.state.view, filter, galleryPage);
      gallery.pages.set(galleryPage, items);
    }
    const currentKey = `${selection.state.kind.id}|${model.keyOf(selection.state.kind, selection.state.values)}`;
    ui.gallery.replaceChildren(
      ...items.map(({ kind, values }) => {
        const text = model.describe(kind, values, withKind);
        const key = model.keyOf(kind, values);
        const selected = `${kind.id}|${key}` === currentKey;
        const button = h(
          "button",
          { type: "button", class: "sb-tile", title: text, "aria-current": selected ? "true" : null },
          thumbnail(kind, values, selection.state.view, text),
        );
        button.dataset.kind = kind.id;
        button.dataset.key = key;
        button.addEventListener("click", () => {
          setState({ entry: selection.state.entry, kind, values, view: selection.state.view });
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
    renderSpin();
    renderViews();
    if (entryChanged) buildFilters();
    renderGallery();
  }


  // -------------------------------------------------------------------------------------
  // Start

  function fail(error) {
    const message = h("p", { class: "sb-error", role: "alert", text: "The sketchbook could not be loaded." });
    root.prepend(message);
    rejectReady(error);
    onError(error, "load");
  }

  /** Show the selection a hash names (an element's `selection` attribute). */
  function applyHash(hash) {
    if (!model || !selection || !selection.state) return;
    const next = selection.fromHash(parseHash(hash || ""));
    if (next) setState(next, { push: false });
  }

  function setControls(list) {
    controls = new Set(list);
    if (ui.panel) applyControls();
  }

  function destroy() {
    for (const off of listeners.splice(0)) off();
    if (ui.turntable) ui.turntable.destroy();
    if (ui.zoom && ui.zoom.open) ui.zoom.close();
    model = null;
  }

  async function start() {
    try {
      const response = await fetch(dataBase, { credentials: "same-origin" });
      if (!response.ok) throw new Error(`${dataUrl}: HTTP ${response.status}`);
      model = new Model(await response.json(), dataBase);
      const renders = new URL(model.rendersBase).origin;
      if (corsOrigin && renders === corsOrigin && renders !== window.location.origin) cors = "anonymous";
      selection = new Selection(model, { location, history, onChange: changed });
      const first = model.entries.find((e) => model.entryDefault(e, model.data.views[0]));
      if (!first) throw new Error("no kind of this product has a colouring");
      build();
      const fromHash = location.hash ? selection.fromHash(parseHash(location.hash)) : null;
      setState(fromHash || model.entryDefault(first, model.data.views[0]), { push: false });
      listen(window, "resize", resized);
      started = true;
      resolveReady(api);
    } catch (error) {
      fail(error);
    }
  }

  start();
  return {
    api,
    destroy,
    applyHash,
    setControls,
    view: () => selection.state.view,
    followLocation: () => selection && selection.followLocation(),
  };
}

/** A hash and a history of their own, for a sketchbook that must not touch the page's URL. */
export function privateHash(initial = "") {
  const location = { hash: initial && !initial.startsWith("#") ? `#${initial}` : initial };
  const write = (_state, _title, hash) => {
    location.hash = hash;
  };
  return { location, history: { pushState: write, replaceState: write } };
}

