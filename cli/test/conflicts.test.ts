// What add refuses, what it warns about, and its options: each refusal changes nothing.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { nextTag } from "../src/add.ts";
import { main } from "../src/cli.ts";
import type { Pattern } from "../src/types.ts";
import { FIXTURES, type Fixture } from "./fixtures.ts";
import {
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
const pattern = catalog.patterns[0] as Pattern;
const object = pattern.durableObjects[0] as Pattern["durableObjects"][number];
const jsonc = FIXTURES.find((f) => f.name === "jsonc") as Fixture;
const toml = FIXTURES.find((f) => f.name === "toml") as Fixture;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) removeDir(dir);
});

function project(fixture: Fixture, files: Record<string, string> = {}): string {
  const dir = makeProject(fixture, files);
  dirs.push(dir);
  return dir;
}

/** The fixture's files with Windows line ends. */
function crlf(fixture: Fixture): Record<string, string> {
  return Object.fromEntries(
    Object.entries(fixture.files).map(([path, text]) => [path, text.replaceAll("\n", "\r\n")]),
  );
}

/** Runs add and checks it refused without touching a file; returns what it said. */
async function refused(dir: string, argv: string[]): Promise<string> {
  const before = snapshot(dir);
  const run = await runCli(argv, dir, catalog);
  expect(run.code).not.toBe(0);
  expect(run.err).toContain("Nothing was changed");
  expect(snapshot(dir)).toEqual(before);
  return run.err;
}

const configText = (bindings: string, migrations: string) => `{
  "name": "w",
  "main": "src/index.ts",
  "compatibility_date": "2026-11-01",
  "durable_objects": { "bindings": [${bindings}] },
  "migrations": [${migrations}],
}
`;

describe("refuses", () => {
  test("a binding of that name for another class", async () => {
    const dir = project(jsonc, {
      "wrangler.jsonc": configText(`{ "name": "${object.binding}", "class_name": "Other" }`, ""),
    });
    const err = await refused(dir, ["add", pattern.name]);
    expect(err).toContain(`already binds ${object.binding} to Other`);
    expect(err).toContain("--binding");
  });

  test("the class bound under another name, and says which --binding keeps it", async () => {
    const dir = project(jsonc, {
      "wrangler.jsonc": configText(`{ "name": "MINE", "class_name": "${object.className}" }`, ""),
    });
    const err = await refused(dir, ["add", pattern.name]);
    expect(err).toContain(`--binding MINE`);
    // ... and with that name, it goes ahead.
    const run = await runCli(["add", pattern.name, "--binding", "MINE"], dir, catalog);
    expect(run.code).toBe(0);
  });

  test("a class of that name already in the migrations with key-value storage", async () => {
    const dir = project(jsonc, {
      "wrangler.jsonc": configText("", `{ "tag": "v1", "new_classes": ["${object.className}"] }`),
    });
    const err = await refused(dir, ["add", pattern.name]);
    expect(err).toContain(`already declare a class ${object.className} (kv)`);
  });

  test("copied files you edited, naming them, until --force", async () => {
    const dir = project(jsonc);
    expect((await runCli(["add", pattern.name], dir, catalog)).code).toBe(0);
    const edited = join(dir, "src", "patterns", pattern.name, "index.ts");
    writeFileSync(edited, `${readFileSync(edited, "utf8")}// my change\n`);
    const err = await refused(dir, ["add", pattern.name]);
    expect(err).toContain("    index.ts");
    expect(err).toContain("--force");
    const forced = await runCli(["add", pattern.name, "--force"], dir, catalog);
    expect(forced.code).toBe(0);
    expect(forced.out).toContain("overwrote your edits (--force) in index.ts");
    expect(readFileSync(edited, "utf8")).not.toContain("// my change");
  });

  test("a config it cannot extend without relayout, printing the lines to add by hand", async () => {
    const dir = project(toml, {
      "wrangler.toml": `name = "w"
main = "src/worker.ts"
compatibility_date = "2026-11-01"
durable_objects = { bindings = [ { name = "OTHER", class_name = "Other" } ] }
`,
    });
    const err = await refused(dir, ["add", pattern.name]);
    expect(err).toContain("add this by hand");
    expect(err).toContain("[[durable_objects.bindings]]");
    expect(err).toContain(`class_name = "${object.className}"`);
  });

  test("a project with no wrangler config, and a missing main module", async () => {
    const dir = project(jsonc);
    removeDir(join(dir, "wrangler.jsonc"));
    expect(await refused(dir, ["add", pattern.name])).toContain("no wrangler.jsonc");
    const other = project(jsonc);
    removeDir(join(other, "src", "index.ts"));
    expect(await refused(other, ["add", pattern.name])).toContain("does not exist");
  });

  test("--binding with a name that is not one", async () => {
    const dir = project(jsonc);
    expect(await refused(dir, ["add", pattern.name, "--binding", "no-dashes"])).toContain(
      "not a valid binding name",
    );
  });
});

describe("options and warnings", () => {
  test("--binding and --dir", async () => {
    const dir = project(jsonc);
    const run = await runCli(
      ["add", pattern.name, "--binding", "MY_BINDING", "--dir", "lib/do"],
      dir,
      catalog,
    );
    expect(run.code).toBe(0);
    const bound = list(record(readConfig(dir, jsonc)["durable_objects"])["bindings"]);
    expect(bound).toContainEqual({ name: "MY_BINDING", class_name: object.className });
    expect(readFileSync(join(dir, "src", "index.ts"), "utf8")).toContain(
      `export { ${pattern.exports.join(", ")} } from "../lib/do/${pattern.name}";`,
    );
    expect(run.out).toContain("MY_BINDING: DurableObjectNamespace");
    // Again with the same options: nothing to do.
    const again = await runCli(
      ["add", pattern.name, "--binding=MY_BINDING", "--dir=lib/do"],
      dir,
      catalog,
    );
    expect(again.out).toContain("nothing to change");
  });

  test("files with Windows line ends keep them", async () => {
    for (const fixture of [jsonc, toml]) {
      const dir = project(fixture, crlf(fixture));
      const run = await runCli(["add", pattern.name], dir, catalog);
      expect(run.code).toBe(0);
      for (const path of Object.keys(fixture.files)) {
        const text = readFileSync(join(dir, path), "utf8");
        expect(text.replaceAll("\r\n", "")).not.toContain("\n");
      }
      expect(list(record(readConfig(dir, fixture)["durable_objects"])["bindings"])).toHaveLength(
        pattern.durableObjects.length,
      );
      expect((await runCli(["add", pattern.name], dir, catalog)).out).toContain(
        "nothing to change",
      );
    }
  });

  test("several patterns at once, a binding named per class", async () => {
    const [first, second] = catalog.patterns;
    if (first === undefined || second === undefined) return;
    const dir = project(jsonc);
    const className = first.durableObjects[0]?.className ?? "";
    const names = ["add", first.name, second.name];
    expect((await runCli([...names, "--binding", "X"], dir, catalog)).code).toBe(2);
    expect((await runCli([...names, "--binding", "NoSuchClass=X"], dir, catalog)).code).toBe(2);
    const run = await runCli([...names, "--binding", `${className}=FIRST`], dir, catalog);
    expect(run.code).toBe(0);
    const bound = list(record(readConfig(dir, jsonc)["durable_objects"])["bindings"]);
    expect(bound).toContainEqual({ name: "FIRST", class_name: className });
    for (const d of second.durableObjects) {
      expect(bound).toContainEqual({ name: d.binding, class_name: d.className });
    }
  });

  test("--dry-run writes nothing", async () => {
    const dir = project(toml);
    const before = snapshot(dir);
    const run = await runCli(["add", pattern.name, "--dry-run"], dir, catalog);
    expect(run.code).toBe(0);
    expect(run.out).toContain("nothing written");
    expect(snapshot(dir)).toEqual(before);
  });

  test("warns about a main module without a default export, and still adds", async () => {
    const dir = project(jsonc, { "src/index.ts": "export const x = 1;\n" });
    const run = await runCli(["add", pattern.name], dir, catalog);
    expect(run.code).toBe(0);
    expect(run.out).toContain("has no default export");
  });

  test("keeps a dependency the project pins differently, and says so", async () => {
    const [dep] = Object.keys(pattern.dependencies);
    if (dep === undefined) return;
    const pkg = JSON.stringify({ name: "w", dependencies: { [dep]: "^0.0.1" } }, null, 2);
    const dir = project(jsonc, { "package.json": pkg });
    const run = await runCli(["add", pattern.name], dir, catalog);
    expect(run.code).toBe(0);
    expect(run.out).toContain(`package.json has ${dep} ^0.0.1`);
    const after = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    expect(after.dependencies[dep]).toBe("^0.0.1");
  });

  test("updates an unedited copy from another catalog version without --force", async () => {
    const dir = project(jsonc);
    const older = { ...catalog, version: "0.0.9" };
    expect((await runCli(["add", pattern.name], dir, older)).code).toBe(0);
    const run = await runCli(["add", pattern.name], dir, catalog);
    expect(run.code).toBe(0);
    expect(run.out).toContain("unedited copies of another version");
    const index = readFileSync(join(dir, "src", "patterns", pattern.name, "index.ts"), "utf8");
    expect(index.startsWith(`// do-patterns ${catalog.version},`)).toBe(true);
  });

  test("--install runs the project's package manager (pnpm here, from its lockfile)", async () => {
    const dir = project(jsonc, { "pnpm-lock.yaml": "lockfileVersion: '9.0'\n" });
    const installs: string[] = [];
    let out = "";
    const code = await main(["add", pattern.name, "--install"], catalog, {
      cwd: dir,
      out: (t) => (out += t),
      err: (t) => (out += t),
      ask: null,
      install: (pm, cwd) => {
        installs.push(`${pm} in ${cwd}`);
        return 0;
      },
    });
    expect(code).toBe(0);
    expect(installs).toEqual([`pnpm in ${dir}`]);
    expect(out).not.toContain("Install the dependencies");
    expect(out).toContain("pnpm wrangler types");
  });

  test("asks which pattern only when it can (a terminal, no --yes)", async () => {
    const dir = project(jsonc);
    const noTty = await runCli(["add"], dir, catalog);
    expect(noTty.code).toBe(2);
    expect(noTty.err).toContain(pattern.name);
    const yes = await runCli(["add", "--yes"], dir, catalog, "1");
    expect(yes.code).toBe(2);
    const asked = await runCli(["add"], dir, catalog, "1");
    expect(asked.code).toBe(0);
    expect(asked.out).toContain("Which pattern?");
    expect(asked.out).toContain(`Added ${pattern.name}`);
  });

  test("list shows every pattern on one line; unknown names are refused", async () => {
    const run = await runCli(["list"], ".", catalog);
    const lines = run.out.trimEnd().split("\n");
    expect(lines).toHaveLength(catalog.patterns.length);
    for (const p of catalog.patterns) expect(run.out).toContain(p.name);
    const unknown = await runCli(["add", "no-such-pattern"], ".", catalog);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("no pattern named no-such-pattern");
  });
});

describe("other bindings and flags (a made-up pattern that has them)", () => {
  const extended: Pattern = {
    ...pattern,
    name: "extended",
    compatibilityFlags: ["nodejs_compat"],
    exports: [...pattern.exports, "Api"],
    bindings: [
      {
        section: ["kv_namespaces"],
        array: true,
        key: "binding",
        entry: { binding: "CACHE_X" },
        self: false,
      },
      {
        section: ["services"],
        array: true,
        key: "binding",
        entry: { binding: "SELF_API", service: "the-package-worker", entrypoint: "Api" },
        self: true,
      },
      { section: ["ai"], array: false, key: "binding", entry: { binding: "AI" }, self: false },
    ],
  };
  const withExtended = { ...catalog, patterns: [extended] };

  test.each(FIXTURES)("into $name", async (fixture) => {
    const dir = project(fixture);
    const run = await runCli(["add", "extended"], dir, withExtended);
    expect(run.code).toBe(0);
    const config = readConfig(dir, fixture);
    expect(list(config["kv_namespaces"])).toContainEqual({ binding: "CACHE_X" });
    // The service binding to the pattern's own entrypoint now points at this Worker.
    expect(list(config["services"])).toContainEqual({
      binding: "SELF_API",
      service: config["name"],
      entrypoint: "Api",
    });
    expect(config["ai"]).toEqual({ binding: "AI" });
    expect(list(config["compatibility_flags"]).filter((f) => f === "nodejs_compat")).toHaveLength(
      1,
    );
    expect(readFileSync(join(dir, String(config["main"])), "utf8")).toContain(
      `export { ${object.className}, Api } from "./patterns/extended";`,
    );
    expect(run.out).toContain("kv_namespaces CACHE_X needs a real resource");
    const again = await runCli(["add", "extended"], dir, withExtended);
    expect(again.out).toContain("nothing to change");
  });

  test("refuses an ai binding of another name", async () => {
    const dir = project(jsonc, {
      "wrangler.jsonc": `{ "name": "w", "main": "src/index.ts", "ai": { "binding": "MY_AI" } }`,
    });
    const before = snapshot(dir);
    const run = await runCli(["add", "extended"], dir, withExtended);
    expect(run.code).toBe(1);
    expect(run.err).toContain("already binds ai as MY_AI");
    expect(snapshot(dir)).toEqual(before);
  });
});

test("nextTag: the next free vN, whatever the existing tags look like", () => {
  expect(nextTag([])).toBe("v1");
  expect(nextTag(["v1", "v2"])).toBe("v3");
  expect(nextTag(["v1", "v7"])).toBe("v8");
  expect(nextTag(["counter-1"])).toBe("v2");
  expect(nextTag(["init", "v2"])).toBe("v3");
  expect(nextTag(["a", "b", "v3"])).toBe("v4");
});
