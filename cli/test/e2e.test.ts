// End to end, per pattern: the built CLI (dist/cli.js, as `npx do-patterns` runs it) adds the
// pattern into a fresh fixture project, then `wrangler deploy --dry-run` bundles that project:
// the config validates, every bound class is exported by the main module, every import
// resolves. The fixtures take turns, so each is bundled by wrangler too.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, realpathSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import type { Pattern } from "../src/types.ts";
import { FIXTURES } from "./fixtures.ts";
import { CLI_DIR, ROOT, loadCatalog, makeProject, removeDir } from "./helpers.ts";

const catalog = loadCatalog();
const CLI = join(CLI_DIR, "dist", "cli.js");
const WRANGLER = join(CLI_DIR, "node_modules", "wrangler", "bin", "wrangler.js");
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) removeDir(dir);
});

describe.concurrent("add, then wrangler deploy --dry-run", () => {
  test.each(catalog.patterns.map((p, i) => [p.name, p, i] as const))(
    "%s",
    { timeout: 180_000 },
    async (_name, pattern, i) => {
      const fixture = FIXTURES[i % FIXTURES.length] ?? FIXTURES[0];
      if (fixture === undefined) throw new Error("no fixtures");
      const dir = makeProject(fixture);
      dirs.push(dir);

      // The real executable, with Node 22 (the one running these tests).
      const add = await run(process.execPath, [CLI, "add", pattern.name, "--yes"], dir);
      expect({ code: add.code, output: add.output }).toMatchObject({ code: 0 });
      linkDependencies(dir, pattern);

      const dry = await run(process.execPath, dryRun(dir, fixture.config), dir);
      expect({ code: dry.code, output: dry.output }).toMatchObject({ code: 0 });
      // The fixture's own bindings too: proof that wrangler read the fixture's config.
      for (const binding of fixture.bindings) expect(dry.output).toContain(`env.${binding} (`);
      for (const d of pattern.durableObjects) {
        expect(dry.output).toContain(`env.${d.binding} (${d.className})`);
      }
      expect(existsSync(join(dir, "dist"))).toBe(true);
    },
  );

  test("every pattern into one Worker", { timeout: 180_000 }, async () => {
    const fixture = FIXTURES.at(-1) ?? FIXTURES[0];
    if (fixture === undefined) throw new Error("no fixtures");
    const dir = makeProject(fixture);
    dirs.push(dir);
    const names = catalog.patterns.map((p) => p.name);
    const add = await run(process.execPath, [CLI, "add", ...names, "--yes"], dir);
    expect({ code: add.code, output: add.output }).toMatchObject({ code: 0 });
    for (const pattern of catalog.patterns) linkDependencies(dir, pattern);
    const dry = await run(process.execPath, dryRun(dir, fixture.config), dir);
    expect({ code: dry.code, output: dry.output }).toMatchObject({ code: 0 });
    for (const binding of fixture.bindings) expect(dry.output).toContain(`env.${binding} (`);
    for (const d of catalog.patterns.flatMap((p) => p.durableObjects)) {
      expect(dry.output).toContain(`env.${d.binding} (${d.className})`);
    }
  });
});

/**
 * `wrangler deploy --dry-run` with the fixture's config named: wrangler looks for
 * wrangler.json, then wrangler.jsonc, then wrangler.toml, each up the whole tree, so from a
 * wrangler.toml project inside this repo it would find the repo's own wrangler.jsonc first.
 */
function dryRun(dir: string, config: string): string[] {
  return [WRANGLER, "deploy", "--dry-run", "--config", config, "--outdir", join(dir, "dist")];
}

/**
 * Stands in for `npm install` (no network in tests): each dependency the CLI added, linked from
 * the pattern's own node_modules in this repo (or cli's), as a project's node_modules would hold it.
 */
function linkDependencies(dir: string, pattern: Pattern): void {
  for (const name of Object.keys(pattern.dependencies)) {
    const from = [
      join(ROOT, "packages", pattern.name, "node_modules", name),
      join(CLI_DIR, "node_modules", name),
    ].find((p) => existsSync(p));
    const to = join(dir, "node_modules", name);
    if (existsSync(to)) continue;
    if (from === undefined) throw new Error(`${name} is not installed in packages/${pattern.name}`);
    mkdirSync(dirname(to), { recursive: true });
    symlinkSync(realpathSync(from), to, "dir");
  }
}

function run(
  command: string,
  args: string[],
  cwd: string,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: "false",
        CI: "true",
        NO_COLOR: "1",
        FORCE_COLOR: "0",
        // Wrangler's debug logs in the project, not in the home folder.
        WRANGLER_LOG_PATH: join(cwd, ".wrangler-logs"),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}
