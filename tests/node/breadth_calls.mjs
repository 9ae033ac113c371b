// The Admin API's breadth calls through the official Node SDK (form-encoded bodies, `key[]`
// and repeated-key lists): access mode, publish, related assets, kept versions, visual search.
//
// Configured only by CLOUDINARY_URL. Prints one JSON object {call: result or {error}} for
// tests/breadth/test_node_breadth.py.
//
// usage: node breadth_calls.mjs FILE IMAGE_URL

import cloudinary from "cloudinary";
import { attempt } from "./attempt.mjs";

const { api, uploader } = cloudinary.v2;

async function main() {
  const [file, imageUrl] = process.argv.slice(2);
  const calls = {};
  const one = await uploader.upload(file, { public_id: "nb/one", tags: ["nb"], backup: true, visual_search: true });
  const two = await uploader.upload(file, { public_id: "nb/two", overwrite: true });
  await uploader.upload(file, { public_id: "nb/one", overwrite: true, tags: ["nb"], visual_search: true });
  for (const id of ["nb/p1", "nb/p2", "nb/p3"]) {
    await uploader.upload(file, { public_id: id, type: "private", tags: id === "nb/p3" ? ["pub"] : [] });
  }
  await attempt(calls, "update_resources_access_mode_by_ids", () => api.update_resources_access_mode_by_ids("authenticated", ["nb/one", "nb/two"]));
  await attempt(calls, "update_resources_access_mode_by_prefix", () => api.update_resources_access_mode_by_prefix("public", "nb/t"));
  await attempt(calls, "update_resources_access_mode_by_tag", () => api.update_resources_access_mode_by_tag("public", "nb"));
  await attempt(calls, "publish_by_ids", () => api.publish_by_ids(["nb/p1"], { type: "private" }));
  await attempt(calls, "publish_by_prefix", () => api.publish_by_prefix("nb/p2", { type: "private" }));
  await attempt(calls, "publish_by_tag", () => api.publish_by_tag("pub", { type: "private" }));
  await attempt(calls, "add_related_assets", () => api.add_related_assets("nb/one", ["image/upload/nb/two"]));
  await attempt(calls, "delete_related_assets", () => api.delete_related_assets("nb/one", ["image/upload/nb/two"]));
  await attempt(calls, "add_related_assets_by_asset_id", () => api.add_related_assets_by_asset_id(one.asset_id, [two.asset_id]));
  await attempt(calls, "related", async () => (await api.resource("nb/one", { related: true })).related_assets.map((r) => r.public_id));
  await attempt(calls, "delete_related_assets_by_asset_id", () => api.delete_related_assets_by_asset_id(one.asset_id, [two.asset_id]));
  await attempt(calls, "delete_backed_up_assets", () => api.delete_backed_up_assets(one.asset_id, [one.version_id]));
  await attempt(calls, "visual_search", async () => (await api.visual_search({ image_url: imageUrl })).resources.map((r) => r.public_id));
  console.log(JSON.stringify(calls));
}

main().catch((failure) => {
  console.error(failure);
  process.exit(1);
});
