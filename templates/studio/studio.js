// The studio's page script: injected by `sitegen serve` only, never part of a build.
//
// It listens to the studio's events (/_studio/events, Server-Sent Events) and:
// - reloads the page when a rebuild changed its files (the URL hash keeps the selection);
// - shows the catalog's errors over the last good page while it is invalid;
// - on a product page, tells the studio which colouring is on screen (/_studio/look) and
//   shows the render's progress over the picture until the new one is in, then reloads.
// docs/studio.md has the endpoints and the events.

const generation = Number(new URL(import.meta.url).searchParams.get("generation") || 0);
const viewer = crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2);
const LOOK_EVERY_MS = 100; // how often the selection (the URL hash) is read
const root = document.getElementById("sketchbook");

let overlay = null; // the errors' box
let badge = null; // the render's state, over the picture
let waiting = new Set(); // addresses the colouring on screen waits for
let progress = new Map(); // address -> fraction sampled
let done = 0; // pictures of the colouring on screen stored since its look
// address -> the last `rendered` or `failed` event for it, with when it came: a render
// quicker than the look's answer is over before the page knows it waits for it.
const outcomes = new Map();
let lastLook = "";
let reloading = false;

function reload() {
  if (reloading) return;
  reloading = true;
  location.reload();
}

// -- what changed in a build -------------------------------------------------------------

/** This page's files in a build: its HTML, its data, and what every page shares. */
function concerns(changed) {
  let page = decodeURIComponent(location.pathname).replace(/^\//, "");
  if (page === "" || page.endsWith("/")) page += "index.html";
  const folder = page.slice(0, page.lastIndexOf("/") + 1);
  return changed.some(
    (path) => path === page || path === `${folder}data.json` || path.startsWith("static/"),
  );
}

// -- the errors' overlay -----------------------------------------------------------------

function showErrors(errors) {
  if (!errors.length) {
    if (overlay) overlay.remove();
    overlay = null;
    return;
  }
  if (!overlay) {
    overlay = document.createElement("section");
    overlay.className = "sitegen-studio-errors";
    overlay.setAttribute("role", "alert");
    const title = document.createElement("h2");
    title.textContent = "The catalog has errors";
    const note = document.createElement("p");
    note.textContent = "The page shows the last good catalog; it updates once the files are fixed.";
    const list = document.createElement("pre");
    overlay.append(title, note, list);
    document.body.append(overlay);
  }
  overlay.querySelector("pre").textContent = errors.join("\n");
}

// -- the render's state over the picture --------------------------------------------------

function say(text, state) {
  const figure = document.querySelector(".sb-picture");
  if (!figure) return;
  if (!text) {
    if (badge) badge.remove();
    badge = null;
    return;
  }
  if (!badge || !badge.isConnected) {
    badge = document.createElement("p");
    badge.className = "sitegen-studio-render";
    badge.setAttribute("role", "status");
    figure.append(badge);
  }
  badge.dataset.state = state;
  badge.textContent = text;
}

function sayProgress() {
  if (!waiting.size) return;
  const total = waiting.size + done;
  let sampled = done;
  for (const address of waiting) sampled += progress.get(address) || 0;
  const percent = Math.floor((100 * sampled) / total);
  const what = total > 1 ? `${total} pictures` : "the picture";
  say(`Rendering ${what}: ${percent} %`, "rendering");
}

// -- looks -------------------------------------------------------------------------------

function currentLook() {
  const selection = window.sketchbook.selection();
  const view = new URLSearchParams(location.hash.slice(1)).get("view");
  return { ...selection, view };
}

async function look() {
  let state;
  try {
    state = currentLook();
  } catch {
    return; // the sketchbook is not ready yet
  }
  const key = JSON.stringify(state);
  if (key === lastLook) return;
  lastLook = key;
  waiting = new Set();
  progress = new Map();
  done = 0;
  let answer;
  const sent = performance.now();
  try {
    const response = await fetch("/_studio/look", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ viewer, ...state }),
    });
    answer = await response.json();
  } catch {
    return; // the studio stopped: nothing to show
  }
  if (key !== lastLook) return; // a newer look went out meanwhile
  if (answer.state === "ready") {
    say("");
    if (answer.generation > generation && !window.sketchbook.isReady()) reload();
  } else if (answer.state === "queued") {
    waiting = new Set(answer.addresses);
    say("Queued for rendering", "queued");
    for (const address of answer.addresses) {
      const outcome = outcomes.get(address);
      if (outcome && outcome.at >= sent) handle(outcome.event); // came before the answer
    }
  } else if (answer.state === "off") {
    say(`Not rendered: ${answer.message}`, "off");
  } else if (answer.state === "error") {
    say(`Cannot render: ${answer.message}`, "failed");
  }
}

async function watchSelection() {
  try {
    await window.sketchbook.ready;
  } catch {
    return;
  }
  look();
  setInterval(look, LOOK_EVERY_MS);
}

// -- events ------------------------------------------------------------------------------

function handle(event) {
  if (event.event === "rendered" || event.event === "failed") {
    outcomes.set(event.address, { event, at: performance.now() });
  }
  switch (event.event) {
    case "hello":
      showErrors(event.errors);
      if (event.generation > generation && !event.errors.length) reload();
      break;
    case "errors":
      showErrors(event.errors);
      break;
    case "build":
      if (event.reason === "edit" && concerns(event.changed)) reload();
      break;
    case "queued":
      if (waiting.has(event.address) && !progress.size) say("Queued for rendering", "queued");
      break;
    case "rendering":
    case "progress":
      if (waiting.has(event.address)) {
        progress.set(event.address, event.fraction || 0);
        sayProgress();
      }
      break;
    case "rendered":
      if (waiting.delete(event.address)) {
        done++;
        if (!waiting.size) reload();
        else sayProgress();
      }
      break;
    case "failed":
      if (waiting.has(event.address)) say(`Render failed: ${event.error}`, "failed");
      break;
    case "locked":
      if (waiting.size) say(`Waiting: ${event.message}`, "locked");
      break;
    default:
      break;
  }
}

const events = new EventSource(`/_studio/events?viewer=${encodeURIComponent(viewer)}`);
events.addEventListener("message", (message) => handle(JSON.parse(message.data)));

if (root && window.sketchbook) watchSelection();
