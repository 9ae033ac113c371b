// One TinaCMS media-manager session against darkroom, with the real store classes:
// upload (persist), list the root and the folder page by page, then delete.
// Prints a JSON report for the Python test to check.
import { CloudinaryMediaStore, createTinaCloudCloudinaryMediaStore } from "next-tinacms-cloudinary";

const base = process.env.DARKROOM_BASE;
const token = process.env.MEDIA_TOKEN;
const png = Buffer.from(process.env.PNG_B64, "base64");

// What TinaCMS passes as `cms.api.tina`: a client whose auth provider adds the bearer token.
const client = {
  clientId: "client-abc",
  authProvider: {
    fetchWithToken: (url, init = {}) =>
      fetch(url, { ...init, headers: { ...(init.headers || {}), Authorization: `Bearer ${token}` } }),
  },
};

const TinaStore = createTinaCloudCloudinaryMediaStore({ baseUrl: `${base}/api/cloudinary/media` });
const store = new TinaStore(client);
const anonymous = new CloudinaryMediaStore({ baseUrl: `${base}/api/cloudinary/media` });
const thumbnailSizes = [{ w: 75, h: 75 }, { w: 400, h: 400 }, { w: 1000, h: 1000 }];

async function listAll(directory) {
  const pages = [];
  let offset;
  do {
    const page = await store.list({ offset, limit: 2, directory, thumbnailSizes, filesOnly: pages.length > 0 });
    pages.push(page);
    offset = page.nextOffset;
  } while (offset);
  return pages;
}

const report = {};
try {
  await anonymous.list({ limit: 36, directory: "", thumbnailSizes, filesOnly: false });
  report.anonymous = "listed";
} catch (error) {
  report.anonymous = { title: error.title, message: error.message };
}
const files = ["My Pixel #1.png", "second.png", "third.png"].map((name) => new File([png], name, { type: "image/png" }));
report.persisted = await store.persist(files.map((file) => ({ file, directory: "tina-test" })));
report.root = await listAll("");
report.folder = await listAll("tina-test");
await store.delete(report.persisted[0]);
report.afterDelete = await listAll("tina-test");
console.log(JSON.stringify(report));
