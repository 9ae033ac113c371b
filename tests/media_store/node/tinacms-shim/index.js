// The two things next-tinacms-cloudinary takes from tinacms, as tinacms 3.x documents them.
export const DEFAULT_MEDIA_UPLOAD_TYPES = "text/*,application/pdf,application/octet-stream,application/json,image/*,video/*";

// tinacms's sanitizeFilename: NFC, no path, whitespace runs to "-", control characters
// dropped, < > : " | ? * # % & to "-", "-" runs collapsed, "." and "-" trimmed from the
// base, base capped at 200 characters, "file" when empty; the extension is kept.
export function sanitizeFilename(name) {
  const plain = name.normalize("NFC").split(/[\\/]/).pop();
  const dot = plain.lastIndexOf(".");
  const ext = dot > 0 ? plain.slice(dot) : "";
  let base = dot > 0 ? plain.slice(0, dot) : plain;
  base = base.replace(/\s+/g, "-").replace(/[\u0000-\u001f\u007f]/g, "").replace(/[<>:"|?*#%&]/g, "-");
  base = base.replace(/-+/g, "-").replace(/^[.-]+|[.-]+$/g, "").slice(0, 200);
  return (base || "file") + ext;
}
