// The shop's own script: it listens to the sketchbooks' events and drives one of them
// with its own buttons (docs/embed.md). Nothing here is part of sitegen.

const summaries = new Map([...document.querySelectorAll(".summary")].map((p) => [p.dataset.for, p]));
const baskets = new Map([...document.querySelectorAll(".add")].map((b) => [b.dataset.for, b]));

function describe(detail) {
  const parts = Object.entries(detail.parts).map(([part, finish]) => `${part} ${finish || "none"}`);
  return `${parts.join(", ")}${detail.ready ? "" : " (picture on its way)"}`;
}

function show(event) {
  const { product } = event.detail;
  if (summaries.has(product)) summaries.get(product).textContent = describe(event.detail);
  if (baskets.has(product)) baskets.get(product).disabled = false;
}

document.addEventListener("sketchbook-ready", show);
document.addEventListener("sketchbook-change", show);
document.addEventListener("sketchbook-error", (event) => {
  const p = summaries.get(event.detail.product);
  if (p) p.textContent = "The pictures cannot be shown just now.";
});

for (const button of document.querySelectorAll(".pick")) {
  button.addEventListener("click", () => {
    const book = document.querySelector(`sitegen-sketchbook[product="${button.dataset.for}"]`);
    book.ready.then(() => book.select({ [button.dataset.part]: Number(button.dataset.value) }));
  });
}

for (const button of document.querySelectorAll(".add")) {
  button.addEventListener("click", () => {
    const book = document.querySelector(`sitegen-sketchbook[product="${button.dataset.for}"]`);
    const { product, kind, parts } = book.selection();
    button.textContent = `Added: ${product} (${kind}) ${JSON.stringify(parts)}`;
  });
}
