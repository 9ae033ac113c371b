"use client";
/*
 * <CldUploadWidget> for darkroom: the same props and callbacks as next-cloudinary's, over
 * darkroom's /widget.js instead of Cloudinary's script (which next-cloudinary always loads
 * from Cloudinary's CDN). Copy this file into your app and change one import:
 *
 *   import { CldUploadWidget } from "@/components/CldUploadWidget";   // was "next-cloudinary"
 *
 *   <CldUploadWidget signatureEndpoint="/api/sign" options={{ folder: "uploads" }}
 *                    onSuccess={(result) => setImage(result.info.secure_url)}>
 *     {({ open }) => <button onClick={() => open()}>Upload</button>}
 *   </CldUploadWidget>
 *
 * Where darkroom is: the `darkroomUrl` prop, else NEXT_PUBLIC_DARKROOM_URL. The cloud and key:
 * `config.cloud`, else NEXT_PUBLIC_CLOUDINARY_CLOUD_NAME / NEXT_PUBLIC_CLOUDINARY_API_KEY, as
 * next-cloudinary reads them. The API secret stays on your server, behind signatureEndpoint.
 */
import { useCallback, useEffect, useRef, useState } from "react";

// next-cloudinary's callback props, by the widget event that calls each.
const EVENT_CALLBACKS = {
  abort: "onAbort",
  "batch-cancelled": "onBatchCancelled",
  close: "onClose",
  "display-changed": "onDisplayChanged",
  publicid: "onPublicId",
  "queues-end": "onQueuesEnd",
  "queues-start": "onQueuesStart",
  retry: "onRetry",
  "show-completed": "onShowCompleted",
  "source-changed": "onSourceChanged",
  success: "onSuccess",
  tags: "onTags",
  "upload-added": "onUploadAdded",
};

const environment = typeof process !== "undefined" && process.env ? process.env : {};
const scripts = new Map(); // darkroom URL → the promise of its widget script, loaded once per page

function loadWidgetScript(darkroomUrl) {
  const src = `${darkroomUrl.replace(/\/$/, "")}/widget.js`;
  if (!scripts.has(src)) {
    scripts.set(src, new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.async = true;
      script.onload = () => resolve(window.darkroom);
      script.onerror = () => { scripts.delete(src); reject(new Error(`could not load ${src}`)); };
      document.head.appendChild(script);
    }));
  }
  return scripts.get(src);
}

export function CldUploadWidget({
  children,
  config = {},
  darkroomUrl = environment.NEXT_PUBLIC_DARKROOM_URL,
  options = {},
  signatureEndpoint,
  uploadPreset,
  onError,
  onOpen,
  onUpload, // next-cloudinary's older name for onSuccess
  ...callbacks
}) {
  const widget = useRef(null);
  const latest = useRef({});
  latest.current = { callbacks, onError, onUpload }; // callbacks may change on every render
  const [results, setResults] = useState(undefined);
  const [error, setError] = useState(undefined);
  const [isLoading, setLoading] = useState(true);

  useEffect(() => {
    let cancelled = false;
    if (!darkroomUrl) {
      setError({ statusText: "CldUploadWidget: set darkroomUrl or NEXT_PUBLIC_DARKROOM_URL" });
      setLoading(false);
      return undefined;
    }
    loadWidgetScript(darkroomUrl).then((darkroom) => {
      if (cancelled) return;
      const cloud = config.cloud || {};
      widget.current = darkroom.createUploadWidget({
        cloudName: cloud.cloudName || environment.NEXT_PUBLIC_CLOUDINARY_CLOUD_NAME,
        apiKey: cloud.apiKey || environment.NEXT_PUBLIC_CLOUDINARY_API_KEY,
        uploadPreset: uploadPreset || environment.NEXT_PUBLIC_CLOUDINARY_UPLOAD_PRESET,
        signatureEndpoint,
        uploadPrefix: darkroomUrl,
        ...options,
      }, (failure, result) => {
        const { callbacks: current, onError: failed, onUpload: uploaded } = latest.current;
        const context = { widget: widget.current };
        if (failure) {
          setError(failure);
          if (failed) failed(failure, context);
          return;
        }
        if (result.event === "success") {
          setResults(result);
          if (uploaded) uploaded(result, context);
        }
        const name = EVENT_CALLBACKS[result.event];
        if (name && current[name]) current[name](result, context);
      });
      setLoading(false);
    }, (failure) => {
      if (cancelled) return;
      setError({ statusText: failure.message });
      setLoading(false);
    });
    return () => {
      cancelled = true;
      if (widget.current) widget.current.destroy();
      widget.current = null;
    };
    // The widget is made once per script, preset and endpoint; other option changes apply on open.
  }, [darkroomUrl, uploadPreset, signatureEndpoint]); // eslint-disable-line react-hooks/exhaustive-deps

  const open = useCallback((_widgetSource, changes) => {
    if (!widget.current) return;
    widget.current.update({ ...options, ...(changes || {}) });
    widget.current.open();
    if (onOpen) onOpen(widget.current);
  }, [options, onOpen]);
  const close = useCallback(() => widget.current && widget.current.close(), []);

  if (typeof children !== "function") return null;
  return children({ cloudinary: typeof window !== "undefined" ? window.cloudinary : undefined, widget: widget.current, open, close, results, error, isLoading });
}

export default CldUploadWidget;
