// Shared by the console's pages: the CSRF-carrying fetch, and delivery-URL helpers.

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content ?? "";

export const csrfToken = () => meta("csrf-token");
export const cloudName = () => meta("darkroom-cloud");

/** JSON request to the console API; writes carry the session's CSRF token. */
export async function api(path, { method = "GET", body } = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  if (method !== "GET") init.headers["X-CSRF-Token"] = csrfToken();
  const response = await fetch(path, init);
  if (response.status === 401) {
    window.location.href = "/console/login?next=" + encodeURIComponent(location.pathname + location.search);
    throw new Error("Signed out");
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data?.error?.message || data.message || `Request failed (${response.status})`);
  return data;
}

/**
 * The delivery URL with a transformation put right after `/upload/` — the same URL an app
 * would build with the SDK. `url` is an asset's plain delivery URL.
 */
export function transformedUrl(url, transformation) {
  if (!transformation) return url;
  const marker = /\/(image|video)\/upload\//;
  const match = marker.exec(url);
  if (!match) return url;
  const at = match.index + match[0].length;
  return url.slice(0, at) + transformation + "/" + url.slice(at);
}

/** A thumbnail through darkroom's own transformations; the plain URL if rendering fails. */
export function thumbnail(resource, size = 320) {
  const img = document.createElement("img");
  img.loading = "lazy";
  img.alt = resource.public_id;
  img.decoding = "async";
  const plain = deliveryUrl(resource);
  // A signed asset's thumbnail comes signed from the server: a transformation added here would break the signature.
  img.src = resource.signed && resource.thumbnail_url ? resource.thumbnail_url : transformedUrl(plain, `c_fill,g_auto,w_${size},h_${size}/f_auto,q_auto`);
  img.addEventListener("error", () => {
    if (img.dataset.fellBack) return;
    img.dataset.fellBack = "1";
    img.src = plain;
  });
  return img;
}

/** The asset's plain delivery URL in this page's scheme (an http server has no https URL). */
export function deliveryUrl(resource) {
  if (resource.delivery_url) return resource.delivery_url;
  return (location.protocol === "https:" ? resource.secure_url : resource.url) || resource.secure_url || resource.url;
}

export function isImage(resource) {
  return resource.resource_type === "image";
}

export function humanBytes(n) {
  if (n >= 1048576) return (n / 1048576).toFixed(1) + " MB";
  if (n >= 1024) return Math.round(n / 1024) + " KB";
  return `${n} B`;
}
