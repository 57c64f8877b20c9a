// Edits to JSON with comments (wrangler.jsonc, wrangler.json, package.json) that touch only the
// text they add: comments, blank lines, the indentation and the trailing-comma style of the rest
// of the file stay as they were. jsonc-parser finds the nodes; its own `modify` would reformat
// every line around an insertion (a one-line `"bindings": [{ ... }]` becomes eleven lines), so
// the insertion text is written here in the file's own style instead.
import { findNodeAtLocation, parseTree, type Node, type ParseError } from "jsonc-parser";

const WIDTH = 100;

/** Appends `item` to the array at `path`, creating the array (and objects above it) if absent. */
export function jsoncAppend(text: string, path: string[], item: unknown): string {
  const root = rootObject(text);
  const node = findNodeAtLocation(root, path);
  if (node === undefined) return addMissing(text, root, path, [item]);
  if (node.type !== "array") throw new Error(`${path.join(".")} is not an array`);
  return appendChild(text, node, null, item);
}

/** Sets `path` to `value`; the property must not exist yet. */
export function jsoncSet(text: string, path: string[], value: unknown): string {
  const root = rootObject(text);
  if (findNodeAtLocation(root, path) !== undefined) throw new Error(`${path.join(".")} exists`);
  return addMissing(text, root, path, value);
}

/**
 * Sets the property `key` of the object at `path` (created if absent), in alphabetical order
 * among its siblings when they already are (as npm and pnpm keep dependencies).
 */
export function jsoncSetSorted(text: string, path: string[], key: string, value: unknown): string {
  const root = rootObject(text);
  const node = findNodeAtLocation(root, path);
  if (node === undefined) return addMissing(text, root, [...path, key], value);
  if (node.type !== "object") throw new Error(`${path.join(".")} is not an object`);
  const keys = (node.children ?? []).map((p) => String(p.children?.[0]?.value));
  const sorted = keys.every((k, i) => i === 0 || (keys[i - 1] ?? "") <= k);
  const before = sorted ? (node.children ?? []).find((_, i) => (keys[i] ?? "") > key) : undefined;
  if (before === undefined) return appendChild(text, node, key, value);
  // Insert in front of `before`, in its own style.
  if (isSingleLine(text, node)) {
    return splice(text, before.offset, 0, `${JSON.stringify(key)}: ${compact(value)}, `);
  }
  const lineStart = text.lastIndexOf("\n", before.offset - 1) + 1;
  const indent = text.slice(lineStart, before.offset);
  if (indent.trim() !== "") {
    return splice(text, before.offset, 0, `${JSON.stringify(key)}: ${compact(value)}, `);
  }
  const formatted = formatValue(value, indent, unitOf(text), trailingCommas(text), indent.length);
  return splice(text, lineStart, 0, `${indent}${JSON.stringify(key)}: ${formatted},\n`);
}

/** Parses JSONC as wrangler does (comments and trailing commas allowed); throws on errors. */
export function parseJsonc(text: string, label: string): unknown {
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length > 0 || tree === undefined) {
    const at = errors[0]?.offset ?? 0;
    const line = text.slice(0, at).split("\n").length;
    throw new Error(`${label} is not valid JSON with comments (line ${line})`);
  }
  return valueOf(tree);
}

function valueOf(node: Node): unknown {
  switch (node.type) {
    case "object":
      return Object.fromEntries(
        (node.children ?? []).map((p) => [
          String(p.children?.[0]?.value),
          p.children?.[1] === undefined ? null : valueOf(p.children[1]),
        ]),
      );
    case "array":
      return (node.children ?? []).map(valueOf);
    default:
      return node.value as unknown;
  }
}

function rootObject(text: string): Node {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true });
  if (root === undefined || errors.length > 0 || root.type !== "object") {
    throw new Error("not a JSON object");
  }
  return root;
}

/** Adds the first missing key of `path` to the deepest object that exists, with `value` inside. */
function addMissing(text: string, root: Node, path: string[], value: unknown): string {
  let parent = root;
  let depth = 0;
  for (; depth < path.length; depth++) {
    const child = findNodeAtLocation(parent, [path[depth] ?? ""]);
    if (child === undefined) break;
    if (child.type !== "object") throw new Error(`${path.slice(0, depth + 1).join(".")} exists`);
    parent = child;
  }
  let nested = value;
  for (let i = path.length - 1; i > depth; i--) nested = { [path[i] ?? ""]: nested };
  return appendChild(text, parent, path[depth] ?? "", nested);
}

/** Appends an element (key null) or a property to `container`, after its last child. */
function appendChild(text: string, container: Node, key: string | null, value: unknown): string {
  const prefix = key === null ? "" : `${JSON.stringify(key)}: `;
  const children = container.children ?? [];
  const open = container.offset;
  const close = container.offset + container.length - 1;
  const unit = unitOf(text);
  const trailing = trailingCommas(text);
  const containerIndent = lineIndent(text, open);
  const last = children.at(-1);

  if (last === undefined) {
    const inner = text.slice(open + 1, close);
    if (inner.trim() === "") {
      const oneLine = `${prefix}${compact(value)}`;
      const column = open - (text.lastIndexOf("\n", open - 1) + 1);
      if (key === null && column + oneLine.length + 2 <= WIDTH) {
        return splice(text, open + 1, close - open - 1, oneLine);
      }
      const indent = containerIndent + unit;
      const at = indent.length + prefix.length;
      const body = formatValue(value, indent, unit, trailing, at, key !== null);
      const content = `\n${indent}${prefix}${body}${trailing ? "," : ""}\n${containerIndent}`;
      return splice(text, open + 1, close - open - 1, content);
    }
    // Only comments inside: add after the opening bracket, on a line of its own.
    const indent = containerIndent + unit;
    const body = formatValue(value, indent, unit, trailing, indent.length + prefix.length);
    return splice(text, open + 1, 0, `\n${indent}${prefix}${body}${trailing ? "," : ""}`);
  }

  const lastEnd = last.offset + last.length;
  if (isSingleLine(text, container)) {
    const added = `${text.slice(0, lastEnd)}, ${prefix}${compact(value)}${text.slice(lastEnd)}`;
    const lineEnd = added.indexOf("\n", lastEnd);
    const lineStart = added.lastIndexOf("\n", lastEnd) + 1;
    const fits = (lineEnd === -1 ? added.length : lineEnd) - lineStart <= WIDTH;
    if (fits || hasComment(text, open, close + 1) || key !== null) return added;
    // Too long for one line: one element per line, each existing one kept as written.
    const indent = containerIndent + unit;
    const items = [
      ...children.map((c) => text.slice(c.offset, c.offset + c.length)),
      formatValue(value, indent, unit, trailing, indent.length),
    ];
    const body = items.map((item) => `\n${indent}${item}`).join(",");
    return splice(
      text,
      open,
      close - open + 1,
      `[${body}${trailing ? "," : ""}\n${containerIndent}]`,
    );
  }

  // One child per line: the new one goes on a line after the last, with its indentation.
  const after = scanAfter(text, lastEnd);
  const lastLineStart = text.lastIndexOf("\n", last.offset - 1) + 1;
  const before = text.slice(lastLineStart, last.offset);
  const indent = before.trim() === "" ? before : containerIndent + unit;
  // A new property holding an object gets a line per key, as npm and the READMEs write them.
  const expand = key !== null;
  const body = formatValue(value, indent, unit, trailing, indent.length + prefix.length, expand);
  const line = `\n${indent}${prefix}${body}${after.comma ? "," : ""}`;
  let result = splice(text, after.insertAt, 0, line);
  if (!after.comma) result = splice(result, lastEnd, 0, ",");
  return result;
}

/** After a child: is there a comma, and where does its line end (after any comment on it)? */
function scanAfter(text: string, from: number): { comma: boolean; insertAt: number } {
  let i = from;
  let comma = false;
  let insertAt = from;
  for (;;) {
    const ch = text[i];
    if (ch === " " || ch === "\t") i++;
    else if (ch === "," && !comma) {
      comma = true;
      i++;
      insertAt = i;
    } else if (ch === "/" && text[i + 1] === "/") {
      const end = text.indexOf("\n", i);
      insertAt = end === -1 ? text.length : end;
      return { comma, insertAt: trimEndAt(text, insertAt) };
    } else if (ch === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      if (end === -1 || text.slice(i, end).includes("\n")) return { comma, insertAt };
      i = end + 2;
      insertAt = i;
    } else return { comma, insertAt };
  }
}

function trimEndAt(text: string, at: number): number {
  let i = at;
  while (i > 0 && (text[i - 1] === " " || text[i - 1] === "\t" || text[i - 1] === "\r")) i--;
  return i;
}

function isSingleLine(text: string, node: Node): boolean {
  return !text.slice(node.offset, node.offset + node.length).includes("\n");
}

function lineIndent(text: string, offset: number): string {
  const start = text.lastIndexOf("\n", offset - 1) + 1;
  return /^[ \t]*/.exec(text.slice(start))?.[0] ?? "";
}

/** The file's indentation unit: a tab, or the smallest indentation of an indented line. */
function unitOf(text: string): string {
  let smallest: string | null = null;
  for (const line of text.split("\n")) {
    const m = /^([ \t]+)["{[]/.exec(line);
    if (m?.[1] === undefined) continue;
    if (m[1].startsWith("\t")) return "\t";
    if (smallest === null || m[1].length < smallest.length) smallest = m[1];
  }
  return smallest ?? "  ";
}

/** Does the file end its multi-line objects and arrays with a comma (`},` before `]`)? */
function trailingCommas(text: string): boolean {
  let lastSignificant = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] ?? "";
    if (ch === '"') {
      i = stringEnd(text, i) - 1;
      lastSignificant = '"';
    } else if (ch === "/" && text[i + 1] === "/") {
      const end = text.indexOf("\n", i);
      i = end === -1 ? text.length : end;
    } else if (ch === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end === -1 ? text.length : end + 1;
    } else if (/\s/.test(ch)) continue;
    else {
      if ((ch === "}" || ch === "]") && lastSignificant === ",") return true;
      lastSignificant = ch;
    }
  }
  return false;
}

function hasComment(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    if (text[i] === '"') i = stringEnd(text, i) - 1;
    else if (text[i] === "/" && (text[i + 1] === "/" || text[i + 1] === "*")) return true;
  }
  return false;
}

function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === '"') return i + 1;
  }
  return text.length;
}

/** `{ "name": "A", "class_name": "B" }` and `["A"]`: one line, as formatters write short values. */
export function compact(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(compact).join(", ")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value);
    if (entries.length === 0) return "{}";
    return `{ ${entries.map(([k, v]) => `${JSON.stringify(k)}: ${compact(v)}`).join(", ")} }`;
  }
  return JSON.stringify(value);
}

/** One line if it fits in the width from `column`, else one child per line, recursively. */
function formatValue(
  value: unknown,
  indent: string,
  unit: string,
  trailing: boolean,
  column: number,
  expand = false,
): string {
  const oneLine = compact(value);
  const fits = column + oneLine.length + 1 <= WIDTH && !(expand && !Array.isArray(value));
  if (fits || typeof value !== "object" || value === null || oneLine.length <= 2) return oneLine;
  const inner = indent + unit;
  const end = trailing ? "," : "";
  if (Array.isArray(value)) {
    const items = value.map(
      (v) => `${inner}${formatValue(v, inner, unit, trailing, inner.length)}`,
    );
    return `[\n${items.join(",\n")}${end}\n${indent}]`;
  }
  const items = Object.entries(value).map(([k, v]) => {
    const key = `${JSON.stringify(k)}: `;
    return `${inner}${key}${formatValue(v, inner, unit, trailing, inner.length + key.length)}`;
  });
  return `{\n${items.join(",\n")}${end}\n${indent}}`;
}

function splice(text: string, at: number, remove: number, insert: string): string {
  return text.slice(0, at) + insert + text.slice(at + remove);
}
