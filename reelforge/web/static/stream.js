// Following GET /v2/requests/{id}/stream with fetch() (EventSource cannot send the
// x-api-key header): server-sent event frames parsed by hand, and a dropped connection
// resumed with Last-Event-ID, as `reelforge watch` does.

import { ApiError, headers } from "./api.js";

const BACKOFF_MS = [1000, 2000, 4000, 5000];
const MAX_TRIES = 5; // reconnections in a row without an event
const SILENCE_MS = 60000; // no byte for this long (pings come every 15 s): a drop
const TERMINAL = new Set(["completed", "failed"]);

// Splits a text/event-stream into events {event, data, id}; comments (": ping") are
// dropped; `retry` fields go to onRetry.
export class FrameParser {
  constructor(onEvent, onRetry = () => {}) {
    this.onEvent = onEvent;
    this.onRetry = onRetry;
    this.buffer = "";
    this.lastId = null;
    this.#clear();
  }

  #clear() {
    this.event = "";
    this.data = [];
    this.id = null;
  }

  push(chunk) {
    this.buffer += chunk;
    const lines = this.buffer.split(/\r\n|\r|\n/);
    // a lone trailing "\r" may be half of "\r\n": keep it with the unfinished line
    this.buffer = lines.pop();
    for (const line of lines) this.#line(line);
  }

  #line(line) {
    if (line === "") {
      if (this.id !== null) this.lastId = this.id;
      if (this.data.length) {
        this.onEvent({ event: this.event || "message", data: this.data.join("\n"), id: this.lastId });
      }
      this.#clear();
      return;
    }
    if (line.startsWith(":")) return; // a comment: the keep-alive
    const colon = line.indexOf(":");
    const name = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (name === "event") this.event = value;
    else if (name === "data") this.data.push(value);
    else if (name === "id" && !value.includes("\0")) this.id = value;
    else if (name === "retry" && /^\d+$/.test(value)) this.onRetry(Number(value));
  }
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

// Calls onEvent(name, body) for each event until the request ends (the `completed` or
// `failed` event, or a 204: the end was seen already) or `signal` aborts. Calls
// onConnection(state) with "connected" / "reconnecting". Rejects with ApiError on an
// error answer (401, 404, ...), or when the stream stays unreachable.
export async function follow(requestId, { onEvent, onConnection = () => {}, signal }) {
  const url = `/v2/requests/${encodeURIComponent(requestId)}/stream`;
  let lastId = null;
  let retryMs = null;
  let tries = 0;
  for (;;) {
    if (signal.aborted) return;
    let ended = false;
    let sawEvent = false;
    const parser = new FrameParser(
      ({ event, data, id }) => {
        sawEvent = true;
        lastId = id;
        let body;
        try {
          body = JSON.parse(data);
        } catch {
          return; // not ours: ignore
        }
        onEvent(event, body);
        if (TERMINAL.has(event)) ended = true;
      },
      (ms) => { retryMs = ms; },
    );
    parser.lastId = lastId;
    const extra = { Accept: "text/event-stream" };
    if (lastId !== null) extra["Last-Event-ID"] = lastId;
    const connection = new AbortController();
    const stop = () => connection.abort();
    signal.addEventListener("abort", stop, { once: true });
    let silence = null;
    try {
      const response = await fetch(url, { headers: headers(undefined, extra), signal: connection.signal, cache: "no-store" });
      if (response.status === 204) return;
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        throw new ApiError(response.status, body.error || `HTTP ${response.status}`);
      }
      onConnection("connected");
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      const quiet = () => {
        clearTimeout(silence);
        silence = setTimeout(stop, SILENCE_MS);
      };
      quiet();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        quiet();
        parser.push(value);
        if (ended) {
          connection.abort();
          return;
        }
      }
    } catch (error) {
      if (error instanceof ApiError) throw error;
      if (signal.aborted) return;
      // a network error or a silent connection: reconnect below
    } finally {
      clearTimeout(silence);
      signal.removeEventListener("abort", stop);
    }
    if (ended || signal.aborted) return;
    tries = sawEvent ? 1 : tries + 1;
    if (tries > MAX_TRIES) throw new ApiError(0, "the stream could not be reached");
    onConnection("reconnecting");
    await sleep(retryMs ?? BACKOFF_MS[Math.min(tries, BACKOFF_MS.length) - 1], signal);
  }
}
