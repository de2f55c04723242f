// Calls to this server, with the signed-in key. Every error answer is {"error": "..."}.

const KEY_STORAGE = "reelforge.apiKey";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export const key = {
  get: () => localStorage.getItem(KEY_STORAGE) || "",
  set: (value) => localStorage.setItem(KEY_STORAGE, value),
  forget: () => localStorage.removeItem(KEY_STORAGE),
};

export function headers(apiKey = key.get(), extra = {}) {
  return { "x-api-key": apiKey, ...extra };
}

async function answer(response) {
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message = (body && body.error) || `HTTP ${response.status}`;
    throw new ApiError(response.status, message);
  }
  return body;
}

export async function get(path, apiKey) {
  return answer(await fetch(path, { headers: headers(apiKey) }));
}

export async function post(path, body) {
  const init = { method: "POST", headers: headers() };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  return answer(await fetch(path, init));
}

export async function upload(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  const body = await answer(
    await fetch("/v1/files", { method: "POST", headers: headers(), body: form }),
  );
  return body.file_urls[0];
}

export async function openapi() {
  return answer(await fetch("/openapi.json"));
}
