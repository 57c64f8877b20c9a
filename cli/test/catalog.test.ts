// What the build bundles (src/collect.ts, which build.ts runs): every finished package under
// packages/, its metadata derived from its own files by the rules in cli/README.md.
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { collectCatalog } from "../src/collect.ts";
import { ROOT, loadCatalog, removeDir, tempDir } from "./helpers.ts";

// Read afresh, not from dist/: the packages may change while the other test files run.
const catalog = await collectCatalog(ROOT, loadCatalog().version);

test("every package with src/index.ts and a README is bundled, or says why not", () => {
  const ready = readdirSync(join(ROOT, "packages")).filter(
    (p) =>
      existsSync(join(ROOT, "packages", p, "src", "index.ts")) &&
      existsSync(join(ROOT, "packages", p, "README.md")),
  );
  expect(catalog.skipped).toEqual([]);
  expect(catalog.patterns.map((p) => p.name).toSorted()).toEqual(ready.toSorted());
});

describe.each(catalog.patterns)("$name", (pattern) => {
  test("carries its src/ as it is in the repo, and its catalog metadata", () => {
    const dir = join(ROOT, "packages", pattern.name);
    for (const file of pattern.files) {
      expect(file.content).toBe(readFileSync(join(dir, "src", file.path), "utf8"));
    }
    expect(pattern.files.map((f) => f.path)).toContain("index.ts");
    expect(pattern.description).not.toBe("");
    expect(pattern.durableObjects.length).toBeGreaterThan(0);
    for (const version of Object.values(pattern.dependencies)) {
      expect(version).toMatch(/^[\^~]?\d/);
    }
    // The quick start add prints: the README's `<!-- copy-check: src/index.ts -->` block.
    expect({ readme: pattern.name, quickStart: pattern.quickStart }).toMatchObject({
      quickStart: expect.stringContaining(`"./${pattern.name}"`),
    });
  });
});

describe("the rules, on a made-up package", () => {
  const root = tempDir("collect");
  afterAll(() => removeDir(root));
  const write = (path: string, content: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  };
  write("pnpm-workspace.yaml", "packages:\n  - packages/*\n\ncatalog:\n  hono: ^4.1.0\n");
  write(
    "packages/made-up/package.json",
    JSON.stringify({
      name: "@do-patterns/made-up",
      version: "1.2.3",
      description: "A made-up pattern",
      dependencies: { hono: "catalog:" },
      doPatterns: { ignore: ["TEST_KV"], notes: ["Read the README first"] },
    }),
  );
  write(
    "packages/made-up/wrangler.jsonc",
    `{
      // The package's test Worker.
      "name": "t", "main": "test/worker.ts", "compatibility_date": "2026-11-01",
      "compatibility_flags": ["nodejs_compat"],
      "durable_objects": { "bindings": [
        { "name": "THING", "class_name": "Thing" },
        { "name": "PROBE", "class_name": "TestProbe" }, // defined in test/worker.ts only
        { "name": "REMOTE", "class_name": "Thing", "script_name": "other-worker" },
      ] },
      "migrations": [{ "tag": "v1", "new_sqlite_classes": ["Thing", "TestProbe"] }],
      "kv_namespaces": [{ "binding": "CACHE" }, { "binding": "TEST_KV" }, { "binding": "DEMO_KV" }],
      "workflows": [
        { "name": "w", "binding": "FLOW", "class_name": "Flow" },
        { "name": "demo", "binding": "DEMO_FLOW", "class_name": "DemoFlow" }, // test/ only
      ],
      "services": [
        { "binding": "SELF", "service": "t", "entrypoint": "Api" },
        { "binding": "TEST_PLANE", "service": "t", "entrypoint": "TestPlane" }, // test/worker.ts
        { "binding": "AUTH", "service": "auth-worker" },
      ],
      "vars": { "ONLY_FOR_TESTS": "1" },
    }`,
  );
  write(
    "packages/made-up/src/index.ts",
    `export { Thing } from "./thing";\nexport * from "./flow";\n`,
  );
  write("packages/made-up/src/thing.ts", `export class Thing {}\nexport const AUTH = "AUTH";\n`);
  write("packages/made-up/src/flow.ts", `export class Flow {}\nexport class Api {}\n`);
  write(
    "packages/made-up/README.md",
    '# made-up\n\n<!-- copy-check: wrangler.jsonc -->\n\n```jsonc\n{ "kv_namespaces": [{ "binding": "CACHE" }] }\n```\n\n<!-- copy-check: src/index.ts -->\n\n```ts\nimport { Thing } from "./made-up";\n```\n\n<!-- copy-check: .dev.vars -->\n\n```sh\nSECRET_KEY=x\n```\n',
  );
  // Still being written: no README yet, so not a pattern (and not reported).
  write("packages/unfinished/src/index.ts", "export {};\n");

  test("DO classes exported by src/index.ts, other bindings less the test-only, the rest", async () => {
    const made = await collectCatalog(root, "9.9.9");
    expect(made.skipped).toEqual([]);
    expect(made.patterns).toHaveLength(1);
    const [p] = made.patterns;
    expect(p).toMatchObject({
      name: "made-up",
      version: "1.2.3",
      description: "A made-up pattern",
      durableObjects: [{ className: "Thing", binding: "THING", storage: "sqlite" }],
      exports: ["Thing", "Flow", "Api"],
      dependencies: { hono: "^4.1.0" },
      compatibilityFlags: ["nodejs_compat"],
      secrets: ["SECRET_KEY"],
      notes: ["Read the README first"],
      quickStart: 'import { Thing } from "./made-up";',
    });
    expect(p?.bindings.map((b) => [b.section.join("."), b.entry, b.self])).toEqual([
      ["kv_namespaces", { binding: "CACHE" }, false],
      ["workflows", { name: "w", binding: "FLOW", class_name: "Flow" }, false],
      ["services", { binding: "SELF", service: "t", entrypoint: "Api" }, true],
      ["services", { binding: "AUTH", service: "auth-worker" }, false],
    ]);
    expect(p?.leftOut).toEqual([
      "kv_namespaces DEMO_KV (named neither in src/ nor in the README's wrangler.jsonc)",
      "workflows DEMO_FLOW (its class is not exported by src/index.ts)",
      "services TEST_PLANE (its entrypoint is not exported by src/index.ts)",
    ]);
  });

  test("doPatterns.durableObjects names the classes outright", async () => {
    const pkg = JSON.parse(readFileSync(join(root, "packages/made-up/package.json"), "utf8")) as {
      doPatterns: Record<string, unknown>;
    };
    pkg.doPatterns["durableObjects"] = [{ className: "Thing", binding: "MY_THING" }];
    write("packages/made-up/package.json", JSON.stringify(pkg));
    const made = await collectCatalog(root, "9.9.9");
    expect(made.patterns[0]?.durableObjects).toEqual([
      { className: "Thing", binding: "MY_THING", storage: "sqlite" },
    ]);
    pkg.doPatterns["durableObjects"] = [{ className: "TestProbe", binding: "PROBE" }];
    write("packages/made-up/package.json", JSON.stringify(pkg));
    const refused = await collectCatalog(root, "9.9.9");
    expect(refused.skipped).toEqual([
      { name: "made-up", reason: "src/index.ts does not export TestProbe" },
    ]);
    delete pkg.doPatterns["durableObjects"];
    write("packages/made-up/package.json", JSON.stringify(pkg));
  });

  test("a package it cannot read is left out with the reason", async () => {
    write(
      "packages/made-up/wrangler.jsonc",
      `{ "durable_objects": { "bindings": [{ "name": "T", "class_name": "Thing" }] }, "tail_consumers": [] }`,
    );
    const made = await collectCatalog(root, "9.9.9");
    expect(made.patterns).toEqual([]);
    expect(made.skipped).toEqual([
      {
        name: "made-up",
        reason: expect.stringContaining("tail_consumers, which the CLI does not know"),
      },
    ]);
  });
});
