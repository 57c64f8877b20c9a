// The text edits on their own: each adds what it should in the file's own style and leaves
// every other byte where it was.
import { parse as parseToml } from "smol-toml";
import { describe, expect, test } from "vitest";
import { jsoncAppend, jsoncSet, jsoncSetSorted, parseJsonc } from "../src/jsonc.ts";
import { editMainModule } from "../src/main-module.ts";
import { tomlAddStrings, tomlAppendTable, tomlSetTable } from "../src/toml.ts";

const BINDING = { name: "B", class_name: "B" };

describe("jsonc", () => {
  test("a one-line array grows on its line", () => {
    const text = `{\n  "bindings": [{ "name": "A", "class_name": "A" }], // mine\n}\n`;
    expect(jsoncAppend(text, ["bindings"], BINDING)).toBe(
      `{\n  "bindings": [{ "name": "A", "class_name": "A" }, { "name": "B", "class_name": "B" }], // mine\n}\n`,
    );
  });

  test("a one-line array too long for its line is split, one element per line", () => {
    const text = `{\n  "durable_objects": {\n    "bindings": [{ "name": "RATE_LIMITER", "class_name": "RateLimiter" }],\n  },\n}\n`;
    const out = jsoncAppend(text, ["durable_objects", "bindings"], {
      name: "SESSIONS",
      class_name: "Session",
    });
    expect(out).toBe(
      `{\n  "durable_objects": {\n    "bindings": [\n      { "name": "RATE_LIMITER", "class_name": "RateLimiter" },\n      { "name": "SESSIONS", "class_name": "Session" },\n    ],\n  },\n}\n`,
    );
  });

  test("a multi-line array: same indentation, comment stays on its line, comma style kept", () => {
    const noTrailing = `{\n\t"m": [\n\t\t{ "tag": "v1" } // first\n\t]\n}`;
    expect(jsoncAppend(noTrailing, ["m"], { tag: "v2" })).toBe(
      `{\n\t"m": [\n\t\t{ "tag": "v1" }, // first\n\t\t{ "tag": "v2" }\n\t]\n}`,
    );
    const trailing = `{\n  "m": [\n    { "tag": "v1" },\n  ],\n}`;
    expect(jsoncAppend(trailing, ["m"], { tag: "v2" })).toBe(
      `{\n  "m": [\n    { "tag": "v1" },\n    { "tag": "v2" },\n  ],\n}`,
    );
  });

  test("missing sections are created after the last property, keeping its comment", () => {
    const text = `// top\n{\n  "name": "w", // the name\n  "main": "src/index.ts" /* main */\n}\n`;
    const out = jsoncAppend(text, ["durable_objects", "bindings"], BINDING);
    expect(out).toBe(
      `// top\n{\n  "name": "w", // the name\n  "main": "src/index.ts", /* main */\n  "durable_objects": {\n    "bindings": [{ "name": "B", "class_name": "B" }]\n  }\n}\n`,
    );
    expect(parseJsonc(out, "out")).toEqual({
      name: "w",
      main: "src/index.ts",
      durable_objects: { bindings: [BINDING] },
    });
  });

  test("an empty object or array", () => {
    expect(jsoncAppend(`{ "a": [] }`, ["a"], 1)).toBe(`{ "a": [1] }`);
    expect(jsoncSet(`{}`, ["ai"], { binding: "AI" })).toBe(
      `{\n  "ai": {\n    "binding": "AI"\n  }\n}`,
    );
  });

  test("dependencies go in alphabetical order when they are in it", () => {
    const text = `{\n  "dependencies": {\n    "a": "1",\n    "c": "3"\n  }\n}\n`;
    expect(jsoncSetSorted(text, ["dependencies"], "b", "2")).toBe(
      `{\n  "dependencies": {\n    "a": "1",\n    "b": "2",\n    "c": "3"\n  }\n}\n`,
    );
    expect(jsoncSetSorted(text, ["dependencies"], "d", "4")).toBe(
      `{\n  "dependencies": {\n    "a": "1",\n    "c": "3",\n    "d": "4"\n  }\n}\n`,
    );
  });
});

describe("toml", () => {
  test("a table goes after the last of its kind, before the next table's comment", () => {
    const text = `name = "w"\n\n[[migrations]]\ntag = "v1"\n\n# KV\n[[kv_namespaces]]\nbinding = "K"\n`;
    const out = tomlAppendTable(text, ["migrations"], { tag: "v2", new_sqlite_classes: ["B"] });
    expect(out).toBe(
      `name = "w"\n\n[[migrations]]\ntag = "v1"\n\n[[migrations]]\ntag = "v2"\nnew_sqlite_classes = ["B"]\n\n# KV\n[[kv_namespaces]]\nbinding = "K"\n`,
    );
    expect(parseToml(out)["migrations"]).toEqual([
      { tag: "v1" },
      { tag: "v2", new_sqlite_classes: ["B"] },
    ]);
  });

  test("a new kind of table goes at the end; a one-table section too", () => {
    const text = `name = "w" # mine\n`;
    expect(tomlAppendTable(text, ["durable_objects", "bindings"], BINDING)).toBe(
      `name = "w" # mine\n\n[[durable_objects.bindings]]\nname = "B"\nclass_name = "B"\n`,
    );
    expect(tomlSetTable(text, ["ai"], { binding: "AI" })).toBe(
      `name = "w" # mine\n\n[ai]\nbinding = "AI"\n`,
    );
  });

  test("compatibility flags: into the one-line array, or a new line after the date", () => {
    const existing = `compatibility_flags = [ "a" ] # why\n\n[vars]\nX = "1"\n`;
    expect(tomlAddStrings(existing, "compatibility_flags", ["b"])).toBe(
      `compatibility_flags = [ "a", "b"] # why\n\n[vars]\nX = "1"\n`,
    );
    const none = `name = "w"\ncompatibility_date = "2026-11-01"\n\n[vars]\n`;
    expect(tomlAddStrings(none, "compatibility_flags", ["b"])).toBe(
      `name = "w"\ncompatibility_date = "2026-11-01"\ncompatibility_flags = ["b"]\n\n[vars]\n`,
    );
  });
});

describe("the main module", () => {
  test("the export goes after the last import; a default export is recognized", () => {
    const text = `import { Hono } from "hono";\nimport {\n  a,\n  b,\n} from "./x";\n\nexport default new Hono();\n`;
    const edit = editMainModule(text, ["A"], "./patterns/a");
    expect(edit.text).toBe(
      `import { Hono } from "hono";\nimport {\n  a,\n  b,\n} from "./x";\nexport { A } from "./patterns/a";\n\nexport default new Hono();\n`,
    );
    expect(edit.hasDefaultExport).toBe(true);
  });

  test("already exported (directly, re-exported, or by export *): nothing added", () => {
    for (const text of [
      `export { A } from "./patterns/a";\nexport default {};\n`,
      `import { A, b } from "./patterns/a/index";\nexport { A, b };\nexport default {};\n`,
      `export * from "./patterns/a";\nexport { x as default };\n`,
    ]) {
      const edit = editMainModule(text, ["A"], "./patterns/a");
      expect(edit.text).toBeNull();
      expect(edit.exportedElsewhere).toEqual([]);
      expect(edit.hasDefaultExport).toBe(true);
    }
  });

  test("a class of that name from elsewhere is reported, not replaced; comments are not code", () => {
    const text = `// export { A } from "./patterns/a";\nexport class A {}\n`;
    const edit = editMainModule(text, ["A"], "./patterns/a");
    expect(edit.text).toBeNull();
    expect(edit.exportedElsewhere).toEqual([{ name: "A", from: "(this module)" }]);
    expect(edit.hasDefaultExport).toBe(false);
  });
});
