// The video player on a video's asset page.
//
// Plays the `sp_auto` HLS stream through hls.js (installed by tools/install.sh into
// /console/static/vendor when npm is there), with the page's <track> elements as subtitles.
// Falls back to the progressive MP4, and says why, when hls.js is not installed, the browser
// has no Media Source Extensions, or the stream fails. While darkroom is still preparing the
// stream (423) it retries for a while, as Cloudinary's player does.

const root = document.getElementById("player");
const video = document.getElementById("player-video");
const mode = document.getElementById("player-mode");

const PREPARING_RETRIES = 20;   // 423 answers before giving up on HLS
const PREPARING_DELAY_MS = 3000;

// darkroom encodes a segment on its first request and holds that request up to
// DARKROOM_STREAM_WAIT_SECONDS (50 s by default): wait that long for a first byte rather
// than hls.js's 10 s, which would give up on work that is about to arrive.
const PATIENT = {
  default: {
    maxTimeToFirstByteMs: 60_000, maxLoadTimeMs: 120_000,
    timeoutRetry: { maxNumRetry: 2, retryDelayMs: 0, maxRetryDelayMs: 0 },
    errorRetry: { maxNumRetry: 2, retryDelayMs: 1000, maxRetryDelayMs: 8000 },
  },
};

function show(kind, text) {
  mode.dataset.mode = kind;     // "hls", "mp4" or "preparing" (tests and styles read it)
  mode.textContent = text;
}

function progressive(reason) {
  video.src = root.dataset.mp4;
  show("mp4", `Progressive MP4. ${reason}`);
}

async function loadHls(path) {
  try {
    return (await import(path)).default;
  } catch (error) {
    return null;
  }
}

function playHls(Hls) {
  const hls = new Hls({
    // A worker file of our own rather than a blob: URL, which the console's CSP refuses.
    workerPath: new URL("hls.worker.js", new URL(root.dataset.hlsJs, location.href)).href,
    manifestLoadPolicy: PATIENT, playlistLoadPolicy: PATIENT, fragLoadPolicy: PATIENT,
  });
  let preparing = 0;
  hls.on(Hls.Events.MANIFEST_PARSED, (_event, data) => {
    const sizes = data.levels.map((level) => `${level.width}×${level.height}`).join(", ");
    show("hls", `Adaptive streaming (HLS, sp_auto) through hls.js ${Hls.version}: ${data.levels.length} renditions (${sizes}).`);
  });
  hls.on(Hls.Events.ERROR, (_event, data) => {
    if (!data.fatal) return;
    const status = data.response?.code;
    if (status === 423 && preparing < PREPARING_RETRIES) {
      preparing += 1;
      show("preparing", "darkroom is preparing the stream; trying again shortly…");
      setTimeout(() => hls.loadSource(root.dataset.hls), PREPARING_DELAY_MS);
      return;
    }
    hls.destroy();
    progressive(`The HLS stream failed (${status ? `HTTP ${status}` : data.details}).`);
  });
  hls.loadSource(root.dataset.hls);
  hls.attachMedia(video);
}

async function start() {
  const path = root.dataset.hlsJs;
  if (!path) {
    progressive("hls.js is not installed on this server (tools/install.sh installs it where Node.js and npm are present), so adaptive streaming is off.");
    return;
  }
  const Hls = await loadHls(path);
  if (!Hls) {
    progressive("hls.js did not load.");
  } else if (!Hls.isSupported()) {
    progressive("This browser has no Media Source Extensions for hls.js.");
  } else {
    playHls(Hls);
  }
}

if (root) start();
