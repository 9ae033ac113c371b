// The gallery lightbox: one-click effect presets, each just another delivery URL.
import { transformedUrl, deliveryUrl } from "./common.js";

const dialog = () => document.getElementById("lightbox");

let items = [];
let index = 0;
let effect = "";
let presets = [];

/** `list` = [{label, effect}] from the server (the effects this darkroom can render). */
export function setupLightbox(list) {
  presets = list;
  const bar = document.getElementById("lightbox-presets");
  bar.replaceChildren(...presets.map((preset, i) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = preset.label;
    button.dataset.effect = preset.effect;
    button.title = `${preset.label} (key ${i + 1})`;
    button.setAttribute("aria-pressed", String(preset.effect === effect));
    button.addEventListener("click", () => choose(preset.effect));
    return button;
  }));
  document.getElementById("lightbox-prev").addEventListener("click", () => step(-1));
  document.getElementById("lightbox-next").addEventListener("click", () => step(1));
  document.getElementById("lightbox-close").addEventListener("click", () => dialog().close());
  dialog().addEventListener("keydown", onKey);
  dialog().addEventListener("click", (event) => { if (event.target === dialog()) dialog().close(); });
  const img = document.getElementById("lightbox-image");
  img.addEventListener("load", () => { status(""); img.dataset.loaded = "1"; });
  img.addEventListener("error", () => { img.dataset.loaded = "error"; status("This effect could not be rendered."); });
}

export function openLightbox(list, at) {
  items = list;
  index = at;
  effect = "";
  show();
  if (!dialog().open) dialog().showModal();
}

function onKey(event) {
  if (event.key === "ArrowLeft") step(-1);
  else if (event.key === "ArrowRight") step(1);
  else if (/^[1-9]$/.test(event.key) && presets[Number(event.key) - 1]) choose(presets[Number(event.key) - 1].effect);
  else return;
  event.preventDefault();
}

function step(delta) {
  if (!items.length) return;
  index = (index + delta + items.length) % items.length;
  show();
}

function choose(value) {
  effect = value;
  show();
}

/** The URL for the current item and effect: fit to the screen, effect, then f_auto/q_auto. */
export function effectUrl(resource, effectText) {
  if (resource.signed) return resource.preview_url || deliveryUrl(resource); // signed by the server, effects not offered
  const plain = deliveryUrl(resource);
  const parts = ["c_limit,w_1600,h_1200"];
  if (effectText) parts.push(effectText);
  parts.push("f_auto,q_auto");
  return transformedUrl(plain, parts.join("/"));
}

function show() {
  const resource = items[index];
  if (!resource) return;
  const img = document.getElementById("lightbox-image");
  const url = effectUrl(resource, effect);
  img.dataset.loaded = "";
  status("Loading…");
  img.alt = resource.public_id;
  img.src = url;
  const link = document.getElementById("lightbox-link");
  link.href = url;
  link.textContent = url;
  for (const button of document.querySelectorAll("#lightbox-presets button")) {
    button.setAttribute("aria-pressed", String(button.dataset.effect === effect));
  }
  // Effects are transformations added in the browser, which a signed asset's URL cannot take.
  document.getElementById("lightbox-presets").hidden = Boolean(resource.signed);
}

function status(text) {
  document.getElementById("lightbox-status").textContent = text;
}
