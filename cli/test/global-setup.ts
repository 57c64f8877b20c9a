// Builds dist/ (the CLI and the catalog it bundles) once before the tests, so a fresh clone's
// `pnpm test` tests what `npx do-patterns` would run.
import { spawnSync } from "node:child_process";
import { join } from "node:path";

export default function setup(): void {
  const cli = join(import.meta.dirname, "..");
  const result = spawnSync(process.execPath, [join(cli, "build.ts")], {
    cwd: cli,
    encoding: "utf8",
  });
  if (result.status !== 0) {
    throw new Error(`node build.ts failed:\n${result.stdout}${result.stderr}`);
  }
}
