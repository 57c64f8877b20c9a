// Every bundled pattern, added one after another into each fixture project: the config still
// parses and keeps its comments, each migration tag is new, the main module exports the classes,
// and adding again changes nothing.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { FIXTURES } from "./fixtures.ts";
import {
  comments,
  list,
  loadCatalog,
  makeProject,
  readConfig,
  record,
  removeDir,
  runCli,
  snapshot,
} from "./helpers.ts";

const catalog = loadCatalog();

test("the catalog has patterns to add", () => {
  expect(catalog.patterns.length).toBeGreaterThan(0);
});

describe.each(FIXTURES)("into the $name fixture", (fixture) => {
  let dir = "";
  const tags = [...fixture.tags];
  beforeAll(() => {
    dir = makeProject(fixture);
  });
  afterAll(() => removeDir(dir));

  test.each(catalog.patterns.map((p) => [p.name, p] as const))("add %s", async (_name, pattern) => {
    const before = readFileSync(join(dir, fixture.config), "utf8");
    const run = await runCli(["add", pattern.name, "--yes"], dir, catalog);
    expect(run.err).toBe("");
    expect(run.code).toBe(0);
    expect(run.out).toContain(`Added ${pattern.name}`);

    // The config parses, keeps every comment it had, and binds the pattern's classes.
    const after = readFileSync(join(dir, fixture.config), "utf8");
    for (const comment of comments(before)) expect(after).toContain(comment);
    const config = readConfig(dir, fixture);
    const bound = list(record(config["durable_objects"])["bindings"]).map(record);
    for (const name of fixture.bindings) expect(bound.map((b) => b["name"])).toContain(name);
    for (const d of pattern.durableObjects) {
      expect(bound).toContainEqual({ name: d.binding, class_name: d.className });
    }

    // One new migration, with a tag none of the earlier ones had, creating exactly its classes.
    const migrations = list(config["migrations"]).map(record);
    expect(migrations).toHaveLength(tags.length + 1);
    const added = migrations.at(-1) ?? {};
    expect(tags).not.toContain(added["tag"]);
    tags.push(String(added["tag"]));
    expect(added["new_sqlite_classes"]).toEqual(pattern.durableObjects.map((d) => d.className));
    for (const flag of pattern.compatibilityFlags) {
      expect(list(config["compatibility_flags"])).toContain(flag);
    }

    // The source, each script stamped with the catalog version; the dependencies; the export.
    for (const file of pattern.files) {
      const copied = readFileSync(join(dir, "src", "patterns", pattern.name, file.path), "utf8");
      expect(copied.endsWith(file.content)).toBe(true);
    }
    const index = readFileSync(join(dir, "src", "patterns", pattern.name, "index.ts"), "utf8");
    expect(index).toMatch(new RegExp(`^// do-patterns ${catalog.version}, ${pattern.name}/`));
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    for (const [name, version] of Object.entries(pattern.dependencies)) {
      expect(pkg.dependencies[name]).toBe(version);
    }
    const main = String(config["main"]);
    expect(readFileSync(join(dir, main), "utf8")).toContain(
      `export { ${pattern.exports.join(", ")} } from "./patterns/${pattern.name}";`,
    );
    expect(run.out).toContain("wrangler types");
  });

  test("adding every pattern again changes nothing", async () => {
    const before = snapshot(dir);
    for (const pattern of catalog.patterns) {
      const run = await runCli(["add", pattern.name, "--yes"], dir, catalog);
      expect(run.code).toBe(0);
      expect(run.out).toContain("nothing to change");
    }
    expect(snapshot(dir)).toEqual(before);
    expect(existsSync(join(dir, "src", "patterns"))).toBe(true);
  });
});
