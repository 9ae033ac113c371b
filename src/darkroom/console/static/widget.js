/*
 * darkroom upload widget: `darkroom.createUploadWidget(options, callback)`.
 *
 * A drop-in for the parts of Cloudinary's upload widget that apps actually use, so a page
 * that signs uploads today (next-cloudinary's `signatureEndpoint`, or an `uploadSignature`
 * function) keeps working against darkroom. A classic script on purpose: third-party pages
 * include it with one <script> tag, the way they include Cloudinary's widget.
 *
 * Options (Cloudinary's names): cloudName, apiKey, uploadPreset, signatureEndpoint,
 * uploadSignature (function(cb, paramsToSign) or a ready signature string),
 * uploadSignatureTimestamp, sources (local | url | camera), multiple, maxFiles, maxFileSize,
 * maxImageFileSize, maxVideoFileSize (bytes), clientAllowedFormats, folder, resourceType
 * (auto | image | video | raw: the Upload API endpoint, and what the file and camera pickers
 * offer; audio is `video`, as in Cloudinary), tags, publicId, inlineContainer.
 * darkroom extras: uploadPrefix (default: the origin this script came from) and
 * signatureHeaders (extra headers for the signature request, e.g. a CSRF token).
 *
 * callback(error, result): result = {event, info}; "success" carries the Upload API's JSON.
 * The API secret is never here: signatures come from the page's own server.
 */
(function () {
  "use strict";

  var scriptOrigin = (function () {
    var current = document.currentScript;
    try { return current && current.src ? new URL(current.src).origin : window.location.origin; }
    catch (e) { return window.location.origin; }
  })();

  var CSS = [
    ".drw-overlay{position:fixed;inset:0;background:rgba(0,0,0,.55);display:flex;align-items:center;justify-content:center;z-index:2147483000}",
    ".drw-overlay[hidden],.drw-url[hidden]{display:none}",
    ".drw-panel{--drw-bg:#fff;--drw-fg:#1b1f24;--drw-muted:#5b6470;--drw-line:#d5d9de;--drw-accent:#2f6fec;--drw-bad:#c62828;--drw-good:#2e7d32;",
    "background:var(--drw-bg);color:var(--drw-fg);font:14px/1.4 system-ui,sans-serif;border-radius:10px;padding:16px;width:min(560px,92vw);max-height:86vh;overflow:auto;box-sizing:border-box}",
    "@media (prefers-color-scheme:dark){.drw-panel{--drw-bg:#1d2127;--drw-fg:#e8eaed;--drw-muted:#9aa3ad;--drw-line:#3a4048;--drw-accent:#7aa7ff;--drw-bad:#ff8a80;--drw-good:#81c784}}",
    ".drw-inline .drw-panel{width:auto;max-height:none}",
    ".drw-head{display:flex;justify-content:space-between;align-items:center;margin-bottom:10px}",
    ".drw-head h2{font-size:16px;margin:0}",
    ".drw-close{background:none;border:0;color:inherit;font-size:20px;cursor:pointer}",
    ".drw-drop{border:2px dashed var(--drw-line);border-radius:8px;padding:22px;text-align:center;color:var(--drw-muted)}",
    ".drw-drop.drw-over{border-color:var(--drw-accent);color:var(--drw-fg)}",
    ".drw-drop button,.drw-row button,.drw-sources button{font:inherit;padding:5px 10px;border-radius:6px;border:1px solid var(--drw-line);background:transparent;color:var(--drw-fg);cursor:pointer}",
    ".drw-sources{display:flex;gap:8px;margin-top:10px;flex-wrap:wrap}",
    ".drw-url{display:none;gap:6px;margin-top:10px}.drw-url.drw-show{display:flex}",
    ".drw-url input{flex:1;font:inherit;padding:5px 8px;border-radius:6px;border:1px solid var(--drw-line);background:transparent;color:var(--drw-fg)}",
    ".drw-hint{font-size:12px;color:var(--drw-muted);margin-top:8px}",
    ".drw-list{list-style:none;margin:12px 0 0;padding:0;display:grid;gap:8px}",
    ".drw-item{display:grid;grid-template-columns:1fr auto;gap:2px 10px;align-items:center}",
    ".drw-name{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}",
    ".drw-status{font-size:12px;color:var(--drw-muted)}",
    ".drw-item progress{grid-column:1/3;width:100%;height:8px;accent-color:var(--drw-accent)}",
    ".drw-item.drw-done .drw-status{color:var(--drw-good)}",
    ".drw-item.drw-failed .drw-status{color:var(--drw-bad)}",
    ".drw-item.drw-failed progress{accent-color:var(--drw-bad)}"
  ].join("\n");

  function injectStyle() {
    if (document.getElementById("drw-style")) return;
    var style = document.createElement("style");
    style.id = "drw-style";
    style.textContent = CSS;
    document.head.appendChild(style);
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), attrs[key]);
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function humanBytes(n) {
    if (n >= 1e9) return (n / 1e9).toFixed(1) + " GB";
    if (n >= 1000000) return (n / 1000000).toFixed(1) + " MB";
    if (n >= 1000) return Math.round(n / 1000) + " KB";
    return n + " B";
  }

  function extensionOf(name) {
    var match = /\.([A-Za-z0-9]+)(?:[?#].*)?$/.exec(name || "");
    return match ? match[1].toLowerCase() : "";
  }

  /** The size limit for a file of this MIME type: maxVideoFileSize / maxImageFileSize, else maxFileSize. */
  function sizeLimitFor(options, mime) {
    var kind = String(mime || "").split("/")[0];
    if ((kind === "video" || kind === "audio") && options.maxVideoFileSize) return options.maxVideoFileSize;
    if (kind === "image" && options.maxImageFileSize) return options.maxImageFileSize;
    return options.maxFileSize;
  }

  /** What the file picker and the camera offer for the widget's resourceType. */
  var PICKS = {
    video: { files: "video/*,audio/*", camera: "video/*", url: "https://example.com/clip.mp4" },
    image: { files: "image/*", camera: "image/*", url: "https://example.com/photo.jpg" },
    raw: { files: "", camera: "image/*,video/*", url: "https://example.com/file.pdf" },
    auto: { files: "", camera: "image/*,video/*", url: "https://example.com/photo.jpg" }
  };

  /** The client-side checks a preset's rules imply; the server enforces them again. */
  function checkFile(options, name, size, mime) {
    var formats = (options.clientAllowedFormats || []).map(function (f) { return String(f).toLowerCase(); });
    if (formats.length) {
      var ext = extensionOf(name);
      var same = { jpg: "jpeg", jpeg: "jpg", tif: "tiff", tiff: "tif" };
      if (formats.indexOf(ext) < 0 && formats.indexOf(same[ext]) < 0) {
        return "File format not allowed (allowed: " + formats.join(", ") + ")";
      }
    }
    var limit = sizeLimitFor(options, mime);
    if (limit && size > limit) {
      return "File is too large (" + humanBytes(size) + "; limit " + humanBytes(limit) + ")";
    }
    return null;
  }

  /** The parameters the widget sends, which are exactly the ones it has signed. */
  function uploadParams(options) {
    var params = { timestamp: options.uploadSignatureTimestamp || Math.floor(Date.now() / 1000), source: "uw" };
    if (options.uploadPreset) params.upload_preset = options.uploadPreset;
    if (options.folder) params.folder = options.folder;
    if (options.publicId) params.public_id = options.publicId;
    if (options.tags && options.tags.length) params.tags = [].concat(options.tags).join(",");
    return params;
  }

  function isSigned(options) {
    return Boolean(options.signatureEndpoint || options.uploadSignature);
  }

  /** Ask the page's server for a signature: `POST {paramsToSign}` -> `{signature}`. */
  function fetchSignature(options, paramsToSign) {
    if (typeof options.uploadSignature === "string") {
      return Promise.resolve({ signature: options.uploadSignature });
    }
    if (typeof options.uploadSignature === "function") {
      return new Promise(function (resolve) {
        options.uploadSignature(function (signature) { resolve({ signature: signature }); }, paramsToSign);
      });
    }
    var headers = Object.assign({ "Content-Type": "application/json" }, options.signatureHeaders || {});
    return fetch(options.signatureEndpoint, {
      method: "POST", headers: headers, credentials: "same-origin",
      body: JSON.stringify({ paramsToSign: paramsToSign })
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok || !body.signature) {
          var message = (body.error && body.error.message) || body.message || ("Signature request failed (" + response.status + ")");
          throw new Error(message);
        }
        return body;
      });
    });
  }

  /** POST the file with XHR, because fetch cannot report upload progress. */
  function send(url, form, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.upload.onprogress = function (event) { if (event.lengthComputable) onProgress(event.loaded / event.total); };
      xhr.onerror = function () { reject(new Error("Network error during upload")); };
      xhr.onload = function () {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
        if (xhr.status >= 200 && xhr.status < 300 && body) resolve(body);
        else reject(new Error((body && body.error && body.error.message) || ("Upload failed (" + xhr.status + ")")));
      };
      xhr.send(form);
    });
  }

  function uploadOne(options, source, onProgress) {
    var params = uploadParams(options);
    var signing = isSigned(options) ? fetchSignature(options, params) : Promise.resolve(null);
    return signing.then(function (signed) {
      var form = new FormData();
      Object.keys(params).forEach(function (key) { form.append(key, params[key]); });
      if (signed) {
        form.append("signature", signed.signature);
        var apiKey = options.apiKey || signed.apiKey || signed.api_key;
        if (apiKey) form.append("api_key", apiKey);
      }
      form.append("file", source);
      var prefix = (options.uploadPrefix || scriptOrigin).replace(/\/+$/, "");
      var url = prefix + "/v1_1/" + encodeURIComponent(options.cloudName) + "/" + (options.resourceType || "auto") + "/upload";
      return send(url, form, onProgress);
    });
  }

  function Widget(options, callback) {
    this.options = Object.assign({ sources: ["local", "url", "camera"], multiple: true, resourceType: "auto" }, options || {});
    this.callback = typeof callback === "function" ? callback : function () {};
    this.root = null;
    this.showing = false;
    this.active = 0;
  }

  Widget.prototype.emit = function (event, info) { this.callback(null, { event: event, info: info }); };

  Widget.prototype.fail = function (message, info) {
    this.callback({ status: message, statusText: message, message: message }, { event: "error", info: info || null });
  };

  Widget.prototype.build = function () {
    injectStyle();
    var self = this;
    var options = this.options;
    var picks = PICKS[options.resourceType] || PICKS.auto;
    var accept = (options.clientAllowedFormats || []).map(function (f) { return "." + f; }).join(",") || picks.files;
    var picker = el("input", { type: "file", hidden: "", "data-drw": "file-input" });
    if (options.multiple !== false) picker.setAttribute("multiple", "");
    if (accept) picker.setAttribute("accept", accept);
    picker.addEventListener("change", function () { self.addFiles(picker.files); picker.value = ""; });

    var sources = options.sources || ["local"];
    var camera = null;
    if (sources.indexOf("camera") >= 0) {
      // `capture` opens the camera where the browser offers one, and a file picker elsewhere.
      camera = el("input", { type: "file", hidden: "", accept: picks.camera, capture: "environment", "data-drw": "camera-input" });
      camera.addEventListener("change", function () { self.addFiles(camera.files); camera.value = ""; });
    }
    var urlInput = el("input", { type: "url", placeholder: picks.url, "aria-label": "File URL", "data-drw": "url-input" });
    var urlRow = el("form", { class: "drw-url", onsubmit: function (e) { e.preventDefault(); self.addUrl(urlInput.value); urlInput.value = ""; } },
      [urlInput, el("button", { type: "submit", text: "Upload" })]);

    var drop = el("div", { class: "drw-drop", "data-drw": "dropzone" }, [
      el("div", { text: "Drag and drop " + (options.multiple === false ? "a file" : "files") + " here, or " }),
      el("button", { type: "button", text: "Browse", onclick: function () { picker.click(); } }),
      picker
    ]);
    ["dragenter", "dragover"].forEach(function (name) {
      drop.addEventListener(name, function (e) { e.preventDefault(); drop.classList.add("drw-over"); });
    });
    drop.addEventListener("dragleave", function () { drop.classList.remove("drw-over"); });
    drop.addEventListener("drop", function (e) {
      e.preventDefault();
      drop.classList.remove("drw-over");
      if (e.dataTransfer) self.addFiles(e.dataTransfer.files);
    });

    var sourceButtons = el("div", { class: "drw-sources" }, [
      sources.indexOf("url") >= 0 ? el("button", { type: "button", text: "From a URL", onclick: function () { urlRow.classList.toggle("drw-show"); urlInput.focus(); } }) : null,
      camera ? el("button", { type: "button", text: "Camera", onclick: function () { camera.click(); } }) : null,
      camera
    ]);
    var hints = [];
    if (options.clientAllowedFormats && options.clientAllowedFormats.length) hints.push("Formats: " + options.clientAllowedFormats.join(", "));
    if (options.maxFileSize) hints.push("Max size: " + humanBytes(options.maxFileSize));
    if (options.maxVideoFileSize) hints.push("Max video size: " + humanBytes(options.maxVideoFileSize));
    if (options.maxImageFileSize) hints.push("Max image size: " + humanBytes(options.maxImageFileSize));
    if (options.folder) hints.push("Folder: " + options.folder);
    this.list = el("ul", { class: "drw-list", "data-drw": "queue" });
    var inline = Boolean(options.inlineContainer);
    var panel = el("div", { class: "drw-panel", role: inline ? "region" : "dialog", "aria-label": "Upload files" }, [
      el("div", { class: "drw-head" }, [
        el("h2", { text: "Upload" }),
        inline ? null : el("button", { type: "button", class: "drw-close", "aria-label": "Close", text: "\u00d7", onclick: function () { self.close(); } })
      ]),
      drop, sourceButtons, urlRow,
      hints.length ? el("div", { class: "drw-hint", text: hints.join(" \u00b7 ") }) : null,
      this.list
    ]);
    if (inline) {
      var container = typeof options.inlineContainer === "string" ? document.querySelector(options.inlineContainer) : options.inlineContainer;
      this.root = el("div", { class: "drw-inline" }, [panel]);
      container.appendChild(this.root);
    } else {
      this.root = el("div", { class: "drw-overlay", hidden: "" }, [panel]);
      this.root.addEventListener("click", function (e) { if (e.target === self.root) self.close(); });
      document.addEventListener("keydown", function (e) { if (e.key === "Escape" && self.showing) self.close(); });
      document.body.appendChild(this.root);
    }
  };

  Widget.prototype.open = function () {
    if (!this.root) this.build();
    this.root.hidden = false;
    this.showing = true;
    this.emit("display-changed", "shown");
    return this;
  };

  Widget.prototype.close = function () {
    if (!this.root || this.options.inlineContainer) return this;
    this.root.hidden = true;
    this.showing = false;
    this.emit("display-changed", "hidden");
    this.emit("close", null);
    return this;
  };

  Widget.prototype.isShowing = function () { return this.showing; };
  Widget.prototype.update = function (changes) { Object.assign(this.options, changes || {}); return this; };
  Widget.prototype.destroy = function () {
    if (this.root && this.root.parentNode) this.root.parentNode.removeChild(this.root);
    this.root = null;
    this.showing = false;
    return Promise.resolve();
  };

  Widget.prototype.addFiles = function (fileList) {
    var files = Array.prototype.slice.call(fileList || []);
    if (this.options.multiple === false) files = files.slice(0, 1);
    if (this.options.maxFiles) files = files.slice(0, this.options.maxFiles);
    var self = this;
    files.forEach(function (file) { self.enqueue(file.name, file.size, file, file.type); });
  };

  Widget.prototype.addUrl = function (url) {
    url = (url || "").trim();
    if (!url) return;
    this.enqueue(url, 0, url);
  };

  Widget.prototype.enqueue = function (name, size, source, mime) {
    var bar = el("progress", { max: "100", value: "0" });
    var status = el("span", { class: "drw-status", text: "Waiting" });
    var row = el("li", { class: "drw-item", "data-drw": "item" }, [el("span", { class: "drw-name", text: name, title: name }), status, bar]);
    this.list.appendChild(row);
    var problem = checkFile(this.options, name, size, mime);
    if (problem) {
      row.classList.add("drw-failed");
      status.textContent = problem;
      this.fail(problem, { name: name });
      return;
    }
    var self = this;
    if (this.active++ === 0) this.emit("queues-start", null);
    this.emit("upload-added", { name: name, size: size });
    status.textContent = "Uploading";
    uploadOne(this.options, source, function (fraction) { bar.value = Math.round(fraction * 99); })
      .then(function (info) {
        bar.value = 100;
        row.classList.add("drw-done");
        status.textContent = "Done";
        row.setAttribute("data-public-id", info.public_id || "");
        self.emit("success", info);
      })
      .catch(function (error) {
        row.classList.add("drw-failed");
        status.textContent = error.message;
        self.fail(error.message, { name: name });
      })
      .then(function () { if (--self.active === 0) self.emit("queues-end", null); });
  };

  function createUploadWidget(options, callback) {
    if (!options || !options.cloudName) throw new Error("createUploadWidget needs options.cloudName");
    return new Widget(options, callback);
  }

  function openUploadWidget(options, callback) {
    return createUploadWidget(options, callback).open();
  }

  var api = { createUploadWidget: createUploadWidget, openUploadWidget: openUploadWidget, _checkFile: checkFile };
  window.darkroom = Object.assign(window.darkroom || {}, api);
  // Pages written for Cloudinary call `cloudinary.createUploadWidget`; answer to that name too.
  window.cloudinary = window.cloudinary || {};
  if (!window.cloudinary.createUploadWidget) {
    window.cloudinary.createUploadWidget = createUploadWidget;
    window.cloudinary.openUploadWidget = openUploadWidget;
  }
})();
