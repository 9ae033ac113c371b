// Upload a file to darkroom with the official cloudinary Node SDK, then download it.
//
// Configured only by CLOUDINARY_URL (cloudinary://KEY:SECRET@CLOUD?upload_prefix=…&cname=…),
// exactly as an application would be. Prints one JSON object on stdout for the Python test
// (tests/test_node_sdk.py) to check; exits non-zero with the SDK's error on stderr.
//
// usage: node upload_and_download.mjs FILE PUBLIC_ID [CHUNK_BYTES]
//   with CHUNK_BYTES, uploads with `upload_large` (raw, chunked: Content-Range `…/-1` until the
//   last chunk, X-Unique-Upload-Id), as the Node SDK sends big files.

import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import cloudinary from "cloudinary";

const sdk = cloudinary.v2;

async function fetchDigest(url) {
  // Follow no redirects: darkroom must serve the bytes itself.
  const response = await fetch(url, { redirect: "manual" });
  const body = Buffer.from(await response.arrayBuffer());
  return {
    url,
    status: response.status,
    content_type: response.headers.get("content-type"),
    sha256: createHash("sha256").update(body).digest("hex"),
    bytes: body.length,
  };
}

function uploadLarge(file, options) {
  // upload_large reports through its callback only; errors arrive as `result.error`.
  return new Promise((resolve, reject) => {
    sdk.uploader.upload_large(file, options, (error, result) => {
      const failure = error ?? result?.error;
      if (failure) reject(failure);
      else resolve(result);
    });
  });
}

async function main() {
  const [file, publicId, chunkBytes] = process.argv.slice(2);
  if (!file || !publicId) {
    throw new Error("usage: node upload_and_download.mjs FILE PUBLIC_ID [CHUNK_BYTES]");
  }
  const options = { public_id: publicId, tags: ["node-sdk"], overwrite: true };
  const result = chunkBytes
    ? await uploadLarge(file, { ...options, chunk_size: Number(chunkBytes) })
    : await sdk.uploader.upload(file, options);
  // The URL the SDK itself builds from the config (cname, plain http) must work too.
  // `secure: false` is passed explicitly: query values in CLOUDINARY_URL are strings.
  const sdkUrl = sdk.url(result.public_id, {
    version: result.version,
    // Raw assets have no format of their own (Cloudinary omits it; the extension, if any,
    // is part of the public_id), so pass one only when there is one, as an app would.
    format: result.format || undefined,
    resource_type: result.resource_type,
    type: result.type,
    secure: false,
  });
  const output = {
    upload: result,
    signature_ok: sdk.utils.verify_api_response_signature(
      result.public_id,
      result.version,
      result.signature,
    ),
    source_sha256: createHash("sha256").update(await readFile(file)).digest("hex"),
    response_url: await fetchDigest(result.url),
    sdk_url: await fetchDigest(sdkUrl),
  };
  process.stdout.write(JSON.stringify(output));
}

main().catch((error) => {
  process.stderr.write(`node SDK error: ${JSON.stringify(error)} ${error?.stack ?? ""}\n`);
  process.exit(1);
});
