// A media input (image_url, video_url, first_frame_url, last_frame_url): drop or choose
// a file, uploaded to POST /v1/files, or paste a URL; with a preview. A preview never
// loads anything from another host: the page talks to this server only.

import { ApiError, upload } from "./api.js";
import { el, icon } from "./dom.js";

const pending = new Set();

// Resolves once every upload under way has finished (successfully or not).
export function uploadsSettled() {
  return Promise.allSettled([...pending]);
}

function previewable(url) {
  if (url.startsWith("data:") || url.startsWith("blob:")) return true;
  try {
    return new URL(url, location.href).origin === location.origin;
  } catch {
    return false;
  }
}

export function mediaInput(field, id, changed) {
  const kind = field.media; // "image" or "video"
  const accept = kind === "video" ? "video/*" : "image/*";
  const url = el("input", {
    id, name: field.name, type: "url", spellcheck: "false", autocomplete: "off",
    placeholder: "https://… or data:…, or a file above",
  });
  const file = el("input", {
    type: "file", accept, class: "visually-hidden", tabindex: "-1",
    "aria-label": `${field.title}: file`, "data-file-for": field.name,
  });
  const choose = el("button", { type: "button" }, icon("upload"), ` Choose ${kind === "video" ? "a video" : "an image"}`);
  const drop = el("div", { class: "drop" }, el("span", { class: "muted" }, "Drop a file here or"), choose, file);
  const status = el("p", { class: "media-status", "aria-live": "polite" });
  const preview = el("div", { class: "preview" });
  const clear = el("button", { type: "button", class: "clear", hidden: true }, "Remove");
  let blobUrl = null;

  function showPreview(source, isVideo) {
    preview.replaceChildren();
    if (!source) return;
    if (!previewable(source)) {
      preview.append(el("p", { class: "muted" }, "No preview for URLs on other hosts."));
      return;
    }
    const media = isVideo
      ? el("video", { src: source, muted: true, controls: true, playsinline: true, preload: "metadata" })
      : el("img", { src: source, alt: `${field.title} preview` });
    media.classList.add("preview-media");
    media.dataset.previewFor = field.name;
    preview.append(media);
  }

  function forgetBlob() {
    if (blobUrl) URL.revokeObjectURL(blobUrl);
    blobUrl = null;
  }

  function setUrl(value, fromFile = false) {
    url.value = value || "";
    clear.hidden = !value;
    if (!fromFile) {
      forgetBlob();
      const isVideo = kind === "video" || value?.startsWith("data:video");
      showPreview(value, isVideo);
    }
  }

  async function take(chosen) {
    if (!chosen) return;
    forgetBlob();
    blobUrl = URL.createObjectURL(chosen);
    showPreview(blobUrl, chosen.type.startsWith("video/"));
    url.value = "";
    status.className = "media-status";
    status.textContent = `Uploading ${chosen.name}…`;
    const job = upload(chosen);
    pending.add(job);
    try {
      setUrl(await job, true);
      status.textContent = `Uploaded ${chosen.name}.`;
    } catch (error) {
      status.className = "media-status error";
      const why = error instanceof ApiError ? error.message : "the server could not be reached";
      status.textContent = `Upload failed: ${why}`;
    } finally {
      pending.delete(job);
      changed();
    }
  }

  choose.addEventListener("click", () => file.click());
  file.addEventListener("change", () => {
    take(file.files[0]);
    file.value = "";
  });
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
  }
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    take(event.dataTransfer.files[0]);
  });
  url.addEventListener("input", () => {
    status.textContent = "";
    setUrl(url.value.trim());
    changed();
  });
  clear.addEventListener("click", () => {
    status.textContent = "";
    setUrl("");
    changed();
    url.focus();
  });

  const row = el("div", { class: "media-url" }, url, clear);
  const element = el("div", { class: "media" }, drop, row, status, preview);
  return {
    element,
    focusable: url,
    get: () => url.value.trim() || null,
    set: (value) => {
      status.textContent = "";
      setUrl(value);
    },
  };
}
