// The pattern's source files: copied with a first line that records where each came from and a
// hash of the rest, so a later add can tell an unedited copy from one the user changed.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { display, lf, type Plan } from "./plan.ts";
import type { Pattern } from "./types.ts";

const SCRIPT_EXTENSIONS = /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/;

// Files

/** The first line of every copied script: where it came from, and a hash of the rest. */
export function header(pattern: Pattern, path: string, catalogVersion: string, body: string) {
  return (
    `// do-patterns ${catalogVersion}, ${pattern.name}/src/${path}, sha256 ${hash(body)} ` +
    `(kept by add once edited)\n`
  );
}

const HEADER = /^\/\/ do-patterns \S+, \S+, sha256 ([0-9a-f]{12})\b[^\n]*\n/;

function hash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 12);
}

export function planFiles(
  project: string,
  target: string,
  pattern: Pattern,
  catalogVersion: string,
  force: boolean,
  plan: Plan,
) {
  const created: string[] = [];
  const updated: string[] = [];
  const differ: string[] = [];
  for (const file of pattern.files) {
    const content = SCRIPT_EXTENSIONS.test(file.path)
      ? header(pattern, file.path, catalogVersion, file.content) + file.content
      : file.content;
    const path = join(target, ...file.path.split("/"));
    if (!existsSync(path)) {
      created.push(file.path);
      plan.writes.push({ path, content });
      continue;
    }
    // Compared with "\n" line ends: git may check files out with "\r\n" on Windows.
    const existing = lf(readFileSync(path, "utf8"));
    if (existing === content) continue;
    // Our header with a hash that still matches: an unedited copy from another catalog version.
    const m = HEADER.exec(existing);
    const unedited = m !== null && m[1] === hash(existing.slice(m[0].length));
    if (unedited || force) {
      (unedited ? updated : differ).push(file.path);
      plan.writes.push({ path, content });
    } else differ.push(file.path);
  }
  const where = display(project, target);
  if (created.length > 0) {
    const all = created.length === pattern.files.length;
    plan.changes.push(
      all
        ? `${where}/: copied ${pattern.name}'s src/ (${created.length} files)`
        : `${where}/: added ${created.join(", ")}`,
    );
  }
  if (updated.length > 0) {
    plan.changes.push(
      `${where}/: updated ${updated.join(", ")} (unedited copies of another version)`,
    );
  }
  if (differ.length === 0) return;
  if (force) {
    plan.changes.push(`${where}/: overwrote your edits (--force) in ${differ.join(", ")}`);
  } else {
    plan.errors.push(
      `${where}/ has files that differ from the catalog's ${pattern.name} ${catalogVersion}:\n` +
        differ.map((f) => `    ${f}`).join("\n") +
        `\n  Keep your edits (nothing was changed), or run again with --force to replace them.`,
    );
  }
}
