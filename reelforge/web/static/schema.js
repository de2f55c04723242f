// The models' parameter schemas from /openapi.json, read into form fields, and the
// JSON Schema subset they use (types, enum, const, ranges, patterns, if/then under allOf)
// checked in the browser so that a mistake shows while the user types.

const MEDIA = /data:\(image\|video\)/; // the pattern the server gives media URL fields

// One model per `POST /v2/{slug}` path whose body is components.schemas[slug].
export function models(doc) {
  const found = [];
  for (const [path, item] of Object.entries(doc.paths || {})) {
    const match = /^\/v2\/([a-z0-9-]+)$/.exec(path);
    const schema = match && doc.components?.schemas?.[match[1]];
    if (!schema || !item.post) continue;
    found.push({
      slug: match[1],
      description: item.post.description || "",
      schema,
      fields: fields(schema),
    });
  }
  return found;
}

// A nullable field is `anyOf: [<schema>, {"type": "null"}]`: the schema and nullable.
export function unwrap(schema) {
  const options = schema.anyOf || [];
  const value = options.find((option) => option.type !== "null");
  if (value && options.some((option) => option.type === "null")) {
    return { base: { ...schema, ...value, anyOf: undefined }, nullable: true };
  }
  return { base: schema, nullable: false };
}

function kindOf(name, base) {
  if (base.type === "string" && base.format === "uri" && MEDIA.test(base.pattern || "")) {
    return "media";
  }
  if (base.enum) return "select";
  if (base.type === "boolean") return "switch";
  if (base.type === "integer" || base.type === "number") return name === "seed" ? "seed" : "number";
  if (base.type === "string" && (base.maxLength || 0) >= 1000) return "textarea";
  return "text";
}

const ACRONYMS = { Url: "URL", Tts: "TTS", Id: "ID" };

// "Lip Sync Tts Speaker Id" -> "Lip sync TTS speaker ID"; "Lip Sync Switch" -> "Lip sync"
function label(title, isSwitch) {
  const words = title.split(" ");
  if (isSwitch && words.length > 1 && words.at(-1) === "Switch") words.pop();
  return words
    .map((word, i) => ACRONYMS[word] || (i === 0 ? word : word.toLowerCase()))
    .join(" ");
}

function fields(schema) {
  const required = new Set(schema.required || []);
  return Object.entries(schema.properties || {}).map(([name, property]) => {
    const { base, nullable } = unwrap(property);
    return {
      name,
      title: label(property.title || name, base.type === "boolean"),
      schema: property,
      base,
      nullable,
      required: required.has(name),
      default: property.default ?? null,
      kind: kindOf(name, base),
      media: /video/.test(name) ? "video" : "image",
    };
  });
}

// --- checking values -------------------------------------------------------------

const TYPE_PROBLEM = {
  integer: "must be a whole number",
  number: "must be a number",
  string: "must be text",
  boolean: "must be on or off",
};

function typeOf(value) {
  if (value === null) return "null";
  if (Number.isInteger(value)) return "integer";
  return typeof value;
}

function hasType(value, type) {
  const types = Array.isArray(type) ? type : [type];
  const actual = typeOf(value);
  return types.some((t) => t === actual || (t === "number" && actual === "integer"));
}

function regex(pattern) {
  try {
    return new RegExp(pattern, "u");
  } catch {
    return new RegExp(pattern);
  }
}

function show(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

// The problems of one value against one (property) schema, as short phrases.
export function problems(schema, value) {
  const found = [];
  if (schema.anyOf) {
    const each = schema.anyOf.map((option) => problems(option, value));
    if (!each.some((list) => list.length === 0)) {
      // the non-null option's reasons say most, when the value is not null
      const useful = each.find((list, i) => schema.anyOf[i].type !== "null") || each[0];
      found.push(...useful);
    }
  }
  if (schema.type && !hasType(value, schema.type)) {
    found.push(value === null || value === "" ? "is required" : TYPE_PROBLEM[schema.type] || "is not valid");
    return found;
  }
  if ("const" in schema && value !== schema.const) found.push(`must be ${show(schema.const)}`);
  if (schema.enum && !schema.enum.includes(value)) {
    // a null in a rule's enum is "not sent, so the default": no choice to offer a user
    const choices = schema.enum.filter((choice) => choice !== null);
    found.push(
      choices.length === 1
        ? `must be ${show(choices[0])}`
        : `must be one of ${choices.map(show).join(", ")}`,
    );
  }
  if (schema.not && problems(schema.not, value).length === 0) found.push(negate(schema.not));
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) {
      found.push(`must be at least ${schema.minimum}`);
    }
    if (schema.maximum !== undefined && value > schema.maximum) {
      found.push(`must be at most ${schema.maximum}`);
    }
  }
  if (typeof value === "string") {
    if (schema.minLength && value.length < schema.minLength) found.push("is required");
    else if (schema.maxLength !== undefined && value.length > schema.maxLength) {
      found.push(`must be at most ${schema.maxLength} characters`);
    } else if (schema.format === "uri") {
      // the server checks URLs in full (its schema's pattern is narrower than what it
      // accepts: it allows no 5-digit port); here only the scheme is checked
      if (!/^(https?:\/\/\S|data:(image|video)\/)/.test(value)) {
        found.push("must be an http(s) URL or a data: URL");
      }
    } else if (schema.pattern && !regex(schema.pattern).test(value)) {
      found.push(patternProblem(schema, value));
    }
  }
  return found;
}

function negate(schema) {
  if ("const" in schema) return `cannot be ${show(schema.const)}`;
  if (schema.type === "null") return "is required";
  return "is not allowed here";
}

function patternProblem(schema, value) {
  if (value.trim() === "") return "cannot be blank";
  return "has characters that are not allowed";
}

// Whether `values` satisfy an object schema's `required` and `properties` (an `if`).
function matches(schema, values) {
  if ((schema.required || []).some((name) => !(name in values))) return false;
  return Object.entries(schema.properties || {}).every(
    ([name, property]) => !(name in values) || problems(property, values[name]).length === 0,
  );
}

// "Quality" -> "quality" inside a sentence; "URL" stays
function lowerFirst(title) {
  return /^[A-Z][a-z]/.test(title) ? title[0].toLowerCase() + title.slice(1) : title;
}

function describe(condition, titles) {
  const parts = Object.entries(condition.properties || {}).map(([name, property]) => {
    const title = lowerFirst(titles[name] || name);
    if (property.const === true) return `${title} is on`;
    if (property.const === false) return `${title} is off`;
    if ("const" in property) return `${title} is ${show(property.const)}`;
    if (property.not?.type === "null") return `${title} is set`;
    return title;
  });
  return parts.join(" and ");
}

// What one object schema (a `then`, or an unconditional rule) finds wrong: {field: phrase}.
function breaches(schema, values) {
  const found = {};
  for (const name of schema.required || []) {
    if (!(name in values) || values[name] === null) found[name] = "is required";
  }
  for (const [name, property] of Object.entries(schema.properties || {})) {
    if (!(name in values) || found[name]) continue;
    const list = problems(property, values[name]);
    if (list.length) found[name] = list[0];
  }
  return found;
}

// The cross-field rules of a model (`allOf`) against the form's values (defaults filled
// in, null for an empty optional field): {field: {message, conditional}}, e.g.
// "Duration must be 5 when Quality is 1080p." (conditional: an `if` rule tripped).
export function crossFieldErrors(model, values) {
  const titles = Object.fromEntries(model.fields.map((f) => [f.name, f.title]));
  const errors = {};
  for (const rule of model.schema.allOf || []) {
    let found;
    let when = "";
    if (rule.if) {
      if (!matches(rule.if, values)) continue;
      found = breaches(rule.then || {}, values);
      when = ` when ${describe(rule.if, titles)}`;
    } else {
      found = breaches(rule, values);
    }
    for (const [name, phrase] of Object.entries(found)) {
      const message = `${titles[name] || name} ${phrase}${when}.`;
      errors[name] ??= { message, conditional: Boolean(rule.if) };
    }
  }
  return errors;
}

// Each field's own schema against its value: {field: "Prompt is required."}.
export function fieldErrors(model, values) {
  const errors = {};
  for (const field of model.fields) {
    const value = values[field.name];
    if (value === null && !field.required && field.nullable) continue;
    if (value === undefined) continue;
    const list = problems(field.schema, value);
    if (list.length) errors[field.name] = `${field.title} ${list[0]}.`;
  }
  return errors;
}
