import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { parse as parseToml } from "smol-toml";
import { main } from "../src/cli.ts";
import { parseJsonc } from "../src/jsonc.ts";
import type { Catalog } from "../src/types.ts";
import type { Fixture } from "./fixtures.ts";

export const CLI_DIR = join(import.meta.dirname, "..");
export const ROOT = join(CLI_DIR, "..");
/** Inside cli/, so the projects resolve hono, zod and wrangler from cli/node_modules. */
export const TMP = join(CLI_DIR, ".tmp");

/** The catalog the build bundled (the tests' global setup built it). */
export function loadCatalog(): Catalog {
  return JSON.parse(readFileSync(join(CLI_DIR, "dist", "catalog.json"), "utf8")) as Catalog;
}

export function tempDir(label: string): string {
  mkdirSync(TMP, { recursive: true });
  return mkdtempSync(join(TMP, `${label}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Writes the fixture into a new folder and returns its path. */
export function makeProject(fixture: Fixture, files: Record<string, string> = {}): string {
  const dir = tempDir(fixture.name);
  for (const [path, content] of Object.entries({ ...fixture.files, ...files })) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

export interface Run {
  code: number;
  out: string;
  err: string;
}

/** Runs the CLI in-process on `cwd`, never on a terminal (so it never asks). */
export async function runCli(
  argv: string[],
  cwd: string,
  catalog: Catalog,
  answer?: string,
): Promise<Run> {
  let out = "";
  let err = "";
  const code = await main(argv, catalog, {
    cwd,
    out: (t) => (out += t),
    err: (t) => (err += t),
    ask: answer === undefined ? null : async () => answer,
    install: () => 0,
  });
  return { code, out, err };
}

/** Every file under `dir` (path -> content), to compare before and after. */
export function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== "node_modules" && entry.name !== "dist") walk(path);
      } else files.set(relative(dir, path), readFileSync(path, "utf8"));
    }
  };
  walk(dir);
  return files;
}

/** The config, parsed as wrangler parses it. */
export function readConfig(dir: string, fixture: Fixture): Record<string, unknown> {
  const text = readFileSync(join(dir, fixture.config), "utf8");
  return (
    fixture.config.endsWith(".toml") ? parseToml(text) : parseJsonc(text, fixture.config)
  ) as Record<string, unknown>;
}

/** Every comment of a config file, trimmed: `// x`, `/* x *\/` and `# x`. */
export function comments(text: string): string[] {
  return [...text.matchAll(/(\/\/[^\n]*|\/\*[\s\S]*?\*\/|#[^\n]*)/g)].map((m) => m[0].trim());
}

export function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
