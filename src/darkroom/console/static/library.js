// The media library: folders, search, sort, paging, selection, upload and the lightbox.
import { api, csrfToken, cloudName, thumbnail, isImage } from "./common.js";
import { setupLightbox, openLightbox } from "./lightbox.js";

const $ = (id) => document.getElementById(id);
const root = $("library");

const state = {
  folder: "",          // current folder ("" = everything)
  expression: "",      // the search box, in the Search API's expression language
  sort: "created_at:desc",
  cursor: null,        // next page's cursor, null when there are no more
  loading: false,
  generation: 0,       // bumped by reload(): a page fetched for an earlier view is dropped
  items: [],           // resources shown, in order
  selected: new Set(), // keys "resource_type/type/public_id"
};

const keyOf = (r) => `${r.resource_type}/${r.type}/${r.public_id}`;

function showError(message) {
  const box = $("library-error");
  box.textContent = message;
  box.hidden = !message;
}

// ---- listing ---------------------------------------------------------------------------

async function reload() {
  state.generation += 1;
  state.loading = false; // a page still in flight belongs to the old view
  state.items = [];
  state.cursor = null;
  state.selected.clear();
  $("grid").replaceChildren();
  updateSelection();
  await loadPage();
}

async function loadPage() {
  if (state.loading) return;
  state.loading = true;
  const generation = state.generation;
  const params = new URLSearchParams({ sort: state.sort, max_results: "30" });
  if (state.folder) params.set("folder", state.folder);
  if (state.expression) params.set("expression", state.expression);
  if (state.cursor) params.set("next_cursor", state.cursor);
  try {
    const page = await api(`/console/api/resources?${params}`);
    if (generation !== state.generation) return;
    showError("");
    state.cursor = page.next_cursor || null;
    for (const resource of page.resources) addTile(resource);
    $("empty").hidden = state.items.length > 0;
    $("more").hidden = !state.cursor;
  } catch (error) {
    showError(error.message);
  } finally {
    if (generation === state.generation) state.loading = false;
  }
}

function addTile(resource, { prepend = false } = {}) {
  const at = prepend ? 0 : state.items.length;
  state.items.splice(at, 0, resource);
  const tile = document.createElement("figure");
  tile.className = "tile";
  tile.style.margin = "0";
  tile.dataset.key = keyOf(resource);
  tile.dataset.publicId = resource.public_id;
  const check = document.createElement("input");
  check.type = "checkbox";
  check.setAttribute("aria-label", `Select ${resource.public_id}`);
  check.addEventListener("change", () => toggle(resource, tile, check.checked));
  let media;
  if (isImage(resource)) {
    media = thumbnail(resource);
    const open = () => openLightbox(state.items.filter(isImage), state.items.filter(isImage).indexOf(resource));
    media.tabIndex = 0;  // reachable from the keyboard; Enter or Space opens the lightbox
    media.setAttribute("role", "button");
    media.addEventListener("click", open);
    media.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(); } });
  } else if (resource.resource_type === "video") {
    media = videoThumbnail(resource, pageOf(resource));
  } else {
    media = placeholder(resource);
  }
  const meta = document.createElement("figcaption");
  meta.className = "meta";
  const link = document.createElement("a");
  link.href = pageOf(resource);
  link.textContent = resource.public_id;
  link.title = resource.public_id;
  meta.append(link);
  tile.append(check, media, meta);
  const grid = $("grid");
  if (prepend) grid.prepend(tile); else grid.append(tile);
  $("empty").hidden = true;
}

const pageOf = (resource) =>
  `/console/assets/${resource.resource_type}/${resource.type}/${resource.public_id.split("/").map(encodeURIComponent).join("/")}`;

function placeholder(resource) {
  const box = document.createElement("div");
  box.className = "noimg";
  const seconds = Number(resource.duration);
  const length = seconds > 0 ? ` · ${Math.floor(seconds / 60)}:${String(Math.round(seconds % 60)).padStart(2, "0")}` : "";
  box.textContent = `${resource.resource_type} · ${resource.format || "file"}${length}`;
  return box;
}

/** A video's tile: its middle frame (`thumbnail_url`), or a placeholder where no frame renders; opens the player. */
function videoThumbnail(resource, href) {
  const link = document.createElement("a");
  link.className = "video-thumb";
  link.href = href;
  link.setAttribute("aria-label", `Play ${resource.public_id}`);
  const img = document.createElement("img");
  img.loading = "lazy";
  img.decoding = "async";
  img.alt = resource.public_id;
  img.src = resource.thumbnail_url;
  img.addEventListener("error", () => { img.replaceWith(placeholder(resource)); link.dataset.placeholder = "1"; });
  const badge = document.createElement("span");
  badge.className = "play-badge";
  badge.textContent = "▶";
  link.append(img, badge);
  return link;
}

// ---- folders ---------------------------------------------------------------------------

async function loadFolders(path, list) {
  try {
    const data = await api(`/console/api/folders?path=${encodeURIComponent(path)}`);
    for (const folder of data.folders) list.append(folderItem(folder));
  } catch (error) {
    showError(error.message);
  }
}

function folderItem(folder) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.dataset.folder = folder.path;
  button.textContent = folder.name;
  const children = document.createElement("ul");
  let expanded = false;
  button.addEventListener("click", async () => {
    selectFolder(folder.path);
    if (!expanded) { expanded = true; await loadFolders(folder.path, children); }
  });
  item.append(button, children);
  return item;
}

function selectFolder(path) {
  state.folder = path;
  for (const button of document.querySelectorAll("#folder-tree button")) {
    button.setAttribute("aria-current", String(button.dataset.folder === path));
  }
  $("upload-folder").textContent = path || "/";
  buildUploader();
  reload();
}

// ---- selection: delete, tag, move ------------------------------------------------------

function toggle(resource, tile, on) {
  const key = keyOf(resource);
  if (on) state.selected.add(key); else state.selected.delete(key);
  tile.classList.toggle("selected", on);
  updateSelection();
}

function updateSelection() {
  $("selection").classList.toggle("active", state.selected.size > 0);
  $("selection-count").textContent = `${state.selected.size} selected`;
}

function selectedAssets() {
  return state.items.filter((r) => state.selected.has(keyOf(r)))
    .map((r) => ({ resource_type: r.resource_type, type: r.type, public_id: r.public_id }));
}

async function act(path, body, confirmText) {
  if (confirmText && !window.confirm(confirmText)) return;
  try {
    await api(path, { method: "POST", body });
    await reload();
    showError("");
  } catch (error) {
    showError(error.message);
  }
}

// ---- upload ----------------------------------------------------------------------------

let widget = null;

/** The server's own upload limit, or the preset's when smaller: checked here, enforced there. */
function sizeLimit(option) {
  const limits = [Number(option?.dataset.max), Number(root.dataset.maxBytes)].filter((n) => n > 0);
  return limits.length ? Math.min(...limits) : undefined;
}

function buildUploader() {
  if (!window.darkroom) return;
  if (widget) widget.destroy();
  const option = $("upload-preset").selectedOptions[0];
  const formats = (option?.dataset.formats || "").split(",").filter(Boolean);
  widget = window.darkroom.createUploadWidget({
    cloudName: cloudName(),
    uploadPreset: option?.value || undefined,
    folder: state.folder || undefined,
    signatureEndpoint: "/console/api/sign",
    signatureHeaders: { "X-CSRF-Token": csrfToken() },
    sources: ["local", "url", "camera"],
    multiple: true,
    clientAllowedFormats: formats.length ? formats : undefined,
    maxFileSize: sizeLimit(option),
    inlineContainer: "#upload-widget",
    resourceType: "auto",
  }, (error, result) => {
    if (!error && result.event === "success") addTile(result.info, { prepend: true });
  });
  widget.open();
}

// ---- wiring ----------------------------------------------------------------------------

function init() {
  setupLightbox(JSON.parse(document.getElementById("effects").textContent));
  const search = () => {
    const expression = $("search").value.trim();
    if (expression !== state.expression) { state.expression = expression; reload(); }
  };
  $("search").addEventListener("keydown", (e) => { if (e.key === "Enter") search(); });
  $("search").addEventListener("search", search);  // the field's own clear button
  $("sort").addEventListener("change", (e) => { state.sort = e.target.value; reload(); });
  $("more").addEventListener("click", loadPage);
  new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting) && state.cursor) loadPage();
  }).observe($("more"));
  $("toggle-upload").addEventListener("click", () => {
    const panel = $("uploader");
    panel.hidden = !panel.hidden;
    $("toggle-upload").setAttribute("aria-expanded", String(!panel.hidden));
  });
  $("upload-preset").addEventListener("change", buildUploader);
  $("select-none").addEventListener("click", () => {
    state.selected.clear();
    document.querySelectorAll(".tile").forEach((t) => { t.classList.remove("selected"); t.querySelector("input").checked = false; });
    updateSelection();
  });
  $("delete").addEventListener("click", () => act("/console/api/delete", { assets: selectedAssets() },
    `Delete ${state.selected.size} asset(s)? This cannot be undone.`));
  $("tag-add").addEventListener("click", () => act("/console/api/tags", { assets: selectedAssets(), tag: $("tag-name").value, command: "add" }));
  $("tag-remove").addEventListener("click", () => act("/console/api/tags", { assets: selectedAssets(), tag: $("tag-name").value, command: "remove" }));
  $("move").addEventListener("click", () => act("/console/api/move", { assets: selectedAssets(), folder: $("move-folder").value }));
  document.querySelector('#folder-tree button[data-folder=""]').addEventListener("click", () => selectFolder(""));
  loadFolders("", $("folder-tree"));
  buildUploader();
  reload();
}

if (root) init();
