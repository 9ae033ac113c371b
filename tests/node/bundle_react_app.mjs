// Bundles a small React app around docs/examples/next/CldUploadWidget.jsx for the browser
// test (tests/console/test_react_upload_widget.py): React and the component, as a Next.js
// page would have them, in one classic script. esbuild resolves "react" from this folder's
// node_modules, since the component lives in docs/ where nothing is installed.
//
// usage: node bundle_react_app.mjs ENTRY.jsx OUT.js

import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const [entry, outfile] = process.argv.slice(2);
const here = path.dirname(fileURLToPath(import.meta.url));

await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  format: "iife",
  jsx: "automatic",
  nodePaths: [path.join(here, "node_modules")],
  define: { "process.env.NODE_ENV": '"production"' },
  logLevel: "error",
});
