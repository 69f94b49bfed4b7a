// <sitegen-sketchbook>: the sketchbook in any page, from the site's `embed.js` (docs/embed.md).
//
//   <script type="module" src="https://cdn.example.com/sketchbook/embed.js"></script>
//   <sitegen-sketchbook product="maru-bench" selection="kind=with-table&Frame=1127"></sitegen-sketchbook>
//
// Each element mounts its own sketchbook (book.js) in a shadow root, with the site's
// styles and a hash of its own (the host page's URL is never touched). Page data, swatches
// and pictures come from the site this module was loaded from. The element has
// window.sketchbook's methods and fires `sketchbook-ready`, `sketchbook-change` and
// `sketchbook-error` (bubbling, composed).

import { CONTROLS, mountSketchbook, privateHash } from "./book.js";

const SITE = new URL("../", import.meta.url); // this module is <site>/static/element-<hash>.js
const STYLES = [new URL("./style.css", import.meta.url), new URL("./embed.css", import.meta.url)];
const DEFAULT_CONTROLS = ["parts", "views", "zoom"];
const NOT_LOADED = "sitegen-sketchbook: no product loaded yet (await element.ready)";

function controlsOf(value) {
  if (value === null) return DEFAULT_CONTROLS;
  return value.split(/\s+/).filter((c) => CONTROLS.includes(c));
}

export class SitegenSketchbook extends HTMLElement {
  static observedAttributes = ["product", "selection", "view", "controls"];

  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this._book = null;
    this._ready = null;
  }

  connectedCallback() {
    if (!this._book) this._mount();
  }

  disconnectedCallback() {
    this._unmount();
  }

  attributeChangedCallback(name, before, value) {
    if (!this._book || before === value) return;
    if (name === "product") this._mount();
    else if (name === "controls") this._book.setControls(controlsOf(value));
    else this._book.api.ready.then(() => this._book && this._book.applyHash(this._hash()), () => {});
  }

  // window.sketchbook's API (docs/site.md), for this element's product -------------------

  /** A promise of the element, once its page data has loaded (rejected if it cannot). */
  get ready() {
    return this._ready || Promise.reject(new Error(NOT_LOADED));
  }

  select(parts, options) {
    return this._api().select(parts, options);
  }

  selection() {
    return this._api().selection();
  }

  imageUrl() {
    return this._api().imageUrl();
  }

  imageUrls() {
    return this._api().imageUrls();
  }

  count(filter) {
    return this._api().count(filter);
  }

  isReady() {
    return this._api().isReady();
  }

  // --------------------------------------------------------------------------------------

  _api() {
    if (!this._book) throw new Error(NOT_LOADED);
    return this._book.api;
  }

  /** The element's selection as a hash: its `selection`, then its `view`. */
  _hash() {
    const bits = [(this.getAttribute("selection") || "").replace(/^#/, "")];
    const view = this.getAttribute("view");
    if (view) bits.push(`view=${encodeURIComponent(view)}`);
    return bits.filter(Boolean).join("&");
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { bubbles: true, composed: true, detail }));
  }

  _unmount() {
    if (this._book) this._book.destroy();
    this._book = null;
    this._ready = null;
  }

  _mount() {
    this._unmount();
    const product = this.getAttribute("product");
    const root = document.createElement("div");
    root.className = "sketchbook sb-embed";
    root.setAttribute("part", "sketchbook");
    const links = STYLES.map((url) => {
      const link = document.createElement("link");
      link.rel = "stylesheet";
      link.href = url.href;
      return link;
    });
    // Nothing shows before the styles are in (no flash of an unstyled sketchbook).
    root.style.visibility = "hidden";
    let pending = links.length;
    const styled = () => {
      if (--pending === 0) root.style.visibility = "";
    };
    for (const link of links) {
      link.addEventListener("load", styled, { once: true });
      link.addEventListener("error", styled, { once: true });
    }
    this.shadowRoot.replaceChildren(...links, root);
    if (!product) {
      const error = new Error("sitegen-sketchbook: the product attribute is required");
      this._ready = Promise.reject(error);
      this._ready.catch(() => {});
      this._emit("sketchbook-error", { product: null, message: error.message });
      return;
    }
    const { location, history } = privateHash(this._hash());
    const book = mountSketchbook(root, {
      dataUrl: new URL(`products/${encodeURIComponent(product)}/data.json`, SITE).href,
      location,
      history,
      permalink: false,
      controls: controlsOf(this.getAttribute("controls")),
      corsOrigin: SITE.origin,
      onChange: () => {
        if (this._book === book) this._emit("sketchbook-change", state());
      },
      onError: (error, what) => {
        if (this._book === book) this._emit("sketchbook-error", { product, message: error.message, what });
      },
    });
    // What the events tell: the selection, its view and picture (docs/embed.md).
    const state = () => {
      const { kind, parts } = book.api.selection();
      return { product, kind, parts, view: book.view(), imageUrls: book.api.imageUrls(), ready: book.api.isReady() };
    };
    this._book = book;
    this._ready = book.api.ready.then(() => this);
    this._ready.catch(() => {});
    book.api.ready.then(() => {
      if (this._book === book) this._emit("sketchbook-ready", state());
    }, () => {});
  }
}

if (!customElements.get("sitegen-sketchbook")) customElements.define("sitegen-sketchbook", SitegenSketchbook);
