// Every Upload and Admin function of the official Node SDK, called live against darkroom.
//
// Configured only by CLOUDINARY_URL. One family per run (uploads, resources, settings,
// search); each call's result (or {error, http_code}) is printed as one JSON object keyed by
// the function's name, for tests/test_node_sdk.py to judge. Calls that Cloudinary refuses
// for the arguments given are made on purpose: their error must be Cloudinary's.
//
// usage: node every_call.mjs FAMILY FILE PREFIX

import fs from "node:fs";
import cloudinary from "cloudinary";
import { attempt } from "./attempt.mjs";

const { api, uploader } = cloudinary.v2;

// Chunked uploads return their stream at once; the result comes through the callback.
function chunked(start) {
  return new Promise((resolve, reject) => start((error, result) => (error ? reject({ error }) : resolve(result))));
}

// A stream upload resolves through its callback; the writable end takes the file.
function streamed(start, file) {
  return new Promise((resolve, reject) => {
    const stream = start((error, result) => (error ? reject({ error }) : resolve(result)));
    fs.createReadStream(file).pipe(stream);
  });
}

async function uploads(file, prefix) {
  const calls = {};
  const preset = `${prefix.replaceAll("/", "_")}_unsigned`;
  await api.create_upload_preset({ name: preset, unsigned: true, folder: `${prefix}/unsigned` });
  await attempt(calls, "upload", () => uploader.upload(file, { public_id: `${prefix}/a`, tags: ["t1"], context: "alt=first" }));
  await attempt(calls, "unsigned_upload", () => uploader.unsigned_upload(file, preset, { public_id: "u" }));
  await attempt(calls, "upload_stream", () => streamed((done) => uploader.upload_stream({ public_id: `${prefix}/s` }, done), file));
  await attempt(calls, "unsigned_upload_stream", () => streamed((done) => uploader.unsigned_upload_stream(preset, { public_id: "us" }, done), file));
  await attempt(calls, "upload_large", () => chunked((done) => uploader.upload_large(file, { public_id: `${prefix}/large`, chunk_size: 5 * 1024 * 1024 }, done)));
  await attempt(calls, "upload_chunked", () => chunked((done) => uploader.upload_chunked(file, { public_id: `${prefix}/chunked` }, done)));
  await attempt(calls, "upload_chunked_stream", () => streamed((done) => uploader.upload_chunked_stream({ public_id: `${prefix}/chunked_stream` }, done), file));
  // The SDK exports upload_large_part, but its v1 implementation does not exist: a TypeError before any request.
  await attempt(calls, "upload_large_part", () => uploader.upload_large_part(file, {}));
  await attempt(calls, "explicit", () => uploader.explicit(`${prefix}/a`, { type: "upload", eager: [{ width: 20, crop: "scale" }], tags: ["t2"] }));
  await attempt(calls, "add_tag", () => uploader.add_tag("added", [`${prefix}/a`, `${prefix}/s`]));
  await attempt(calls, "remove_tag", () => uploader.remove_tag("added", [`${prefix}/s`]));
  await attempt(calls, "replace_tag", () => uploader.replace_tag("only", [`${prefix}/s`]));
  await attempt(calls, "remove_all_tags", () => uploader.remove_all_tags([`${prefix}/s`]));
  await attempt(calls, "add_context", () => uploader.add_context({ caption: "hello world" }, [`${prefix}/a`]));
  await attempt(calls, "remove_all_context", () => uploader.remove_all_context([`${prefix}/s`]));
  await attempt(calls, "update_metadata", () => uploader.update_metadata({ no_such_field: "x" }, [`${prefix}/a`]));
  await attempt(calls, "rename", () => uploader.rename(`${prefix}/s`, `${prefix}/renamed`));
  await attempt(calls, "text", () => uploader.text("darkroom", { public_id: `${prefix}/text`, font_family: "Arial", font_size: 24 }));
  await attempt(calls, "generate_sprite", () => uploader.generate_sprite("added", {}));
  await attempt(calls, "multi", () => uploader.multi("added", { format: "gif" }));
  await attempt(calls, "explode", () => uploader.explode(`${prefix}/a`, { page: "all" }));
  await attempt(calls, "create_archive", () => uploader.create_archive({ tags: ["added"], target_public_id: `${prefix}_archive` }));
  await attempt(calls, "create_zip", () => uploader.create_zip({ public_ids: [`${prefix}/a`] }));
  await attempt(calls, "destroy", () => uploader.destroy(`${prefix}/renamed`, { invalidate: true }));
  // Builders: a URL or a form the browser submits; darkroom must answer what they point at.
  calls.download_generated_sprite = { url: uploader.download_generated_sprite("added") };
  calls.download_multi = { url: uploader.download_multi("added", { format: "gif" }) };
  calls.upload_url = { url: uploader.upload_url() };
  calls.direct_upload = uploader.direct_upload("http://127.0.0.1/cloudinary_cors.html", { public_id: `${prefix}/direct` });
  calls.upload_tag_params = { params: uploader.upload_tag_params({ public_id: `${prefix}/tag` }) };
  calls.image_upload_tag = { html: uploader.image_upload_tag("file", { public_id: `${prefix}/tag` }) };
  calls.unsigned_image_upload_tag = { html: uploader.unsigned_image_upload_tag("file", preset, {}) };
  await api.delete_upload_preset(preset);
  return calls;
}

async function resources(file, prefix) {
  const calls = {};
  const one = `${prefix}/one`;
  const two = `${prefix}/two`;
  const first = await uploader.upload(file, { public_id: one, tags: ["tagged"], context: "k=v", asset_folder: prefix, backup: true });
  const second = await uploader.upload(file, { public_id: two, eager: [{ width: 10, crop: "scale" }], moderation: "manual", backup: true });
  await attempt(calls, "resource", () => api.resource(one));
  await attempt(calls, "resource_by_asset_id", () => api.resource_by_asset_id(first.asset_id));
  await attempt(calls, "resources_by_asset_ids", () => api.resources_by_asset_ids([first.asset_id, second.asset_id]));
  await attempt(calls, "resources_by_ids", () => api.resources_by_ids([one, two]));
  await attempt(calls, "resources_by_tag", () => api.resources_by_tag("tagged", { max_results: 50 }));
  await attempt(calls, "resources_by_context", () => api.resources_by_context("k", "v"));
  await attempt(calls, "resources_by_moderation", () => api.resources_by_moderation("manual", "pending"));
  await attempt(calls, "resources_by_asset_folder", () => api.resources_by_asset_folder(prefix));
  await attempt(calls, "resources", () => api.resources({ type: "upload", prefix }));
  await attempt(calls, "resource_types", () => api.resource_types());
  await attempt(calls, "tags", () => api.tags({ prefix: "tag" }));
  await attempt(calls, "update", () => api.update(one, { tags: ["x"] }));
  await attempt(calls, "add_related_assets", () => api.add_related_assets(one, [`image/upload/${two}`]));
  await attempt(calls, "add_related_assets_by_asset_id", () => api.add_related_assets_by_asset_id(second.asset_id, [first.asset_id]));
  await attempt(calls, "delete_related_assets", () => api.delete_related_assets(one, [`image/upload/${two}`]));
  await attempt(calls, "delete_related_assets_by_asset_id", () => api.delete_related_assets_by_asset_id(second.asset_id, [first.asset_id]));
  await attempt(calls, "publish_by_ids", () => api.publish_by_ids([one]));
  await attempt(calls, "publish_by_prefix", () => api.publish_by_prefix(`${prefix}/o`));
  await attempt(calls, "publish_by_tag", () => api.publish_by_tag("x"));
  await attempt(calls, "update_resources_access_mode_by_ids", () => api.update_resources_access_mode_by_ids("authenticated", [one]));
  await attempt(calls, "update_resources_access_mode_by_prefix", () => api.update_resources_access_mode_by_prefix("public", `${prefix}/o`));
  await attempt(calls, "update_resources_access_mode_by_tag", () => api.update_resources_access_mode_by_tag("public", "x"));
  await attempt(calls, "delete_derived_resources", () => api.delete_derived_resources(["no-such-derived-id"]));
  await attempt(calls, "delete_derived_by_transformation", () => api.delete_derived_by_transformation([two], ["c_scale,w_10"]));
  await attempt(calls, "delete_resources", () => api.delete_resources([two]));
  await attempt(calls, "restore", () => api.restore([two]));
  await attempt(calls, "delete_resources_by_asset_ids", () => api.delete_resources_by_asset_ids([second.asset_id]));
  await attempt(calls, "restore_by_asset_ids", () => api.restore_by_asset_ids([second.asset_id]));
  await attempt(calls, "delete_backed_up_assets", () => api.delete_backed_up_assets(second.asset_id, ["0123456789abcdef0123456789abcdef"]));
  await attempt(calls, "delete_resources_by_tag", () => api.delete_resources_by_tag("x"));
  await attempt(calls, "delete_resources_by_prefix", () => api.delete_resources_by_prefix(prefix));
  await attempt(calls, "delete_all_resources", () => api.delete_all_resources({ type: "private" }));
  return calls;
}

async function settings(file, prefix) {
  const calls = {};
  const name = prefix.replaceAll("/", "_");
  await attempt(calls, "ping", () => api.ping());
  await attempt(calls, "config", () => api.config({ settings: true }));
  await attempt(calls, "usage", () => api.usage());
  await attempt(calls, "create_upload_preset", () => api.create_upload_preset({ name, folder: prefix }));
  await attempt(calls, "upload_presets", () => api.upload_presets({ max_results: 500 }));
  await attempt(calls, "create_transformation", () => api.create_transformation(`${name}_t`, "c_scale,w_50"));
  await attempt(calls, "transformations", () => api.transformations({ named: true, max_results: 500 }));
  await attempt(calls, "create_folder", () => api.create_folder(`${prefix}/f1/f2`));
  await attempt(calls, "root_folders", () => api.root_folders());
  await attempt(calls, "sub_folders", () => api.sub_folders(prefix));
  await attempt(calls, "rename_folder", () => api.rename_folder(`${prefix}/f1`, `${prefix}/g1`));
  await attempt(calls, "delete_folder", () => api.delete_folder(`${prefix}/g1/f2`));
  await attempt(calls, "create_upload_mapping", () => api.create_upload_mapping(`${name}_map`, { template: "http://127.0.0.1:9/origin/" }));
  await attempt(calls, "upload_mappings", () => api.upload_mappings());
  await attempt(calls, "upload_mapping", () => api.upload_mapping(`${name}_map`));
  await attempt(calls, "update_upload_mapping", () => api.update_upload_mapping(`${name}_map`, { template: "http://127.0.0.1:9/other/" }));
  await attempt(calls, "delete_upload_mapping", () => api.delete_upload_mapping(`${name}_map`));
  await attempt(calls, "create_streaming_profile", () => api.create_streaming_profile(`${name}_sp`, { display_name: "Mine", representations: [{ transformation: "c_limit,w_640,h_360,br_1m" }] }));
  await attempt(calls, "list_streaming_profiles", () => api.list_streaming_profiles());
  await attempt(calls, "get_streaming_profile", () => api.get_streaming_profile(`${name}_sp`));
  await attempt(calls, "update_streaming_profile", () => api.update_streaming_profile(`${name}_sp`, { representations: [{ transformation: "c_limit,w_320,h_180,br_500k" }] }));
  await attempt(calls, "delete_streaming_profile", () => api.delete_streaming_profile(`${name}_sp`));
  const field = `${name}_size`;
  await attempt(calls, "add_metadata_field", () => api.add_metadata_field({ external_id: field, label: "Size", type: "enum", datasource: { values: [{ external_id: "s", value: "small" }, { external_id: "l", value: "large" }] } }));
  await attempt(calls, "list_metadata_fields", () => api.list_metadata_fields());
  await attempt(calls, "metadata_field_by_field_id", () => api.metadata_field_by_field_id(field));
  await attempt(calls, "update_metadata_field", () => api.update_metadata_field(field, { label: "Sizes" }));
  await attempt(calls, "update_metadata_field_datasource", () => api.update_metadata_field_datasource(field, { values: [{ external_id: "m", value: "medium" }] }));
  await attempt(calls, "delete_datasource_entries", () => api.delete_datasource_entries(field, ["s"]));
  await attempt(calls, "restore_metadata_field_datasource", () => api.restore_metadata_field_datasource(field, ["s"]));
  await attempt(calls, "order_metadata_field_datasource", () => api.order_metadata_field_datasource(field, "value", "desc"));
  await attempt(calls, "reorder_metadata_fields", () => api.reorder_metadata_fields("label", "asc"));
  await attempt(calls, "add_metadata_rule", () => api.add_metadata_rule({ metadata_field_id: field, name: "big", condition: { metadata_field_id: field, equals: "l" }, result: { enable: true } }));
  await attempt(calls, "list_metadata_rules", () => api.list_metadata_rules());
  const rule = calls.add_metadata_rule?.external_id ?? "none";
  await attempt(calls, "update_metadata_rule", () => api.update_metadata_rule(rule, { name: "bigger", state: "inactive" }));
  await attempt(calls, "delete_metadata_rule", () => api.delete_metadata_rule(rule));
  await attempt(calls, "delete_metadata_field", () => api.delete_metadata_field(field));
  await attempt(calls, "update_transformation", () => api.update_transformation(`${name}_t`, { allowed_for_strict: true }));
  await attempt(calls, "transformation", () => api.transformation(`${name}_t`));
  await attempt(calls, "delete_transformation", () => api.delete_transformation(`${name}_t`));
  await attempt(calls, "upload_preset", () => api.upload_preset(name));
  await attempt(calls, "update_upload_preset", () => api.update_upload_preset(name, { tags: "p" }));
  await attempt(calls, "delete_upload_preset", () => api.delete_upload_preset(name));
  return calls;
}

async function search(file, prefix) {
  const calls = {};
  const uploaded = await uploader.upload(file, { public_id: `${prefix}/found`, tags: ["findme"], asset_folder: prefix, visual_search: true });
  await attempt(calls, "search", () => api.search({ expression: `tags=findme AND public_id:${prefix}/*`, max_results: 10 }));
  await attempt(calls, "search_folders", () => api.search_folders({ expression: `name=${prefix.split("/").pop()}` }));
  await attempt(calls, "visual_search", () => api.visual_search({ image_asset_id: uploaded.asset_id }));
  return calls;
}

const FAMILIES = { uploads, resources, settings, search };

async function main() {
  const [family, file, prefix] = process.argv.slice(2);
  const run = FAMILIES[family];
  if (!run) throw new Error(`unknown family ${family}; one of ${Object.keys(FAMILIES)}`);
  process.stdout.write(JSON.stringify(await run(file, prefix)));
}

main().catch((failure) => {
  process.stderr.write(`${failure?.stack ?? JSON.stringify(failure)}\n`);
  process.exit(1);
});
