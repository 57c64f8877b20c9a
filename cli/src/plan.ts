// What the parts of `add` share: the plan they fill in, and small helpers.
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, join, relative, sep } from "node:path";

export interface AddOptions {
  /** Where patterns go, relative to the project: the pattern lands in <dir>/<pattern>/. */
  dir: string;
  /** Binding names chosen by the user: class name -> binding (or "" -> binding for a lone class). */
  bindings: Map<string, string>;
  force: boolean;
  /** The wrangler config to edit, relative to the project (default: found like wrangler does). */
  config: string | null;
}

export interface Plan {
  /** Files to write, absolute paths. Empty when the pattern is already in place. */
  writes: { path: string; content: string }[];
  /** One line per change, for the output. */
  changes: string[];
  warnings: string[];
  /** Conflicts: nothing is written when there is one. */
  errors: string[];
  /** What the user still has to do. */
  nextSteps: string[];
  /** Whether package.json gained dependencies (so an install is due). */
  dependenciesAdded: boolean;
  packageManager: PackageManager;
}

export type PackageManager = "npm" | "pnpm" | "yarn" | "bun";

export type Json = Record<string, unknown>;

export function detectPackageManager(project: string): PackageManager {
  try {
    const pkg = asRecord(JSON.parse(readFileSync(join(project, "package.json"), "utf8")));
    const field = typeof pkg["packageManager"] === "string" ? pkg["packageManager"] : "";
    const named = /^(npm|pnpm|yarn|bun)@/.exec(field)?.[1];
    if (named !== undefined) return named as PackageManager;
  } catch {
    // No package.json, or not plain JSON: look at the lockfiles.
  }
  if (existsSync(join(project, "pnpm-lock.yaml"))) return "pnpm";
  if (existsSync(join(project, "yarn.lock"))) return "yarn";
  if (existsSync(join(project, "bun.lock")) || existsSync(join(project, "bun.lockb"))) return "bun";
  return "npm";
}

/** The edits work on "\n" line ends; a file written with "\r\n" gets them back. */
export function lf(text: string): string {
  return text.replaceAll("\r\n", "\n");
}

export function sameEol(original: string, edited: string): string {
  return original.includes("\r\n") ? edited.replaceAll("\n", "\r\n") : edited;
}

export function display(project: string, path: string): string {
  const shown = relative(project, path).split(sep).join("/");
  return shown === "" ? "." : shown;
}

export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
}

export function asRecord(value: unknown): Json {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Json)
    : {};
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
