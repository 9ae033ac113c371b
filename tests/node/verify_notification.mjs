// Checks a webhook darkroom delivered with the official Node SDK's verifyNotificationSignature.
// Configured only by CLOUDINARY_URL (the secret); reads {body, timestamp, signature} as JSON on
// stdin and prints {"valid": true|false} for tests/jobs/test_webhooks.py.

import cloudinary from "cloudinary";

let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;
const { body, timestamp, signature } = JSON.parse(input);
console.log(JSON.stringify({ valid: cloudinary.v2.utils.verifyNotificationSignature(body, timestamp, signature) }));
