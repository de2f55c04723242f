// Building elements without innerHTML: el("p", {class: "x"}, "text", child).

const SVG = "http://www.w3.org/2000/svg";

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === "") continue;
    node.append(child);
  }
  return node;
}

const ICONS = {
  // a die showing five
  dice: [
    ["rect", { x: 3, y: 3, width: 18, height: 18, rx: 4, fill: "none", stroke: "currentColor", "stroke-width": 2 }],
    ...[[8, 8], [16, 8], [12, 12], [8, 16], [16, 16]].map(([cx, cy]) => ["circle", { cx, cy, r: 1.6, fill: "currentColor" }]),
  ],
  upload: [
    ["path", { d: "M12 16V4m0 0-5 5m5-5 5 5M4 20h16", fill: "none", stroke: "currentColor", "stroke-width": 2, "stroke-linecap": "round", "stroke-linejoin": "round" }],
  ],
};

export function icon(name) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "20");
  svg.setAttribute("height", "20");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  for (const [tag, attributes] of ICONS[name]) {
    const shape = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attributes)) shape.setAttribute(key, String(value));
    svg.append(shape);
  }
  return svg;
}

export function show(node, visible) {
  node.hidden = !visible;
}

export function text(node, value) {
  node.textContent = value ?? "";
}
