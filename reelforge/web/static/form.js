// One model's form: a control per field of its schema, defaults filled in, the field's
// own rules and the model's cross-field rules shown at the field as the user types.

import { el, icon } from "./dom.js";
import { mediaInput } from "./media.js";
import { crossFieldErrors, fieldErrors } from "./schema.js";

const ROWS = { prompt: 4 };

function same(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

function randomSeed(base) {
  const low = base.minimum ?? 0;
  const high = base.maximum ?? 2147483647;
  const span = high - low + 1;
  const draw = crypto.getRandomValues(new Uint32Array(1))[0];
  return low + (draw % span);
}

function hint(field) {
  const { base } = field;
  if (field.kind === "seed") {
    const range = `${base.minimum ?? 0}–${base.maximum ?? ""}`;
    return field.nullable ? `${range}; empty: the server picks one` : range;
  }
  if (field.kind === "number" && base.minimum !== undefined) {
    return `${base.minimum}–${base.maximum} ${field.name === "duration" ? "s" : ""}`.trim();
  }
  if (field.kind === "media") {
    return field.media === "video" ? "a video: drop, choose or paste a URL" : "an image: drop, choose or paste a URL";
  }
  return "";
}

// A control for one field: {element, focusable, get(), set(value)}.
function control(field, id, changed) {
  const { base } = field;
  if (field.kind === "select") {
    const select = el("select", { id, name: field.name });
    if (field.nullable) select.append(el("option", { value: "" }, "none"));
    for (const choice of base.enum) select.append(el("option", { value: String(choice) }, String(choice)));
    select.addEventListener("change", changed);
    return {
      element: select,
      focusable: select,
      get: () => (select.value === "" ? null : base.enum.find((c) => String(c) === select.value)),
      set: (value) => { select.value = value === null ? "" : String(value); },
    };
  }
  if (field.kind === "switch") {
    const box = el("input", { id, name: field.name, type: "checkbox", role: "switch", class: "switch" });
    const state = el("span", { class: "switch-state", "aria-hidden": "true" });
    const sync = () => { state.textContent = box.checked ? "on" : "off"; };
    box.addEventListener("change", () => { sync(); changed(); });
    const set = (value) => { box.checked = Boolean(value); sync(); };
    return { element: el("div", { class: "switch-row" }, box, state), focusable: box, get: () => box.checked, set };
  }
  if (field.kind === "number" || field.kind === "seed") {
    const input = el("input", {
      id, name: field.name, type: "number", inputmode: "numeric",
      step: base.type === "integer" ? "1" : "any",
      min: base.minimum ?? "", max: base.maximum ?? "",
    });
    input.addEventListener("input", changed);
    const get = () => {
      if (input.value === "") return input.validity.badInput ? "?" : null;
      return Number(input.value);
    };
    const set = (value) => { input.value = value === null || value === undefined ? "" : String(value); };
    if (field.kind !== "seed") return { element: input, focusable: input, get, set };
    const dice = el("button", { type: "button", class: "dice", title: "Random seed" },
      icon("dice"), el("span", { class: "visually-hidden" }, "Random seed"));
    dice.addEventListener("click", () => { set(randomSeed(base)); changed({ target: input }); });
    return { element: el("div", { class: "seed" }, input, dice), focusable: input, get, set };
  }
  if (field.kind === "media") {
    const media = mediaInput(field, id, changed);
    return { element: media.element, focusable: media.focusable, get: media.get, set: media.set };
  }
  const multi = field.kind === "textarea";
  const input = multi
    ? el("textarea", { id, name: field.name, rows: String(ROWS[field.name] || 2) })
    : el("input", { id, name: field.name, type: "text" });
  if (base.maxLength) input.maxLength = base.maxLength;
  input.addEventListener("input", changed);
  return {
    element: input,
    focusable: input,
    get: () => (input.value === "" && field.nullable ? null : input.value),
    set: (value) => { input.value = value ?? ""; },
  };
}

export class ModelForm {
  constructor(form, model, onChange) {
    this.form = form;
    this.model = model;
    this.onChange = onChange;
    this.touched = new Set();
    this.serverErrors = {};
    this.submitted = false;
    this.controls = {};
    this.errorNodes = {};
    form.replaceChildren();
    for (const field of model.fields) this.#add(field);
    this.reset();
  }

  #add(field) {
    const id = `f-${this.model.slug}-${field.name}`;
    const changed = () => {
      this.touched.add(field.name);
      delete this.serverErrors[field.name];
      this.check();
      this.onChange();
    };
    const made = control(field, id, changed);
    const error = el("p", { class: "field-error", id: `${id}-error`, "aria-live": "polite" });
    const help = hint(field);
    const helpNode = help ? el("p", { class: "hint", id: `${id}-hint` }, help) : null;
    made.focusable.setAttribute("aria-describedby", `${id}-error${helpNode ? ` ${id}-hint` : ""}`);
    if (field.required) made.focusable.required = true;
    const label = el("label", { for: id }, field.title, field.required ? el("span", { class: "req" }, " *") : "");
    const box = el("div", { class: `field field-${field.kind}`, "data-field": field.name });
    // a media field's hint comes first: it says what the drop zone below is for
    if (field.kind === "media") box.append(label, ...(helpNode ? [helpNode] : []), made.element);
    else box.append(label, made.element, ...(helpNode ? [helpNode] : []));
    box.append(error);
    this.form.append(box);
    this.controls[field.name] = made;
    this.errorNodes[field.name] = error;
  }

  // Every field's value: the default where untouched, null for an empty optional field.
  values() {
    return Object.fromEntries(this.model.fields.map((f) => [f.name, this.controls[f.name].get()]));
  }

  // The JSON body to submit: the values that differ from their defaults.
  body() {
    const body = {};
    for (const field of this.model.fields) {
      const value = this.controls[field.name].get();
      if (value === null || same(value, field.default)) continue;
      body[field.name] = value;
    }
    return body;
  }

  reset() {
    for (const field of this.model.fields) this.controls[field.name].set(field.default);
    this.touched.clear();
    this.serverErrors = {};
    this.submitted = false;
    this.check();
  }

  // Fill the form from a request's parameters (unknown names are ignored).
  fill(params) {
    this.reset();
    for (const [name, value] of Object.entries(params || {})) {
      if (this.controls[name]) this.controls[name].set(value);
    }
    this.check();
    this.onChange();
  }

  // Show what is wrong now; true when nothing is.
  check() {
    const values = this.values();
    const own = fieldErrors(this.model, values);
    const cross = crossFieldErrors(this.model, values);
    let ok = true;
    for (const field of this.model.fields) {
      const name = field.name;
      const seen = this.submitted || this.touched.has(name);
      const rule = cross[name];
      let message = this.serverErrors[name] || "";
      if (!message && own[name]) message = own[name];
      if (!message && rule) message = rule.message;
      if (own[name] || rule) ok = false;
      const shown = this.serverErrors[name] || (message && (seen || rule?.conditional)) ? message : "";
      this.#show(name, shown);
    }
    return ok;
  }

  #show(name, message) {
    const node = this.errorNodes[name];
    node.textContent = message;
    const control = this.controls[name].focusable;
    if (message) control.setAttribute("aria-invalid", "true");
    else control.removeAttribute("aria-invalid");
  }

  // Before a submit: every rule counts; focus the first field in error.
  validate() {
    this.submitted = true;
    const ok = this.check();
    if (!ok) this.focusFirstError();
    return ok;
  }

  focusFirstError() {
    const first = this.model.fields.find((f) => this.errorNodes[f.name].textContent);
    if (first) this.controls[first.name].focusable.focus();
  }

  // The server's 400 names its field first ("duration: ..."); true when shown at a field.
  serverError(message) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.*)$/s.exec(message);
    if (!match || !this.controls[match[1]]) return false;
    this.serverErrors[match[1]] = message;
    this.check();
    this.controls[match[1]].focusable.focus();
    return true;
  }
}
