// Builds the CLI into dist/: cli.js (src/bin.ts and its dependencies in one file, so `npx
// do-patterns` needs nothing else) and catalog.json (every pattern under ../packages, read by
// src/collect.ts: its src/ files and what the CLI needs to wire it up).
//
// Usage: node build.ts [--if-stale]   (--if-stale: only when an input is newer than dist/)
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { collectCatalog, newestMtime } from "./src/collect.ts";

const CLI = import.meta.dirname;
const ROOT = join(CLI, "..");
const DIST = join(CLI, "dist");
const outputs = [join(DIST, "cli.js"), join(DIST, "catalog.json")];

if (process.argv.includes("--if-stale") && !stale()) process.exit(0);

const pkg = JSON.parse(readFileSync(join(CLI, "package.json"), "utf8")) as { version: string };
const catalog = await collectCatalog(ROOT, pkg.version);
mkdirSync(DIST, { recursive: true });
await build({
  entryPoints: [join(CLI, "src", "bin.ts")],
  outfile: join(DIST, "cli.js"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // jsonc-parser's "main" is a UMD build that requires its parts at run time; "module" is ESM.
  mainFields: ["module", "main"],
  banner: { js: "#!/usr/bin/env node" },
  logLevel: "warning",
});
chmodSync(join(DIST, "cli.js"), 0o755);
writeFileSync(join(DIST, "catalog.json"), `${JSON.stringify(catalog)}\n`);

const names = catalog.patterns.map((p) => p.name).join(", ");
console.warn(
  `do-patterns ${catalog.version}: built dist/ with ${catalog.patterns.length} patterns (${names})`,
);
for (const { name, reason } of catalog.skipped)
  console.warn(`  left out packages/${name}: ${reason}`);
for (const { name, leftOut } of catalog.patterns) {
  for (const item of leftOut) console.warn(`  ${name}: not copied, test-only: ${item}`);
}

function stale(): boolean {
  if (!outputs.every((o) => existsSync(o))) return true;
  const built = Math.min(...outputs.map((o) => statSync(o).mtimeMs));
  // What the catalog is read from: not the packages' tests, which change all the time.
  const packages = join(ROOT, "packages");
  const inputs = [
    join(CLI, "src"),
    join(CLI, "build.ts"),
    join(CLI, "package.json"),
    join(ROOT, "pnpm-workspace.yaml"),
    ...readdirSync(packages).flatMap((p) =>
      ["package.json", "wrangler.jsonc", "README.md", "src"].map((f) => join(packages, p, f)),
    ),
  ];
  return statSync(packages).mtimeMs > built || newestMtime(inputs) > built;
}
