// The current form as code: Python with the segmind SDK, and curl. The key is never
// printed: both read it from REELFORGE_API_KEY.

function python(value) {
  if (value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  return JSON.stringify(value); // a JSON string or number is a valid Python literal too
}

export function pythonSnippet(server, slug, body) {
  const params = Object.entries(body).map(([name, value]) => `    ${name}=${python(value)},\n`);
  return [
    "import os\n",
    "\n",
    "from segmind import SegmindClient\n",
    "\n",
    "client = SegmindClient(\n",
    '    api_key=os.environ["REELFORGE_API_KEY"],\n',
    `    base_url=${JSON.stringify(`${server}/v1`)},\n`,
    "    timeout=600,\n",
    ")\n",
    "result = client.submit_async(\n",
    `    ${JSON.stringify(slug)},\n`,
    ...params,
    ").wait()\n",
    'print(result["output"])\n',
  ].join("");
}

function shellQuote(text) {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

export function curlSnippet(server, slug, body) {
  return [
    `curl -X POST ${server}/v2/${slug} \\`,
    '  -H "x-api-key: $REELFORGE_API_KEY" \\',
    "  -H 'Content-Type: application/json' \\",
    `  -d ${shellQuote(JSON.stringify(body))}`,
  ].join("\n");
}
