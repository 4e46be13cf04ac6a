// Shared by the console pages: build DOM nodes from server values without ever parsing them as HTML.
"use strict";

// el("a", { href, text, class, style, ...attributes }, [children]): values go in as textContent / attributes.
function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null) continue;
    if (k === "text") node.textContent = v;
    else if (k === "class") node.className = v;
    else if (k === "style") node.style.cssText = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}
