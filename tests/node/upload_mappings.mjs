// The Upload Mappings API through the official Node SDK, which sends these calls form-encoded
// (DELETE with `folder=` in the body). Configured only by CLOUDINARY_URL; prints one JSON
// object {call: result or {error}} for tests/admin/test_upload_mappings.py.
//
// usage: node upload_mappings.mjs FOLDER TEMPLATE NEW_TEMPLATE

import cloudinary from "cloudinary";
import { attempt } from "./attempt.mjs";

const { api } = cloudinary.v2;

async function main() {
  const [folder, template, newTemplate] = process.argv.slice(2);
  const calls = {};
  await attempt(calls, "create_upload_mapping", () => api.create_upload_mapping(folder, { template }));
  await attempt(calls, "update_upload_mapping", () => api.update_upload_mapping(folder, { template: newTemplate }));
  await attempt(calls, "upload_mapping", () => api.upload_mapping(folder));
  await attempt(calls, "upload_mappings", () => api.upload_mappings({ max_results: 10 }));
  await attempt(calls, "delete_upload_mapping", () => api.delete_upload_mapping(folder));
  await attempt(calls, "after_delete", () => api.upload_mapping(folder));
  process.stdout.write(JSON.stringify(calls));
}

main().catch((failure) => {
  process.stderr.write(`${failure?.stack ?? JSON.stringify(failure)}\n`);
  process.exit(1);
});
