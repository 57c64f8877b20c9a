// The built executable itself, as `npx do-patterns` runs it: no terminal here, so it never asks.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { expect, test } from "vitest";
import { CLI_DIR, loadCatalog } from "./helpers.ts";

const catalog = loadCatalog();

function cli(...args: string[]) {
  return spawnSync(process.execPath, [join(CLI_DIR, "dist", "cli.js"), ...args], {
    cwd: CLI_DIR,
    encoding: "utf8",
    input: "",
  });
}

test("--version, list, and add with no name on a pipe", () => {
  expect(cli("--version").stdout.trim()).toBe(catalog.version);
  const list = cli("list");
  expect(list.status).toBe(0);
  expect(list.stdout.trimEnd().split("\n")).toHaveLength(catalog.patterns.length);
  const add = cli("add");
  expect(add.status).toBe(2);
  expect(add.stderr).toContain("which pattern?");
  for (const p of catalog.patterns) expect(add.stderr).toContain(p.name);
  expect(cli("nonsense").status).toBe(2);
});
