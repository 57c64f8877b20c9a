// The Worker's main module: does it export the pattern's classes, and does it have a default
// export? Read with regular expressions over the source with its comments blanked out, which is
// enough for import and export statements (they are top-level, one grammar, no nesting).

export interface MainModuleEdit {
  /** The new text, or null when every name is already exported. */
  text: string | null;
  /** The export line added, if any. */
  line: string | null;
  /** Names already exported from somewhere else than the pattern's folder (warned, left as is). */
  exportedElsewhere: { name: string; from: string }[];
  hasDefaultExport: boolean;
}

/** Adds `export { A, B } from "<specifier>";` for the names the module does not export yet. */
export function editMainModule(text: string, names: string[], specifier: string): MainModuleEdit {
  const code = blankComments(text);
  const exported = exportedNames(code);
  const ours = normalize(specifier);
  const missing: string[] = [];
  const exportedElsewhere: { name: string; from: string }[] = [];
  const starFromOurs = [...code.matchAll(/export\s*\*\s*from\s*["']([^"']+)["']/g)].some(
    (m) => normalize(m[1] ?? "") === ours,
  );
  for (const name of names) {
    const from = exported.get(name);
    if (from === undefined) {
      if (!starFromOurs) missing.push(name);
    } else if (normalize(from) !== ours) exportedElsewhere.push({ name, from });
  }
  const hasDefaultExport =
    /\bexport\s+default\b/.test(code) ||
    /\bexport\s*\{[^}]*\b(as\s+default|default)\b[^}]*\}/.test(code);
  if (missing.length === 0) return { text: null, line: null, exportedElsewhere, hasDefaultExport };
  const line = `export { ${missing.join(", ")} } from "${specifier}";`;
  return { text: insertLine(text, code, line), line, exportedElsewhere, hasDefaultExport };
}

/** Exported name -> where it comes from (a module specifier, or "(this module)"). */
function exportedNames(code: string): Map<string, string> {
  const imports = new Map<string, string>();
  for (const m of code.matchAll(/\bimport\s+(type\s+)?([^"';]*?)\s*from\s*["']([^"']+)["']/g)) {
    const clause = m[2] ?? "";
    const from = m[3] ?? "";
    const braces = /\{([^}]*)\}/.exec(clause);
    for (const item of (braces?.[1] ?? "").split(",")) {
      const parts = item
        .trim()
        .replace(/^type\s+/, "")
        .split(/\s+as\s+/);
      const local = (parts[1] ?? parts[0] ?? "").trim();
      if (local !== "") imports.set(local, from);
    }
    const defaultName = /^([A-Za-z_$][\w$]*)/.exec(clause.trim())?.[1];
    if (defaultName !== undefined && defaultName !== "type") imports.set(defaultName, from);
  }
  const exported = new Map<string, string>();
  for (const m of code.matchAll(/\bexport\s+(type\s+)?\{([^}]*)\}(\s*from\s*["']([^"']+)["'])?/g)) {
    for (const item of (m[2] ?? "").split(",")) {
      const parts = item
        .trim()
        .replace(/^type\s+/, "")
        .split(/\s+as\s+/);
      const local = (parts[0] ?? "").trim();
      const name = (parts[1] ?? parts[0] ?? "").trim();
      if (name === "") continue;
      exported.set(name, m[4] ?? imports.get(local) ?? "(this module)");
    }
  }
  const declared =
    /\bexport\s+(?:declare\s+)?(?:abstract\s+)?(?:class|const|let|var|function)\s+([A-Za-z_$][\w$]*)/g;
  for (const m of code.matchAll(declared)) exported.set(m[1] ?? "", "(this module)");
  return exported;
}

/** After the last import (or export ... from) statement, else after the leading comments. */
function insertLine(text: string, code: string, line: string): string {
  let end = -1;
  const statement = /^[ \t]*(?:import|export)\b[^;"']*?(?:from\s*)?["'][^"']+["'][ \t]*;?/gm;
  for (const m of code.matchAll(statement)) {
    if (/^[ \t]*import\b/.test(m[0]) || /\bfrom\s*["']/.test(m[0])) end = m.index + m[0].length;
  }
  if (end === -1) {
    // No imports: after the comments that open the file if a blank line ends them (a file
    // header), else at the very top (a comment right above code documents that code).
    const lead = /^(?:\s*(?:\/\/[^\n]*|\/\*[\s\S]*?\*\/))*[ \t]*\n/.exec(text)?.[0] ?? "";
    const header = lead.trim() !== "" && text.slice(lead.length).startsWith("\n");
    const at = header ? lead.length : 0;
    return `${text.slice(0, at)}${header ? "\n" : ""}${line}\n${header ? "" : "\n"}${text.slice(at)}`;
  }
  const lineEnd = text.indexOf("\n", end);
  const at = lineEnd === -1 ? text.length : lineEnd;
  return `${text.slice(0, at)}\n${line}${text.slice(at)}`;
}

/** "./patterns/rate-limiter/index.ts" and "./patterns/rate-limiter" are the same module. */
function normalize(specifier: string): string {
  return specifier
    .replace(/\.(ts|js|mts|mjs)$/, "")
    .replace(/\/index$/, "")
    .replace(/\/$/, "");
}

/** The source with its comments replaced by spaces (same offsets, same line breaks). */
function blankComments(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] ?? "";
    if (ch === '"' || ch === "'" || ch === "`") {
      let j = i + 1;
      while (j < text.length && text[j] !== ch) j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else if (ch === "/" && text[i + 1] === "/") {
      const end = text.indexOf("\n", i);
      const stop = end === -1 ? text.length : end;
      out += " ".repeat(stop - i);
      i = stop - 1;
    } else if (ch === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end === -1 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop - 1;
    } else out += ch;
  }
  return out;
}
