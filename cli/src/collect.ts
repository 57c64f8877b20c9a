// Build time only (build.ts and the tests, never the CLI bundle): read every package under
// packages/ into the catalog the CLI carries. Nothing here is hard-coded per pattern; the rules
// are in cli/README.md ("Where each pattern's metadata comes from").
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { build } from "esbuild";
import { parse, type ParseError } from "jsonc-parser";
import type { Catalog, DurableObjectClass, OtherBinding, Pattern, PatternFile } from "./types.ts";

/** Binding sections copied from a package's wrangler config, with each entry's identifying key. */
export const BINDING_SECTIONS: { section: string[]; array: boolean; key: string }[] = [
  { section: ["kv_namespaces"], array: true, key: "binding" },
  { section: ["r2_buckets"], array: true, key: "binding" },
  { section: ["d1_databases"], array: true, key: "binding" },
  { section: ["queues", "producers"], array: true, key: "binding" },
  { section: ["queues", "consumers"], array: true, key: "queue" },
  { section: ["workflows"], array: true, key: "binding" },
  { section: ["services"], array: true, key: "binding" },
  { section: ["analytics_engine_datasets"], array: true, key: "binding" },
  { section: ["hyperdrive"], array: true, key: "binding" },
  { section: ["vectorize"], array: true, key: "binding" },
  { section: ["dispatch_namespaces"], array: true, key: "binding" },
  { section: ["mtls_certificates"], array: true, key: "binding" },
  { section: ["send_email"], array: true, key: "name" },
  { section: ["ai"], array: false, key: "binding" },
  { section: ["browser"], array: false, key: "binding" },
  { section: ["images"], array: false, key: "binding" },
  { section: ["version_metadata"], array: false, key: "binding" },
];

/** Keys of a package's wrangler config that describe its own test Worker, not what it needs. */
const WORKER_KEYS = new Set([
  "$schema",
  "name",
  "main",
  "compatibility_date",
  "compatibility_flags",
  "send_metrics",
  "durable_objects",
  "migrations",
  "vars",
  "dev",
  "observability",
  "rules",
  "build",
  "minify",
  "upload_source_maps",
  "workers_dev",
  "preview_urls",
  "assets",
  "env",
]);

/** The package.json field a package may set to steer the CLI (see cli/README.md). */
interface PackageOptions {
  /** Binding names or compatibility flags in wrangler.jsonc that only the package's tests need. */
  ignore: string[];
  /** Extra "next steps" lines. */
  notes: string[];
  /** Leave the package out of the CLI. */
  skip: boolean;
  /** The classes and bindings, when the package's wrangler.jsonc binds test subclasses. */
  durableObjects: DurableObjectClass[] | null;
}

export async function collectCatalog(root: string, version: string): Promise<Catalog> {
  const catalogVersions = readPnpmCatalog(readFileSync(join(root, "pnpm-workspace.yaml"), "utf8"));
  const packagesDir = join(root, "packages");
  const names = readdirSync(packagesDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .toSorted();
  const catalog: Catalog = { version, patterns: [], skipped: [] };
  for (const name of names) {
    const dir = join(packagesDir, name);
    // Not a pattern yet (being written): no entry point or no README. Not reported.
    if (!existsSync(join(dir, "src", "index.ts")) || !existsSync(join(dir, "README.md"))) continue;
    try {
      const pattern = await readPattern(name, dir, catalogVersions);
      if (pattern === null) catalog.skipped.push({ name, reason: "doPatterns.skip is set" });
      else catalog.patterns.push(pattern);
    } catch (error) {
      catalog.skipped.push({
        name,
        reason: error instanceof Error ? error.message : String(error),
      });
    }
  }
  return catalog;
}

async function readPattern(
  name: string,
  dir: string,
  catalogVersions: Map<string, string>,
): Promise<Pattern | null> {
  const pkg = readJsonc(join(dir, "package.json"));
  const options = packageOptions(pkg["doPatterns"]);
  if (options.skip) return null;
  const configPath = join(dir, "wrangler.jsonc");
  if (!existsSync(configPath)) throw new Error("no wrangler.jsonc");
  const config = readJsonc(configPath);
  const exported = await exportsOf(join(dir, "src", "index.ts"));

  const durableObjects = options.durableObjects ?? durableObjectsOf(config, exported, options);
  const notExported = durableObjects.filter((d) => !exported.has(d.className));
  if (notExported.length > 0) {
    throw new Error(
      `src/index.ts does not export ${notExported.map((d) => d.className).join(", ")}`,
    );
  }
  if (durableObjects.length === 0) {
    throw new Error(
      "wrangler.jsonc binds no Durable Object class that src/index.ts exports " +
        `(it exports ${[...exported].join(", ") || "nothing"})`,
    );
  }
  const readme = readFileSync(join(dir, "README.md"), "utf8");
  const files = readFiles(join(dir, "src"));
  // What the pattern's own code and its README's quick start config name: a binding in neither
  // is there for the package's tests or demo only.
  const used = [readmeBlock(readme, "wrangler.jsonc") ?? "", ...files.map((f) => f.content)].join(
    "\n",
  );
  const leftOut: string[] = [];
  const bindings = otherBindingsOf(config, exported, used, options, leftOut);
  // Workflow classes and the entrypoints of service bindings to the Worker itself are found
  // among the main module's exports, like Durable Object classes.
  const workflowClasses = bindings
    .filter((b) => b.section[0] === "workflows" && b.entry["script_name"] === undefined)
    .map((b) => String(b.entry["class_name"]))
    .filter((c) => exported.has(c));
  const entrypoints = bindings.filter((b) => b.self).map((b) => String(b.entry["entrypoint"]));

  const description = typeof pkg["description"] === "string" ? pkg["description"] : "";
  return {
    name,
    packageName: typeof pkg["name"] === "string" ? pkg["name"] : name,
    version: typeof pkg["version"] === "string" ? pkg["version"] : "0.0.0",
    description,
    durableObjects,
    exports: [
      ...new Set([...durableObjects.map((d) => d.className), ...workflowClasses, ...entrypoints]),
    ],
    dependencies: resolveDependencies(asRecord(pkg["dependencies"]), catalogVersions),
    compatibilityFlags: asArray(config["compatibility_flags"])
      .map(String)
      .filter((f) => !options.ignore.includes(f)),
    compatibilityDate: String(config["compatibility_date"] ?? ""),
    bindings,
    secrets: secretsOf(readme, join(dir, "src")),
    notes: options.notes,
    quickStart: readmeBlock(readme, "src/index.ts"),
    files,
    leftOut,
  };
}

/** The names src/index.ts exports, as esbuild sees them (follows `export *` and re-exports). */
async function exportsOf(entry: string): Promise<Set<string>> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    metafile: true,
    format: "esm",
    platform: "neutral",
    packages: "external",
    external: ["cloudflare:*", "node:*"],
    logLevel: "silent",
  });
  const outputs = Object.values(result.metafile.outputs);
  return new Set(outputs.flatMap((o) => o.exports));
}

function durableObjectsOf(
  config: Record<string, unknown>,
  exported: Set<string>,
  options: PackageOptions,
): DurableObjectClass[] {
  const storage = new Map<string, "sqlite" | "kv">();
  for (const migration of asArray(config["migrations"]).map(asRecord)) {
    for (const c of asArray(migration["new_sqlite_classes"])) storage.set(String(c), "sqlite");
    for (const c of asArray(migration["new_classes"])) storage.set(String(c), "kv");
  }
  const seen = new Set<string>();
  const classes: DurableObjectClass[] = [];
  for (const b of asArray(asRecord(config["durable_objects"])["bindings"]).map(asRecord)) {
    const className = String(b["class_name"]);
    const binding = String(b["name"]);
    // Bound from another Worker, defined by the test Worker, or ignored on purpose: not ours.
    if (b["script_name"] !== undefined || !exported.has(className)) continue;
    if (options.ignore.includes(binding) || seen.has(className)) continue;
    seen.add(className);
    classes.push({ className, binding, storage: storage.get(className) ?? "sqlite" });
  }
  return classes;
}

function otherBindingsOf(
  config: Record<string, unknown>,
  exported: Set<string>,
  used: string,
  options: PackageOptions,
  leftOut: string[],
) {
  const bindings: OtherBinding[] = [];
  for (const { section, array, key } of BINDING_SECTIONS) {
    let value: unknown = config;
    for (const part of section) value = asRecord(value)[part];
    if (value === undefined) continue;
    const entries = array ? asArray(value).map(asRecord) : [asRecord(value)];
    for (const entry of entries) {
      const name = String(entry[key]);
      if (options.ignore.includes(name)) continue;
      const label = `${section.join(".")} ${name}`;
      // A service binding to the package's own Worker: to an entrypoint of src/index.ts it is
      // part of the pattern; to anything else (an entrypoint in test/worker.ts), the tests'.
      const self = section[0] === "services" && entry["service"] === config["name"];
      // A Workflow of this Worker whose class src/index.ts does not export: a test's demo.
      const ownWorkflow = section[0] === "workflows" && entry["script_name"] === undefined;
      if (self && !exported.has(String(entry["entrypoint"]))) {
        leftOut.push(`${label} (its entrypoint is not exported by src/index.ts)`);
      } else if (ownWorkflow && !exported.has(String(entry["class_name"]))) {
        leftOut.push(`${label} (its class is not exported by src/index.ts)`);
      } else if (!self && !ownWorkflow && !new RegExp(`\\b${escapeRegExp(name)}\\b`).test(used)) {
        leftOut.push(`${label} (named neither in src/ nor in the README's wrangler.jsonc)`);
      } else bindings.push({ section, array, key, entry, self });
    }
  }
  const unknown = Object.keys(config).filter(
    (k) => !WORKER_KEYS.has(k) && !BINDING_SECTIONS.some((s) => s.section[0] === k),
  );
  if (unknown.length > 0) {
    throw new Error(
      `wrangler.jsonc has ${unknown.join(", ")}, which the CLI does not know how to copy ` +
        `(teach cli/src/collect.ts, or list it in package.json "doPatterns.ignore")`,
    );
  }
  return bindings;
}

function packageOptions(value: unknown): PackageOptions {
  const record = asRecord(value);
  return {
    ignore: asArray(record["ignore"]).map(String),
    notes: asArray(record["notes"]).map(String),
    skip: record["skip"] === true,
    durableObjects: Array.isArray(record["durableObjects"])
      ? record["durableObjects"].map(asRecord).map((d) => ({
          className: String(d["className"]),
          binding: String(d["binding"]),
          storage: d["storage"] === "kv" ? ("kv" as const) : ("sqlite" as const),
        }))
      : null,
  };
}

function resolveDependencies(
  deps: Record<string, unknown>,
  catalogVersions: Map<string, string>,
): Record<string, string> {
  const resolved: Record<string, string> = {};
  for (const [name, spec] of Object.entries(deps)) {
    const text = String(spec);
    if (text.startsWith("workspace:")) {
      throw new Error(`depends on ${name} from the workspace: a pattern must be self-contained`);
    }
    if (text === "catalog:" || text === "catalog:default") {
      const version = catalogVersions.get(name);
      if (version === undefined) throw new Error(`${name} is not in the pnpm catalog`);
      resolved[name] = version;
    } else resolved[name] = text;
  }
  return resolved;
}

/** The variables of the README's `.dev.vars` block, plus ADMIN_TOKEN if the code reads it. */
function secretsOf(readme: string, srcDir: string): string[] {
  const names = new Set<string>();
  for (const line of (readmeBlock(readme, ".dev.vars") ?? "").split("\n")) {
    const m = /^\s*([A-Z][A-Z0-9_]*)\s*=/.exec(line);
    if (m?.[1] !== undefined) names.add(m[1]);
  }
  if (readFiles(srcDir).some((f) => f.content.includes("ADMIN_TOKEN"))) names.add("ADMIN_TOKEN");
  return [...names];
}

/** The fenced block right after `<!-- copy-check: <label> -->`, without its fences. */
export function readmeBlock(readme: string, label: string): string | null {
  const marker = `<!-- copy-check: ${label} -->`;
  const at = readme.indexOf(marker);
  if (at === -1) return null;
  const open = /^([ \t]*)(```+)[^\n]*\n/m.exec(readme.slice(at + marker.length));
  if (open === null) return null;
  const start = at + marker.length + open.index + open[0].length;
  const indent = open[1] ?? "";
  const close = readme.indexOf(`\n${indent}${open[2]}`, start - 1);
  if (close === -1) return null;
  return readme
    .slice(start, close)
    .split("\n")
    .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line))
    .join("\n");
}

function readFiles(srcDir: string): PatternFile[] {
  const files: PatternFile[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).toSorted((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && !entry.name.startsWith(".")) {
        files.push({
          path: relative(srcDir, path).split(sep).join("/"),
          content: readFileSync(path, "utf8"),
        });
      }
    }
  };
  walk(srcDir);
  return files;
}

/** The newest modification time under these paths (files and folders, recursively). */
export function newestMtime(paths: string[]): number {
  let newest = 0;
  const visit = (path: string) => {
    if (!existsSync(path)) return;
    const stat = statSync(path);
    newest = Math.max(newest, stat.mtimeMs);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path)) {
        if (entry !== "node_modules") visit(join(path, entry));
      }
    }
  };
  for (const path of paths) visit(path);
  return newest;
}

/** The default `catalog:` map of pnpm-workspace.yaml (flat `name: version` lines). */
export function readPnpmCatalog(yaml: string): Map<string, string> {
  const entries = new Map<string, string>();
  let inCatalog = false;
  for (const line of yaml.split("\n")) {
    if (/^\S/.test(line)) inCatalog = /^catalog:\s*$/.test(line);
    else if (inCatalog) {
      const m = /^\s+["']?([^"'\s:]+(?:\/[^"'\s:]+)?)["']?\s*:\s*["']?([^"'\s#]+)["']?/.exec(line);
      if (m?.[1] !== undefined && m[2] !== undefined) entries.set(m[1], m[2]);
    }
  }
  return entries;
}

function readJsonc(path: string): Record<string, unknown> {
  const errors: ParseError[] = [];
  const value: unknown = parse(readFileSync(path, "utf8"), errors, { allowTrailingComma: true });
  if (errors.length > 0) throw new Error(`${path} is not valid JSON(C)`);
  return asRecord(value);
}

export function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
