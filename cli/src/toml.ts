// Edits to wrangler.toml that add lines and touch nothing else, so comments and layout stay.
// smol-toml parses (before, to plan; after, to check the edit meant what was planned), but its
// stringify would drop every comment, so the text is edited here. A layout these edits cannot
// extend safely (an inline `durable_objects = { bindings = [...] }`, a multi-line flags array)
// fails the check after the edit, and the CLI then prints the lines to add by hand.

/** Adds a `[[path]]` table with `entry`, after the last `[[path]]` table or at the end. */
export function tomlAppendTable(text: string, path: string[], entry: Record<string, unknown>) {
  return insertTable(text, `[[${path.map(tomlKey).join(".")}]]`, entry, path);
}

/** Adds a `[path]` table with `entry` (the table must not exist yet). */
export function tomlSetTable(text: string, path: string[], entry: Record<string, unknown>) {
  return insertTable(text, `[${path.map(tomlKey).join(".")}]`, entry, path);
}

/** Adds strings to a top-level array of strings written on one line, or creates it. */
export function tomlAddStrings(text: string, key: string, values: string[]): string {
  const lines = text.split("\n");
  const top = firstHeader(lines);
  const pattern = new RegExp(`^(\\s*${key}\\s*=\\s*\\[)(.*)(\\]\\s*(#.*)?)$`);
  for (let i = 0; i < top; i++) {
    const m = pattern.exec(lines[i] ?? "");
    if (m === null) continue;
    const inner = (m[2] ?? "").trimEnd();
    const added = values.map((v) => tomlValue(v)).join(", ");
    const joined = inner.trim() === "" ? added : `${inner.replace(/,\s*$/, "")}, ${added}`;
    lines[i] = `${m[1]}${joined}${m[3]}`;
    return lines.join("\n");
  }
  const line = `${key} = ${tomlValue(values)}`;
  const date = lines.slice(0, top).findIndex((l) => /^\s*compatibility_date\s*=/.test(l));
  if (date !== -1) lines.splice(date + 1, 0, line);
  else {
    let at = top;
    while (at > 0 && (lines[at - 1] ?? "").trim() === "") at--;
    lines.splice(at, 0, line);
  }
  return lines.join("\n");
}

/** The TOML lines for one table, for the output and for a hand edit. */
export function tomlTable(header: string, entry: Record<string, unknown>): string {
  const body = Object.entries(entry).map(([k, v]) => `${tomlKey(k)} = ${tomlValue(v)}`);
  return [header, ...body].join("\n");
}

function insertTable(text: string, header: string, entry: Record<string, unknown>, path: string[]) {
  const block = tomlTable(header, entry).split("\n");
  const lines = text.split("\n");
  const wanted = path.join(".");
  let lastSame = -1;
  for (let i = 0; i < lines.length; i++) {
    if (headerPath(lines[i] ?? "") === wanted) lastSame = i;
  }
  if (lastSame === -1) {
    while (lines.length > 0 && (lines.at(-1) ?? "").trim() === "") lines.pop();
    if (lines.length > 0) lines.push("");
    lines.push(...block, "");
    return lines.join("\n");
  }
  // The end of that table: the next header, less the blank and comment lines just above it
  // (those introduce the next table).
  let end = lastSame + 1;
  while (end < lines.length && headerPath(lines[end] ?? "") === null) end++;
  if (end < lines.length) {
    while (end > lastSame + 1 && /^\s*(#.*)?$/.test(lines[end - 1] ?? "")) end--;
  } else {
    while (end > lastSame + 1 && (lines[end - 1] ?? "").trim() === "") end--;
  }
  const next = lines[end];
  const insert = ["", ...block];
  if (next !== undefined && next.trim() !== "") insert.push("");
  lines.splice(end, 0, ...insert);
  return lines.join("\n");
}

/** "durable_objects.bindings" for `[[durable_objects.bindings]]`, null for a non-header line. */
function headerPath(line: string): string | null {
  const m = /^\s*\[\[?\s*([^[\]]+?)\s*\]\]?\s*(#.*)?$/.exec(line);
  if (m?.[1] === undefined) return null;
  return m[1]
    .split(".")
    .map((part) => part.trim().replace(/^["'](.*)["']$/, "$1"))
    .join(".");
}

function firstHeader(lines: string[]): number {
  const i = lines.findIndex((l) => headerPath(l) !== null);
  return i === -1 ? lines.length : i;
}

function tomlKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
}

export function tomlValue(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(tomlValue).join(", ")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).map(([k, v]) => `${tomlKey(k)} = ${tomlValue(v)}`);
    return `{ ${entries.join(", ")} }`;
  }
  // JSON's string escapes are all valid in a TOML basic string; numbers and booleans match.
  return JSON.stringify(value);
}
