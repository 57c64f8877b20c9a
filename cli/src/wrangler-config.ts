// The project's wrangler config: Durable Object bindings, a migration, compatibility flags and
// the pattern's other bindings, added as text (comments and layout kept) and then checked by
// parsing the result.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { parse as parseToml, TomlError } from "smol-toml";
import { jsoncAppend, jsoncSet, parseJsonc } from "./jsonc.ts";
import { asArray, asRecord, display, lf, sameEol, type Json, type Plan } from "./plan.ts";
import { tomlAddStrings, tomlAppendTable, tomlSetTable, tomlTable, tomlValue } from "./toml.ts";
import type { OtherBinding, Pattern } from "./types.ts";

export const CONFIG_NAMES = ["wrangler.json", "wrangler.jsonc", "wrangler.toml"];

/** A change to the wrangler config, applied to the text and, to check it, to the parsed value. */
type ConfigChange =
  | { kind: "append"; path: string[]; item: Json }
  | { kind: "set"; path: string[]; value: Json }
  | { kind: "strings"; path: string[]; values: string[] };

// The wrangler config

export interface ConfigInfo {
  file: string;
  main: string | null;
}

export function planConfig(
  project: string,
  pattern: Pattern,
  bindings: Map<string, string>,
  chosen: string | null,
  plan: Plan,
): ConfigInfo | null {
  const found = CONFIG_NAMES.filter((name) => existsSync(join(project, name)));
  const file = chosen ?? found[0];
  if (file === undefined) {
    plan.errors.push(
      `no wrangler.jsonc, wrangler.json or wrangler.toml in ${project}: run this in your ` +
        `Worker's root folder (or pass --config <file>)`,
    );
    return null;
  }
  if (chosen === null && found.length > 1) {
    plan.warnings.push(`found ${found.join(" and ")}; editing ${file}, the one wrangler reads`);
  }
  const path = resolve(project, file);
  if (!existsSync(path)) {
    plan.errors.push(`--config ${file}: no such file`);
    return null;
  }
  const toml = file.endsWith(".toml");
  const original = readFileSync(path, "utf8");
  const text = lf(original);
  let config: Json;
  try {
    config = parseConfig(text, toml, file);
  } catch (error) {
    plan.errors.push(error instanceof Error ? error.message : String(error));
    return null;
  }
  const main = typeof config["main"] === "string" ? resolve(dirname(path), config["main"]) : null;
  const shown = display(project, path);
  const changes: ConfigChange[] = [];
  const described: string[] = [];

  // Durable Object bindings.
  const existing = asArray(asRecord(config["durable_objects"])["bindings"]).map(asRecord);
  const classesState = migrationState(config);
  const newSqlite: string[] = [];
  const newKv: string[] = [];
  for (const object of pattern.durableObjects) {
    const binding = bindings.get(object.className) ?? object.binding;
    const byName = existing.find((b) => b["name"] === binding);
    const byClass = existing.find(
      (b) => b["class_name"] === object.className && b["script_name"] === undefined,
    );
    if (byName !== undefined) {
      if (byName["class_name"] !== object.className || byName["script_name"] !== undefined) {
        const other =
          byName["script_name"] === undefined ? "" : ` of ${String(byName["script_name"])}`;
        plan.errors.push(
          `${shown} already binds ${binding} to ${String(byName["class_name"])}${other}: ` +
            `choose another name for ${object.className} with --binding`,
        );
        continue;
      }
    } else if (byClass !== undefined) {
      const flag = pattern.durableObjects.length === 1 ? "" : `${object.className}=`;
      plan.errors.push(
        `${shown} already binds ${object.className} as ${String(byClass["name"])}: run again ` +
          `with --binding ${flag}${String(byClass["name"])} to keep that name`,
      );
      continue;
    } else {
      const item = { name: binding, class_name: object.className };
      changes.push({ kind: "append", path: ["durable_objects", "bindings"], item });
      described.push(`bound ${binding} to ${object.className}`);
    }
    const state = classesState.get(object.className);
    if (state === undefined)
      (object.storage === "sqlite" ? newSqlite : newKv).push(object.className);
    else if (state !== object.storage) {
      plan.errors.push(
        `${shown}'s migrations already declare a class ${object.className} (${state}); ` +
          `${pattern.name} needs a new ${object.storage === "sqlite" ? "SQLite-backed " : ""}class of that name`,
      );
    }
  }
  if (newSqlite.length > 0 || newKv.length > 0) {
    const tags = asArray(config["migrations"]).map((m) => String(asRecord(m)["tag"]));
    const item: Json = { tag: nextTag(tags) };
    if (newSqlite.length > 0) item["new_sqlite_classes"] = newSqlite;
    if (newKv.length > 0) item["new_classes"] = newKv;
    changes.push({ kind: "append", path: ["migrations"], item });
    described.push(`migration ${String(item["tag"])} (${[...newSqlite, ...newKv].join(", ")})`);
  }

  // Compatibility flags and date.
  const flags = asArray(config["compatibility_flags"]).map(String);
  const missingFlags = pattern.compatibilityFlags.filter((f) => !flags.includes(f));
  if (missingFlags.length > 0) {
    changes.push({ kind: "strings", path: ["compatibility_flags"], values: missingFlags });
    described.push(`compatibility_flags += ${missingFlags.join(", ")}`);
  }
  const date = typeof config["compatibility_date"] === "string" ? config["compatibility_date"] : "";
  if (date === "") {
    plan.warnings.push(
      `${shown} has no compatibility_date; ${pattern.name} is tested with ${pattern.compatibilityDate}`,
    );
  } else if (pattern.compatibilityDate !== "" && date < pattern.compatibilityDate) {
    plan.warnings.push(
      `${shown}'s compatibility_date is ${date}; ${pattern.name} is tested with ` +
        `${pattern.compatibilityDate} (consider moving it forward)`,
    );
  }

  // Other bindings.
  for (const binding of pattern.bindings) {
    const change = planOtherBinding(config, binding, shown, plan);
    if (change !== null) {
      changes.push(change);
      described.push(`${binding.section.join(".")}: ${String(binding.entry[binding.key])}`);
    }
  }

  const environments = Object.keys(asRecord(config["env"]));
  if (environments.length > 0 && changes.length > 0) {
    plan.warnings.push(
      `${shown} has environments (${environments.join(", ")}): bindings are not inherited, ` +
        `so add the same durable_objects (and other bindings) under each env you deploy`,
    );
  }

  if (changes.length > 0) {
    const edited = editConfig(text, toml, changes, file);
    if (typeof edited === "string") {
      plan.writes.push({ path, content: sameEol(original, edited) });
      plan.changes.push(`${shown}: ${described.join("; ")}`);
    } else plan.errors.push(edited.error);
  }
  return { file: shown, main };
}

function parseConfig(text: string, toml: boolean, file: string): Json {
  if (!toml) return asRecord(parseJsonc(text, file));
  try {
    return parseToml(text) as Json;
  } catch (error) {
    const detail = error instanceof TomlError ? ` (line ${error.line})` : "";
    throw new Error(`${file} is not valid TOML${detail}`, { cause: error });
  }
}

/** Class name -> storage, replaying the migrations in order. */
function migrationState(config: Json): Map<string, string> {
  const state = new Map<string, string>();
  for (const m of asArray(config["migrations"]).map(asRecord)) {
    for (const c of asArray(m["new_sqlite_classes"])) state.set(String(c), "sqlite");
    for (const c of asArray(m["new_classes"])) state.set(String(c), "kv");
    for (const r of asArray(m["renamed_classes"]).map(asRecord)) {
      const from = state.get(String(r["from"]));
      state.delete(String(r["from"]));
      state.set(String(r["to"]), from ?? "renamed");
    }
    for (const t of asArray(m["transferred_classes"]).map(asRecord)) {
      state.set(String(t["to"]), "transferred");
    }
    for (const c of asArray(m["deleted_classes"])) state.delete(String(c));
  }
  return state;
}

/** The next free tag: v1, v2 -> v3; other styles ("counter-1") -> v<count + 1>, if free. */
export function nextTag(tags: string[]): string {
  const numbers = tags.map((t) => /^v(\d+)$/.exec(t)?.[1]).filter((n) => n !== undefined);
  let n = Math.max(tags.length, ...numbers.map(Number)) + 1;
  while (tags.includes(`v${n}`)) n++;
  return `v${n}`;
}

function planOtherBinding(config: Json, binding: OtherBinding, shown: string, plan: Plan) {
  const { section, array, key } = binding;
  let entry = binding.entry;
  if (binding.self) {
    if (typeof config["name"] !== "string") {
      plan.errors.push(
        `${shown} has no name, which the ${String(entry[key])} service binding needs`,
      );
      return null;
    }
    entry = { ...entry, service: config["name"] };
  }
  const name = String(entry[key]);
  const label = `${section.join(".")} ${name}`;
  let current: unknown = config;
  for (const part of section) current = asRecord(current)[part];
  if (!array) {
    if (current === undefined) return { kind: "set", path: section, value: entry } as ConfigChange;
    if (asRecord(current)[key] !== name) {
      plan.errors.push(
        `${shown} already binds ${section.join(".")} as ${String(asRecord(current)[key])}; ` +
          `the pattern expects ${name}`,
      );
    }
    return null;
  }
  const same = asArray(current)
    .map(asRecord)
    .find((e) => e[key] === name);
  if (same === undefined) return { kind: "append", path: section, item: entry } as ConfigChange;
  if (isDeepStrictEqual(same, entry)) return null;
  if (section[0] === "workflows" && same["class_name"] !== entry["class_name"]) {
    plan.errors.push(
      `${shown} already has the workflow binding ${name} for class ${String(same["class_name"])}; ` +
        `the pattern's is ${String(entry["class_name"])}`,
    );
  } else plan.warnings.push(`${shown} already has ${label}: kept your settings`);
  return null;
}

/** Applies the changes to the text, then checks that the result parses to what was planned. */
function editConfig(
  text: string,
  toml: boolean,
  changes: ConfigChange[],
  file: string,
): string | { error: string } {
  let edited = text;
  try {
    for (const change of changes)
      edited = toml ? editToml(edited, change) : editJsonc(edited, change);
    const expected = parseConfig(text, toml, file);
    for (const change of changes) applyToValue(expected, change);
    if (isDeepStrictEqual(plain(parseConfig(edited, toml, file)), plain(expected))) return edited;
  } catch {
    // Reported below, with the lines to add by hand.
  }
  const snippet = changes.map((c) => (toml ? tomlSnippet(c) : jsonSnippet(c))).join("\n");
  return {
    error:
      `could not edit ${file} without changing its layout (nothing was changed); add this by ` +
      `hand:\n${snippet.replace(/^/gm, "    ")}`,
  };
}

/** Through JSON: smol-toml's objects have no prototype, and its dates become strings. */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

function editJsonc(text: string, change: ConfigChange): string {
  if (change.kind === "append") return jsoncAppend(text, change.path, change.item);
  if (change.kind === "set") return jsoncSet(text, change.path, change.value);
  let out = text;
  for (const value of change.values) out = jsoncAppend(out, change.path, value);
  return out;
}

function editToml(text: string, change: ConfigChange): string {
  if (change.kind === "append") return tomlAppendTable(text, change.path, change.item);
  if (change.kind === "set") return tomlSetTable(text, change.path, change.value);
  return tomlAddStrings(text, change.path.join("."), change.values);
}

function applyToValue(config: Json, change: ConfigChange): void {
  let parent = config;
  for (const part of change.path.slice(0, -1)) {
    if (parent[part] === undefined) parent[part] = {};
    parent = asRecord(parent[part]);
  }
  const last = change.path.at(-1) ?? "";
  if (change.kind === "set") parent[last] = change.value;
  else {
    const list = Array.isArray(parent[last]) ? (parent[last] as unknown[]) : [];
    parent[last] = list;
    if (change.kind === "append") list.push(change.item);
    else list.push(...change.values);
  }
}

function jsonSnippet(change: ConfigChange): string {
  const where = change.path.join(".");
  if (change.kind === "append") return `${where}: add ${JSON.stringify(change.item)}`;
  if (change.kind === "set") return `${where}: ${JSON.stringify(change.value)}`;
  return `${where}: add ${change.values.map((v) => JSON.stringify(v)).join(", ")}`;
}

function tomlSnippet(change: ConfigChange): string {
  const key = change.path.join(".");
  if (change.kind === "append") return tomlTable(`[[${key}]]`, change.item);
  if (change.kind === "set") return tomlTable(`[${key}]`, change.value);
  return `${key} = ${tomlValue(change.values)}   # added to yours`;
}
