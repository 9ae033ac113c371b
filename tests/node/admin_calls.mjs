// Admin API calls through the official Node SDK, which sends most of them form-encoded
// (`public_ids[]=a&public_ids[]=b`, repeated `fields=`, empty `k=` for what it leaves out).
//
// Configured only by CLOUDINARY_URL. Uploads two images under PREFIX, then makes each call in
// turn; prints one JSON object {call: result or {error}} for tests/test_node_sdk.py.
//
// usage: node admin_calls.mjs FILE PREFIX

import cloudinary from "cloudinary";
import { attempt } from "./attempt.mjs";

const { api, uploader } = cloudinary.v2;

async function main() {
  const [file, prefix] = process.argv.slice(2);
  const one = `${prefix}/one`;
  const two = `${prefix}/two`;
  const preset = prefix.replaceAll("/", "_");
  await uploader.upload(file, { public_id: one });
  await uploader.upload(file, { public_id: two, eager: [{ width: 10, crop: "scale" }] });
  const calls = {};
  await attempt(calls, "update", () => api.update(one, { tags: ["n1", "n2"], context: { alt: "a b" }, moderation_status: "approved" }));
  await attempt(calls, "resources_by_ids", () => api.resources_by_ids([one, two], { fields: ["tags", "secure_url"] }));
  await attempt(calls, "resources", () => api.resources({ type: "upload", prefix, max_results: 10 }));
  await attempt(calls, "create_upload_preset", () => api.create_upload_preset({ name: preset, unsigned: true, folder: prefix, tags: "p1,p2" }));
  await attempt(calls, "update_upload_preset", () => api.update_upload_preset(preset, { tags: "p3", disallow_public_id: true }));
  await attempt(calls, "upload_preset", () => api.upload_preset(preset));
  await attempt(calls, "create_transformation", () => api.create_transformation(`${preset}_t`, { width: 100, crop: "scale" }));
  await attempt(calls, "update_transformation", () => api.update_transformation(`${preset}_t`, { allowed_for_strict: true }));
  await attempt(calls, "transformation", () => api.transformation(`${preset}_t`));
  await attempt(calls, "delete_derived_by_transformation", () => api.delete_derived_by_transformation([two], ["c_scale,w_10"]));
  await attempt(calls, "create_folder", () => api.create_folder(`${prefix}/made/here`));
  await attempt(calls, "delete_resources", () => api.delete_resources([one, two], { invalidate: true }));
  await attempt(calls, "delete_upload_preset", () => api.delete_upload_preset(preset));
  await attempt(calls, "delete_transformation", () => api.delete_transformation(`${preset}_t`));
  process.stdout.write(JSON.stringify(calls));
}

main().catch((failure) => {
  process.stderr.write(`${failure?.stack ?? JSON.stringify(failure)}\n`);
  process.exit(1);
});
