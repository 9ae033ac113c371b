// The seed's demo: signed widget uploads, a gallery listed by search, lightbox effects.
import { cloudName, csrfToken, thumbnail } from "./common.js";
import { setupLightbox, openLightbox } from "./lightbox.js";

const root = document.getElementById("demo");
let resources = [];

async function loadGallery() {
  const response = await fetch(`/examples/secure-upload/gallery?folder=${encodeURIComponent(root.dataset.folder)}`,
    { credentials: "same-origin" });
  const body = await response.json();
  resources = body.resources || [];
  const gallery = document.getElementById("gallery");
  gallery.replaceChildren(...resources.map((resource, i) => {
    const img = thumbnail(resource, 400);
    img.dataset.publicId = resource.public_id;
    img.addEventListener("click", () => openLightbox(resources, i));
    return img;
  }));
}

function status(text) {
  document.getElementById("demo-status").textContent = text;
}

function init() {
  setupLightbox(JSON.parse(document.getElementById("effects").textContent));
  const widget = window.darkroom.createUploadWidget({
    cloudName: cloudName(),
    apiKey: root.dataset.apiKey || undefined,
    uploadPreset: root.dataset.preset || undefined,
    signatureEndpoint: root.dataset.endpoint,
    // darkroom's own signers rely on the console session and want its CSRF token; any other
    // endpoint (an app's own route) gets exactly the seed's request.
    signatureHeaders: root.dataset.sendCsrf ? { "X-CSRF-Token": csrfToken() } : {},
    folder: root.dataset.folder,
    sources: ["local", "url", "camera"],
    multiple: true,
    maxFileSize: 10_000_000,
    clientAllowedFormats: ["jpg", "png", "webp", "avif", "gif"],
  }, (error, result) => {
    if (error) { status(`Upload failed: ${error.statusText}`); return; }
    if (result.event === "success") {
      status(`Uploaded ${result.info.public_id} (${result.info.width}×${result.info.height})`);
      loadGallery();
    }
  });
  document.getElementById("open-widget").addEventListener("click", () => widget.open());
  loadGallery();
}

if (root) init();
