// The account's recent requests (GET /v1/requests, newest first, `next` for more):
// a thumbnail, the model, the status; open one, or copy its parameters into its form.

import { ApiError, get } from "./api.js";
import { el, show, text } from "./dom.js";

const $ = (id) => document.getElementById(id);
const PAGE = 20;

function when(value) {
  if (value === null || value === undefined) return "";
  const ms = typeof value === "number" ? (value < 1e12 ? value * 1000 : value) : Date.parse(value);
  if (Number.isNaN(ms)) return String(value);
  return new Date(ms).toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

function summary(item) {
  const prompt = item.params?.prompt || "";
  return prompt.length > 80 ? `${prompt.slice(0, 79)}…` : prompt;
}

export class History {
  constructor({ onOpen, onReuse }) {
    this.onOpen = onOpen;
    this.onReuse = onReuse;
    this.next = null;
    $("history-more").addEventListener("click", () => this.load(this.next));
    $("history-refresh").addEventListener("click", () => this.load());
  }

  // The first page (after = null) replaces the list; a later one adds to it.
  async load(after = null) {
    const query = new URLSearchParams({ limit: String(PAGE) });
    if (after) query.set("after", after);
    show($("history-error"), false);
    let page;
    try {
      page = await get(`/v1/requests?${query}`);
    } catch (error) {
      text($("history-error"), `History unavailable: ${error instanceof ApiError ? error.message : error}`);
      show($("history-error"), true);
      return;
    }
    const items = page.requests.map((item) => this.#item(item));
    if (after) $("history").append(...items);
    else $("history").replaceChildren(...items);
    this.next = page.next;
    show($("history-more"), Boolean(page.next));
    show($("history-empty"), $("history").children.length === 0);
  }

  clear() {
    $("history").replaceChildren();
    this.next = null;
    show($("history-more"), false);
  }

  #item(item) {
    const thumb = item.thumbnail
      ? el("img", { class: "thumb", src: item.thumbnail, alt: "", loading: "lazy" })
      : el("span", { class: "thumb thumb-none", "aria-hidden": "true" }, "▶");
    const status = el("span", { class: "badge", "data-status": item.status }, item.status);
    const open = el("button", { type: "button", class: "history-open", "aria-label": `Open ${item.model} request ${item.request_id}, ${item.status}` },
      thumb,
      el("span", { class: "history-text" },
        el("span", { class: "history-line" }, el("strong", {}, item.model), " ", status),
        el("span", { class: "history-prompt" }, summary(item)),
        el("span", { class: "muted small" }, when(item.created_at)),
        item.error ? el("span", { class: "error small" }, item.error) : ""),
    );
    open.addEventListener("click", () => this.onOpen(item));
    const reuse = el("button", { type: "button", class: "history-reuse" }, "Use settings");
    reuse.addEventListener("click", () => this.onReuse(item));
    return el("li", { "data-request-id": item.request_id, "data-status": item.status }, open, reuse);
  }
}
