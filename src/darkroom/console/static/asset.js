// The asset page: copy buttons and a transformation builder whose preview is the real URL.
import { transformedUrl } from "./common.js";

const root = document.getElementById("asset");

function copy(id) {
  const input = document.getElementById(id);
  input.select();
  navigator.clipboard?.writeText(input.value).catch(() => document.execCommand("copy"));
}

/** Builder fields to URL text: size and crop in one component, then effect, then format/quality. */
function buildTransformation(form) {
  const value = (name) => form.elements[name].value.trim();
  const first = [];
  if (value("c")) first.push(`c_${value("c")}`);
  if (value("g") && value("c")) first.push(`g_${value("g")}`);
  if (value("h")) first.push(`h_${value("h")}`);
  if (value("w")) first.push(`w_${value("w")}`);
  const parts = [];
  if (first.length) parts.push(first.join(","));
  if (value("e")) parts.push(value("e"));
  const last = [];
  if (value("f")) last.push(`f_${value("f")}`);
  if (value("q")) last.push(`q_${value("q")}`);
  if (last.length) parts.push(last.join(","));
  return parts.join("/");
}

function init() {
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", () => copy(button.dataset.copy));
  }
  const form = document.getElementById("builder");
  if (!form) return;
  const preview = document.getElementById("built-preview");
  const status = document.getElementById("builder-status");
  preview.addEventListener("load", () => { status.textContent = `${preview.naturalWidth} × ${preview.naturalHeight}`; });
  preview.addEventListener("error", () => { status.textContent = "darkroom could not render this transformation."; });
  const update = () => {
    const url = transformedUrl(root.dataset.url, buildTransformation(form));
    document.getElementById("built-url").value = url;
    status.textContent = "Loading…";
    preview.src = url;
  };
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  form.addEventListener("submit", (event) => event.preventDefault());
}

if (root) init();
