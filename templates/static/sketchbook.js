// The product page's sketchbook: the component (book.js) mounted on `#sketchbook`, with
// the page's own URL hash and history, as `window.sketchbook` (docs/site.md).

import { mountSketchbook } from "./book.js";

const root = document.getElementById("sketchbook");
if (root) {
  const book = mountSketchbook(root, {
    dataUrl: root.dataset.src || "data.json",
    location: window.location,
    history: window.history,
    onError: (error, what) => {
      if (what !== "load") return; // a picture that failed: the page shows its placeholder
      document.body.dataset.sketchbook = "error";
      console.error(error);
    },
  });
  window.sketchbook = book.api;
  book.api.ready.then(() => {
    document.body.dataset.sketchbook = "ready";
    const follow = () => book.followLocation();
    window.addEventListener("hashchange", follow);
    window.addEventListener("popstate", follow);
  }, () => {});
}
