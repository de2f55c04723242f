// The playground: sign in, one form per model (from /openapi.json), run and watch a
// request, the history, and the code for the current form.

import { ApiError, get, key, openapi, post } from "./api.js";
import { el, show, text } from "./dom.js";
import { ModelForm } from "./form.js";
import { History } from "./history.js";
import { uploadsSettled } from "./media.js";
import { RunPanel } from "./run.js";
import { models as readModels } from "./schema.js";
import { curlSnippet, pythonSnippet } from "./snippet.js";

const $ = (id) => document.getElementById(id);
const SERVER = location.origin;

const state = { models: [], forms: {}, current: null };
const run = new RunPanel({ onEnd: () => { refreshCredits(); recent.load(); } });
const recent = new History({
  onOpen: (item) => {
    run.open(item.request_id, item.model);
    reveal($("run"));
  },
  onReuse: (item) => {
    if (!state.forms[item.model]) return;
    choose(item.model);
    state.forms[item.model].fill(item.params);
    reveal($("model-heading"));
  },
});

function reveal(node) {
  const top = node.getBoundingClientRect().top;
  if (top < 0 || top > window.innerHeight * 0.8) node.scrollIntoView({ block: "start" });
}

// --- signing in ---------------------------------------------------------------------

function credits(body) {
  const value = body.credits;
  return value === null || value === undefined ? "unlimited" : Number(value).toLocaleString();
}

async function refreshCredits() {
  try {
    text($("credits"), credits(await get("/v1/get-user-credits")));
  } catch {
    // the last balance stays shown: the next call will say what is wrong
  }
}

async function signIn(candidate) {
  const error = $("signin-error");
  show(error, false);
  let body;
  try {
    body = await get("/v1/get-user-credits", candidate);
  } catch (failure) {
    const unknown = failure instanceof ApiError && failure.status === 401;
    text(error, unknown ? "Wrong key: this server does not know that API key." : `Cannot sign in: ${failure.message}`);
    show(error, true);
    $("api-key").focus();
    return;
  }
  key.set(candidate);
  text($("credits"), credits(body));
  show($("signin"), false);
  show($("welcome"), false);
  show($("account"), true);
  show($("app"), true);
  if (!state.models.length) {
    try {
      await loadModels();
    } catch (failure) {
      text($("form-error"), `Cannot read the models from /openapi.json: ${failure.message}`);
      show($("form-error"), true);
    }
  }
  recent.load();
}

function forget() {
  key.forget();
  run.close();
  recent.clear();
  $("api-key").value = "";
  show($("account"), false);
  show($("app"), false);
  show($("signin"), true);
  show($("welcome"), true);
  $("api-key").focus();
}

// --- the models' forms --------------------------------------------------------------

async function loadModels() {
  state.models = readModels(await openapi());
  const buttons = state.models.map((model) => {
    const button = el("button", { type: "button", "aria-pressed": "false", "data-model": model.slug }, model.slug);
    button.addEventListener("click", () => choose(model.slug));
    return button;
  });
  $("models").replaceChildren(...buttons);
  for (const model of state.models) {
    const box = el("div", { class: "model-fields", "data-model": model.slug, hidden: true });
    $("model-form").append(box);
    state.forms[model.slug] = new ModelForm(box, model, updateCode);
  }
  choose(state.models[0].slug);
}

function choose(slug) {
  state.current = slug;
  for (const button of $("models").children) {
    button.setAttribute("aria-pressed", String(button.dataset.model === slug));
  }
  for (const box of $("model-form").children) box.hidden = box.dataset.model !== slug;
  const model = state.models.find((m) => m.slug === slug);
  text($("model-description"), model.description);
  show($("form-error"), false);
  updateCode();
}

function updateCode() {
  const form = state.forms[state.current];
  if (!form) return;
  const body = form.body();
  text($("code-python"), pythonSnippet(SERVER, state.current, body));
  text($("code-curl"), curlSnippet(SERVER, state.current, body));
}

async function submit(event) {
  event.preventDefault();
  const slug = state.current;
  const form = state.forms[slug];
  const error = $("form-error");
  const button = $("submit");
  show(error, false);
  button.disabled = true;
  try {
    await uploadsSettled();
    if (!form.validate()) {
      text(error, "Some fields need attention (marked above).");
      show(error, true);
      return;
    }
    let answer;
    try {
      answer = await post(`/v2/${slug}`, form.body());
    } catch (failure) {
      const atField = failure instanceof ApiError && failure.status === 400 && form.serverError(failure.message);
      text(error, atField ? "The server refused a field (marked above)." : failure.message);
      show(error, true);
      return;
    }
    run.open(answer.request_id, slug);
    reveal($("run"));
    recent.load();
    refreshCredits();
  } finally {
    button.disabled = false;
  }
}

// --- copying code -------------------------------------------------------------------

async function copy(button) {
  const source = $(button.dataset.copy);
  const value = source.textContent;
  try {
    await navigator.clipboard.writeText(value);
  } catch {
    // no clipboard API (a plain-http host other than localhost): copy the selection
    const range = document.createRange();
    range.selectNodeContents(source);
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    document.execCommand("copy");
  }
  text(button, "Copied");
  setTimeout(() => text(button, "Copy"), 2000);
}

// --- start --------------------------------------------------------------------------

$("signin").addEventListener("submit", (event) => {
  event.preventDefault();
  const candidate = $("api-key").value.trim();
  if (candidate) signIn(candidate);
});
$("forget-key").addEventListener("click", forget);
// the code stays folded on a phone, under the form; open on a wide screen
$("code-card").open = matchMedia("(min-width: 861px)").matches;
$("model-form").addEventListener("submit", submit);
for (const button of document.querySelectorAll("button.copy")) {
  button.addEventListener("click", () => copy(button));
}
if (key.get()) {
  $("api-key").value = key.get();
  signIn(key.get());
} else {
  $("api-key").focus();
}
