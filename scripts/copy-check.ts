// Copy check (part of `pnpm check`): for every package, build the Worker its README tells a
// newcomer to build, from the README's own blocks, outside this repo, and prove it works.
//
// For packages/<p>, the README marks each file of that project with a comment right before its
// fenced block: `<!-- copy-check: wrangler.jsonc -->`, `src/index.ts`, `package.json`,
// `tsconfig.json`, optionally `.dev.vars`, and `<!-- copy-check: request -->` before a `curl`
// block whose `# ...` lines give the expected status and headers (so a README always shows how
// to see the Worker work, and that it starts: workerd refuses some modules wrangler bundles). This script writes those
// blocks verbatim into a new folder under the OS temp dir, copies `packages/<p>/src/` alone to
// `src/<p>/`, installs only the dependencies the README lists (checked against the package's
// own dependencies, at the pnpm catalog's versions, plus wrangler, TypeScript and
// @cloudflare/workers-types), then runs what the README says: `wrangler types
// --include-runtime=false`, `tsc`, `wrangler deploy --dry-run`, `wrangler dev` and the request.
// So the instructions cannot drift from what works.
//
// It prints each package's copy cost: `src/` alone in a Worker that only exports the classes,
// bundled as `wrangler deploy` does, gzipped as wrangler measures it. Over 40 KiB fails (the
// catalog's bar), unless the package.json sets `"copyCheck": { "maxGzipKiB": n }` (for a
// pattern built on the Agents SDK).
//
// Usage: node scripts/copy-check.ts [pattern ...] [--keep]   (--keep leaves the temp projects)
import { spawn } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, relative, resolve, sep } from "node:path";
import { gzipSync } from "node:zlib";

const ROOT = resolve(import.meta.dirname, "..");
const DEFAULT_LIMIT_KIB = 40;
const DEV_TOOLS = ["@cloudflare/workers-types", "typescript", "wrangler"];
const REQUIRED_FILES = ["package.json", "tsconfig.json", "wrangler.jsonc", "src/index.ts"];
const STEP_TIMEOUT_MS = 180_000;
// Wrangler colours its errors even when asked not to; the colour codes only clutter a CI log.
const ANSI_COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

interface Request {
  method: string;
  path: string;
  /** The `-d '...'` body, sent as JSON. */
  body: string | null;
  status: number;
  headers: string[];
}

interface Readme {
  files: Map<string, string>;
  request: Request;
}

interface Result {
  pattern: string;
  problems: string[];
}

/** Thrown for a finding (the README or package is wrong), as opposed to a crash of this script. */
class CheckFailure extends Error {}

const args = process.argv.slice(2);
const keep = args.includes("--keep");
const only = args.filter((a) => !a.startsWith("--"));
const patterns = readdirSync(join(ROOT, "packages"), { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(ROOT, "packages", d.name, "package.json")))
  .map((d) => d.name)
  .filter((name) => only.length === 0 || only.includes(name))
  .toSorted();
if (patterns.length === 0) fail(`no package matches ${only.join(", ")}`);

const catalog = readCatalog(readFileSync(join(ROOT, "pnpm-workspace.yaml"), "utf8"));
const workspace = mkdtempSync(join(tmpdir(), "do-patterns-copy-check-"));
const started = performance.now();
const results: Result[] = [];
try {
  // One at a time: each already runs its type check and bundles side by side, and wrangler dev
  // wants the CPU to itself to start quickly on a 2-core CI machine.
  for (const pattern of patterns) results.push(await checkPackage(pattern));
} finally {
  if (keep) console.warn(`kept the projects in ${workspace}`);
  else rmSync(workspace, { recursive: true, force: true });
}

const failed = results.filter((r) => r.problems.length > 0);
const seconds = ((performance.now() - started) / 1000).toFixed(1);
if (failed.length > 0) {
  console.error(`\ncopy check FAILED for ${failed.map((r) => r.pattern).join(", ")}:`);
  for (const r of failed) for (const p of r.problems) console.error(`  ${r.pattern}: ${p}`);
  process.exit(1);
}
console.warn(`copy check passed: ${results.length} package(s) in ${seconds} s`);

async function checkPackage(pattern: string): Promise<Result> {
  const result: Result = { pattern, problems: [] };
  console.warn(`copy check: packages/${pattern}`);
  const packageDir = join(ROOT, "packages", pattern);
  const project = join(workspace, pattern);
  try {
    const pkg = readJson(join(packageDir, "package.json"), "package.json");
    const readme = readReadme(join(packageDir, "README.md"));
    checkDependencies(readme, pkg);
    const classes = checkWranglerConfig(readme, join(packageDir, "wrangler.jsonc"));

    // The project, exactly as the README describes it.
    mkdirSync(project, { recursive: true });
    for (const [path, content] of readme.files) {
      mkdirSync(dirname(join(project, path)), { recursive: true });
      writeFileSync(join(project, path), `${content}\n`);
    }
    cpSync(join(packageDir, "src"), join(project, "src", pattern), { recursive: true });
    // Only for measuring the copy cost: the classes and a default export, nothing else (a
    // module that only re-exports a class does not start in workerd).
    writeFileSync(
      join(project, "copy-cost.ts"),
      `export { ${classes.join(", ")} } from "./src/${pattern}"; export default { fetch: () => new Response(null, { status: 404 }) };\n`,
    );

    const env = projectEnv(project);
    const times: string[] = [];
    // Outside any workspace, so nothing resolves to this repo's node_modules.
    times.push(
      await timed("install", () =>
        run("pnpm", ["install", "--prefer-offline", "--ignore-workspace"], project, env),
      ),
    );
    checkInstalledInside(project, readme);
    const bin = (name: string) => join(project, "node_modules", ".bin", name);
    times.push(
      await timed("types", () =>
        run(bin("wrangler"), ["types", "--include-runtime=false"], project, env),
      ),
    );
    const distApp = join(project, "dist");
    const distCost = join(project, "dist-copy-cost");
    const [typecheck, bundle] = await Promise.all([
      timed("typecheck", () => run(bin("tsc"), ["-p", "tsconfig.json"], project, env)),
      timed("bundle", () =>
        Promise.all([
          run(bin("wrangler"), ["deploy", "--dry-run", "--outdir", distApp], project, env),
          run(
            bin("wrangler"),
            [
              "deploy",
              "--dry-run",
              "--outdir",
              distCost,
              `--metafile=${join(distCost, "bundle-meta.json")}`,
              "copy-cost.ts",
            ],
            project,
            env,
          ),
        ]),
      ),
    ]);
    times.push(typecheck, bundle);

    const limit = copyCostLimit(pkg);
    const cost = gzippedKiB(distCost);
    const app = gzippedKiB(distApp);
    const verdict = cost > limit ? "OVER THE LIMIT" : "ok";
    log(`copy cost (src/ alone): ${cost.toFixed(2)} KiB gzipped, limit ${limit} KiB: ${verdict}`);
    const parts = bundleParts(join(distCost, "bundle-meta.json"), pattern);
    log(`  made of (before gzip): ${parts}`);
    log(`README's Worker:        ${app.toFixed(2)} KiB gzipped`);
    if (cost > limit) {
      result.problems.push(
        `copy cost ${cost.toFixed(2)} KiB gzipped is over the ${limit} KiB limit ` +
          `(CATALOG.md, "Copy cost"); the bundle is made of ${parts}`,
      );
    }

    const { request } = readme;
    times.push(await timed("dev", () => smokeTest(project, env, request)));
    log(`${request.method} ${request.path} -> ${request.status} ${request.headers.join(", ")}`);
    log(times.join(" · "));
  } catch (error) {
    if (!(error instanceof CheckFailure)) throw error;
    result.problems.push(error.message);
    console.warn(`  FAILED: ${error.message}`);
  }
  return result;
}

/** One line of a package's report, under its "copy check: packages/<p>" heading. */
function log(line: string): void {
  console.warn(`  ${line}`);
}

/** Runs `work` and says how long it took: "install 1.2 s". */
async function timed(label: string, work: () => Promise<unknown>): Promise<string> {
  const t0 = performance.now();
  await work();
  return `${label} ${((performance.now() - t0) / 1000).toFixed(1)} s`;
}

/** The marked blocks of the package README: file path -> content, and the request to send. */
function readReadme(path: string): Readme {
  const text = readFileSync(path, "utf8");
  const files = new Map<string, string>();
  let request: Request | undefined;
  const marker = /<!-- copy-check: (\S+) -->\s*\n([ \t]*)(`{3,})[^\n]*\n([\s\S]*?)\n\2\3/g;
  for (const m of text.matchAll(marker)) {
    const [, name = "", indent = "", , body = ""] = m;
    // Blocks inside a list item are indented; the file is the block without that indent.
    const content = body
      .split("\n")
      .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line))
      .join("\n");
    if (name === "request") {
      request = parseRequest(content);
      continue;
    }
    if (name.startsWith("/") || name.split("/").includes("..")) {
      throw new CheckFailure(`README block "${name}" must be a relative path inside the project`);
    }
    if (files.has(name)) throw new CheckFailure(`README marks two blocks as "${name}"`);
    files.set(name, content);
  }
  const missing = REQUIRED_FILES.filter((f) => !files.has(f));
  if (request === undefined) missing.push("request");
  if (missing.length > 0 || request === undefined) {
    throw new CheckFailure(
      `README has no block for ${missing.join(", ")}: put <!-- copy-check: <file> --> right ` +
        `before the fenced block of each file a new project needs, and ` +
        `<!-- copy-check: request --> before the curl that shows it working`,
    );
  }
  return { files, request };
}

/**
 * `curl [-i] [-X METHOD] http://localhost:8787/path [-d '<json>']` (a `\` ends a continued line)
 * followed by `# HTTP/1.1 200 OK` and
 * `# Header: value` lines. Header values are examples (counts and times vary), so only the
 * status and the presence of each header are checked.
 */
function parseRequest(block: string): Request {
  const command = block.replace(/\\\n\s*/g, " ");
  const curl = /curl\b(.*?)\shttps?:\/\/localhost:8787(\/\S*)/.exec(command);
  const status = /^#\s*HTTP\/[\d.]+\s+(\d{3})/m.exec(block);
  if (curl === null || status === null) {
    throw new CheckFailure(
      "the request block needs `curl ... http://localhost:8787/<path>` and `# HTTP/1.1 <status>`",
    );
  }
  const method = /-X\s*([A-Z]+)/.exec(curl[1] ?? "")?.[1] ?? "GET";
  const headers = [...block.matchAll(/^#\s*([A-Za-z][A-Za-z0-9-]*):/gm)].map((m) => m[1] ?? "");
  const body = /\s(?:-d|--data)\s+'([^']*)'/.exec(command)?.[1] ?? null;
  return { method, path: curl[2] ?? "/", body, status: Number(status[1]), headers };
}

/** The README's package.json lists exactly the package's dependencies and the dev tools. */
function checkDependencies(readme: Readme, pkg: Record<string, unknown>): void {
  const block = parseJsonc(readme.files.get("package.json") ?? "", "README's package.json");
  const expected = {
    dependencies: resolveVersions(stringRecord(pkg["dependencies"])),
    devDependencies: resolveVersions(
      Object.fromEntries(DEV_TOOLS.map((name) => [name, "catalog:"])),
    ),
  };
  for (const field of ["dependencies", "devDependencies"] as const) {
    const actual = stringRecord(block[field]);
    if (!sameRecord(actual, expected[field])) {
      throw new CheckFailure(
        `README's package.json ${field} must be ${JSON.stringify(expected[field])} (the ` +
          `package's ${field === "dependencies" ? "dependencies" : "dev tools"} at the pnpm ` +
          `catalog's versions), not ${JSON.stringify(actual)}`,
      );
    }
  }
}

/**
 * The README's wrangler.jsonc is complete for a new project and binds the same SQLite-backed
 * classes as the package's own wrangler.jsonc. Returns the class names.
 */
function checkWranglerConfig(readme: Readme, packageConfig: string): string[] {
  const config = parseJsonc(readme.files.get("wrangler.jsonc") ?? "", "README's wrangler.jsonc");
  const own = parseJsonc(readFileSync(packageConfig, "utf8"), "wrangler.jsonc");
  const missing = ["name", "main", "compatibility_date"].filter((k) => config[k] === undefined);
  if (missing.length > 0) {
    throw new CheckFailure(`README's wrangler.jsonc needs ${missing.join(", ")} in a new project`);
  }
  if (!readme.files.has(String(config["main"]))) {
    throw new CheckFailure(`README's wrangler.jsonc main, ${String(config["main"])}, has no block`);
  }
  const bindings = (c: Record<string, unknown>) => JSON.stringify(durableObjects(c));
  if (bindings(config) !== bindings(own)) {
    throw new CheckFailure(
      `README's wrangler.jsonc binds ${bindings(config)} but the package's wrangler.jsonc ` +
        `binds ${bindings(own)} (durable_objects.bindings and new_sqlite_classes)`,
    );
  }
  const classes = durableObjects(own).sqliteClasses;
  if (classes.length === 0) throw new CheckFailure("the package binds no SQLite-backed class");
  return classes;
}

function durableObjects(config: Record<string, unknown>) {
  const section = asRecord(config["durable_objects"]);
  const bindings = asArray(section["bindings"])
    .map((b) => asRecord(b))
    .map((b) => `${String(b["name"])}=${String(b["class_name"])}`)
    .toSorted();
  const sqliteClasses = asArray(config["migrations"])
    .flatMap((m) => asArray(asRecord(m)["new_sqlite_classes"]))
    .map(String)
    .toSorted();
  return { bindings, sqliteClasses };
}

/** Every installed dependency is a real folder inside the project, none from this repo. */
function checkInstalledInside(project: string, readme: Readme): void {
  const block = parseJsonc(readme.files.get("package.json") ?? "", "README's package.json");
  const names = [
    ...Object.keys(stringRecord(block["dependencies"])),
    ...Object.keys(stringRecord(block["devDependencies"])),
  ];
  for (const name of names) {
    const installed = join(project, "node_modules", ...name.split("/"));
    const real = existsSync(installed) ? realpathSync(installed) : "(missing)";
    if (!real.startsWith(`${realpathSync(project)}${sep}`)) {
      throw new CheckFailure(`${name} resolved to ${real}, outside the temporary project`);
    }
  }
}

/** Starts `wrangler dev` on a free port, sends the README's request, and stops it. */
async function smokeTest(project: string, env: NodeJS.ProcessEnv, request: Request) {
  const port = await freePort();
  const inspectorPort = await freePort();
  const child = spawn(
    join(project, "node_modules", ".bin", "wrangler"),
    ["dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort)],
    { cwd: project, env, detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  let exited = false;
  child.on("exit", () => (exited = true));
  try {
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    for (;;) {
      if (exited) throw new CheckFailure(`wrangler dev exited before serving:\n${tail(output)}`);
      if (Date.now() > deadline)
        throw new CheckFailure(`wrangler dev did not start:\n${tail(output)}`);
      try {
        const response = await fetch(`http://127.0.0.1:${port}${request.path}`, {
          method: request.method,
          ...(request.body === null
            ? {}
            : { body: request.body, headers: { "Content-Type": "application/json" } }),
          signal: AbortSignal.timeout(10_000),
        });
        await response.body?.cancel();
        const missing = request.headers.filter((h) => !response.headers.has(h));
        if (response.status !== request.status || missing.length > 0) {
          throw new CheckFailure(
            `${request.method} ${request.path} answered ${response.status}` +
              (missing.length > 0 ? ` without ${missing.join(", ")}` : "") +
              `; the README promises ${request.status} with ${request.headers.join(", ")}\n` +
              tail(output),
          );
        }
        return;
      } catch (error) {
        if (error instanceof CheckFailure) throw error;
        await new Promise((r) => setTimeout(r, 200)); // not listening yet
      }
    }
  } finally {
    // Its own process group: wrangler, workerd and esbuild stop together.
    if (child.pid !== undefined && !exited) process.kill(-child.pid, "SIGTERM");
  }
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** The environment a user's shell would give: this Node, the project's tools, no repo tools. */
function projectEnv(project: string): NodeJS.ProcessEnv {
  const repoBins = join(ROOT, "node_modules", ".bin");
  const path = (process.env["PATH"] ?? "")
    .split(delimiter)
    .filter((p) => p !== "" && !p.startsWith(ROOT) && resolve(p) !== repoBins);
  return {
    ...process.env,
    // Wrangler 4 needs Node 22.12+: the one running this script (the repo's pinned Node).
    PATH: [join(project, "node_modules", ".bin"), dirname(process.execPath), ...path].join(
      delimiter,
    ),
    WRANGLER_SEND_METRICS: "false",
    CI: "true",
    FORCE_COLOR: "0",
    NO_COLOR: "1",
  };
}

function run(command: string, argv: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, argv, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill("SIGTERM"), STEP_TIMEOUT_MS);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      const shown = command.startsWith(cwd) ? relative(cwd, command) : command;
      const how = code === null ? "was stopped (timed out?)" : `failed (exit ${code})`;
      if (code === 0) resolveRun();
      else reject(new CheckFailure(`\`${shown} ${argv.join(" ")}\` ${how}:\n${tail(output)}`));
    });
  });
}

function tail(output: string, lines = 40): string {
  return output.replace(ANSI_COLOUR, "").trimEnd().split("\n").slice(-lines).join("\n");
}

/** gzip of all modules together, as `wrangler deploy` reports "Total Upload ... gzip". */
function gzippedKiB(outdir: string): number {
  const modules = readdirSync(outdir)
    .filter((f) => /\.(m?js|cjs|wasm|txt|html|bin|sql)$/.test(f))
    .toSorted()
    .map((f) => readFileSync(join(outdir, f)));
  if (modules.length === 0) throw new CheckFailure(`wrangler wrote no modules to ${outdir}`);
  return gzipSync(Buffer.concat(modules)).byteLength / 1024;
}

/** What the bundle is made of, by package, largest first: "zod 95.1 KiB, src/x 20.3 KiB". */
function bundleParts(metafile: string, pattern: string): string {
  const meta = parseJsonc(readFileSync(metafile, "utf8"), "bundle metafile");
  const bytes = new Map<string, number>();
  for (const output of Object.values(asRecord(meta["outputs"]))) {
    for (const [path, input] of Object.entries(asRecord(asRecord(output)["inputs"]))) {
      const size = asRecord(input)["bytesInOutput"];
      if (typeof size !== "number" || size === 0) continue;
      const dep = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?(@[^/]+\/[^/]+|[^/]+)/.exec(
        path,
      );
      const part = dep?.[1] ?? (path.includes(`src/${pattern}/`) ? `src/${pattern}` : path);
      bytes.set(part, (bytes.get(part) ?? 0) + size);
    }
  }
  return [...bytes]
    .toSorted((a, b) => b[1] - a[1])
    .map(([part, size]) => `${part} ${(size / 1024).toFixed(1)} KiB`)
    .join(", ");
}

function copyCostLimit(pkg: Record<string, unknown>): number {
  const own = asRecord(pkg["copyCheck"])["maxGzipKiB"];
  return typeof own === "number" && own > 0 ? own : DEFAULT_LIMIT_KIB;
}

function resolveVersions(deps: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(deps).map(([name, spec]) => {
      if (spec !== "catalog:" && spec !== "catalog:default") return [name, spec];
      const version = catalog.get(name);
      if (version === undefined) throw new CheckFailure(`${name} is not in the pnpm catalog`);
      return [name, version];
    }),
  );
}

/** The default `catalog:` map of pnpm-workspace.yaml (flat `name: version` lines). */
function readCatalog(yaml: string): Map<string, string> {
  const entries = new Map<string, string>();
  let inCatalog = false;
  for (const line of yaml.split("\n")) {
    if (/^\S/.test(line)) inCatalog = /^catalog:\s*$/.test(line);
    else if (inCatalog) {
      const m = /^\s+["']?([^"'\s:]+(?:\/[^"'\s:]+)?)["']?\s*:\s*["']?([^"'\s#]+)["']?/.exec(line);
      if (m?.[1] !== undefined && m[2] !== undefined) entries.set(m[1], m[2]);
    }
  }
  if (entries.size === 0) fail("found no catalog in pnpm-workspace.yaml");
  return entries;
}

function readJson(path: string, label: string): Record<string, unknown> {
  return parseJsonc(readFileSync(path, "utf8"), label);
}

/** JSON with comments and trailing commas, as wrangler.jsonc and tsconfig.json allow. */
function parseJsonc(text: string, label: string): Record<string, unknown> {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      const end = stringEnd(text, i);
      out += text.slice(i, end);
      i = end - 1;
    } else if (ch === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (ch === "/" && text[i + 1] === "*") {
      i = text.indexOf("*/", i + 2) + 1;
      if (i === 0) break;
    } else out += ch;
  }
  try {
    return asRecord(JSON.parse(out.replace(/,(\s*[}\]])/g, "$1")));
  } catch (error) {
    throw new CheckFailure(`${label} is not valid JSON(C): ${String(error)}`);
  }
}

function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === '"') return i + 1;
  }
  return text.length;
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function stringRecord(value: unknown): Record<string, string> {
  return Object.fromEntries(
    Object.entries(asRecord(value)).filter((e): e is [string, string] => typeof e[1] === "string"),
  );
}

function sameRecord(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

function fail(message: string): never {
  console.error(`copy check: ${message}`);
  process.exit(1);
}
