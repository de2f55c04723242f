// The run panel: one request followed live (stage, step, progress, queue, ETA), its
// Cancel button, and at the end the video with its facts, or the error.

import { ApiError, post } from "./api.js";
import { el, show, text } from "./dom.js";
import { follow } from "./stream.js";

const $ = (id) => document.getElementById(id);

function seconds(value) {
  if (value === null || value === undefined) return "—";
  value = Math.max(0, value); // a clock skew of a millisecond is not "-0.0 s"
  return value < 10 ? `${value.toFixed(1)} s` : `${Math.round(value)} s`;
}

function bytes(value) {
  if (!value && value !== 0) return "—";
  if (value < 1024 * 1024) return `${(value / 1024).toFixed(1)} KB`;
  return `${(value / 1024 / 1024).toFixed(2)} MB`;
}

function detail(state) {
  const parts = [];
  if (state.stage) parts.push(state.stage);
  if (typeof state.progress === "number") parts.push(`${Math.round(state.progress * 100)}%`);
  if (state.steps) parts.push(`step ${state.step ?? 0}/${state.steps}`);
  if (state.status === "QUEUED" && typeof state.queue_position === "number") {
    parts.push(state.queue_position === 0 ? "next in the queue" : `${state.queue_position} ahead in the queue`);
  }
  if (typeof state.eta_seconds === "number" && state.status !== "COMPLETED" && state.status !== "FAILED") {
    parts.push(`about ${seconds(state.eta_seconds)} left`);
  }
  return parts.join(" · ");
}

function facts(result) {
  const video = result.video || {};
  const metrics = result.metrics || {};
  const rows = [
    ["Size", video.width ? `${video.width}×${video.height}, ${bytes(video.file_size)}` : "—"],
    ["Duration", video.duration !== undefined ? `${video.duration.toFixed(2)} s (${video.frame_count} frames at ${video.fps} fps)` : "—"],
    ["Audio", video.has_audio === undefined ? "—" : video.has_audio ? "yes" : "no"],
    ["Seed", result.seed ?? "—"],
    ["Cost", metrics.cost ?? result.cost ?? "—"],
    ["Queued", seconds(metrics.queue_time)],
    ["Generation", seconds(metrics.inference_time)],
    ["Total", seconds(metrics.total_time)],
  ];
  return rows.flatMap(([name, value]) => [el("dt", {}, name), el("dd", { "data-fact": name.toLowerCase() }, String(value))]);
}

export class RunPanel {
  constructor({ onEnd }) {
    this.onEnd = onEnd;
    this.requestId = null;
    this.watching = null;
    $("cancel").addEventListener("click", () => this.cancel());
  }

  // Follow request `id` of `model` from its current state (a new one, or one reopened).
  open(id, model) {
    this.watching?.abort();
    const watching = new AbortController();
    this.watching = watching;
    this.requestId = id;
    show($("run-empty"), false);
    show($("run-live"), true);
    show($("run-result"), false);
    show($("run-error"), false);
    const video = $("run-video");
    if (video.getAttribute("src")) {
      video.removeAttribute("src");
      video.load();
    }
    text($("run-model"), model);
    text($("run-id"), `request ${id}`);
    this.#state({ status: "QUEUED", stage: "connecting", progress: 0 });
    follow(id, {
      signal: watching.signal,
      onEvent: (name, body) => this.#event(name, body),
      onConnection: (state) => {
        if (state === "reconnecting") text($("run-detail"), "connection lost: reconnecting…");
      },
    }).catch((error) => {
      if (watching.signal.aborted) return;
      this.#fail(error instanceof ApiError ? error.message : String(error));
    });
  }

  // Stop following (signing out): the panel is empty again.
  close() {
    this.watching?.abort();
    this.watching = null;
    this.requestId = null;
    const video = $("run-video");
    if (video.getAttribute("src")) {
      video.removeAttribute("src");
      video.load();
    }
    show($("run-live"), false);
    show($("run-empty"), true);
  }

  #state(state) {
    const status = $("run-status");
    text(status, state.status);
    status.dataset.status = state.status;
    $("run-progress").value = typeof state.progress === "number" ? state.progress : 0;
    text($("run-detail"), detail(state));
    const live = state.status === "QUEUED" || state.status === "PROCESSING";
    show($("cancel"), live);
    $("cancel").disabled = false;
  }

  #event(name, body) {
    this.#state(body);
    if (name === "completed") this.#complete(body);
    if (name === "failed") this.#fail(body.error || "failed");
    if (name === "completed" || name === "failed") this.onEnd(body);
  }

  #complete(result) {
    const video = $("run-video");
    video.src = result.output;
    $("run-download").href = result.output;
    $("run-download").setAttribute("download", `${this.requestId}.mp4`);
    $("run-facts").replaceChildren(...facts(result));
    show($("run-result"), true);
  }

  #fail(message) {
    const status = $("run-status");
    text(status, "FAILED");
    status.dataset.status = "FAILED";
    show($("cancel"), false);
    text($("run-error"), message);
    show($("run-error"), true);
  }

  async cancel() {
    if (!this.requestId) return;
    $("cancel").disabled = true;
    try {
      await post(`/v2/requests/${encodeURIComponent(this.requestId)}/cancel`);
    } catch (error) {
      // 422: it ended FAILED by this call (a queued one) or before: the stream says so
      if (error instanceof ApiError && error.status === 422) return;
      $("cancel").disabled = false;
      text($("run-error"), `Cancel failed: ${error.message}`);
      show($("run-error"), true);
    }
  }
}
