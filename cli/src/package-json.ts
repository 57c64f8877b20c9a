// The project's package.json: the pattern's runtime dependencies, at the catalog's versions.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { jsoncSetSorted, parseJsonc } from "./jsonc.ts";
import { asRecord, lf, sameEol, type Json, type Plan } from "./plan.ts";
import type { Pattern } from "./types.ts";

// package.json

export function planPackageJson(project: string, pattern: Pattern, plan: Plan) {
  const deps = Object.entries(pattern.dependencies);
  if (deps.length === 0) return;
  const path = join(project, "package.json");
  if (!existsSync(path)) {
    plan.warnings.push(
      `no package.json here: install the pattern's dependencies yourself: ` +
        deps.map(([n, v]) => `${n}@${v}`).join(" "),
    );
    return;
  }
  const original = readFileSync(path, "utf8");
  let text = lf(original);
  let pkg: Json;
  try {
    pkg = asRecord(parseJsonc(text, "package.json"));
  } catch (error) {
    plan.errors.push(String(error instanceof Error ? error.message : error));
    return;
  }
  const added: string[] = [];
  for (const [name, version] of deps) {
    const own = asRecord(pkg["dependencies"])[name];
    const dev = asRecord(pkg["devDependencies"])[name];
    if (own === version) continue;
    if (own !== undefined) {
      plan.warnings.push(
        `package.json has ${name} ${String(own)}; the catalog's ${pattern.name} is tested ` +
          `with ${version} (left as is)`,
      );
      continue;
    }
    if (dev !== undefined) {
      plan.warnings.push(
        `package.json has ${name} ${String(dev)} in devDependencies; ${pattern.name} uses it at ` +
          `run time (wrangler bundles it either way; left as is)`,
      );
      continue;
    }
    text = jsoncSetSorted(text, ["dependencies"], name, version);
    added.push(`${name} ${version}`);
  }
  if (added.length === 0) return;
  plan.writes.push({ path, content: sameEol(original, text) });
  plan.changes.push(`package.json: added ${added.join(", ")} to dependencies`);
  plan.dependenciesAdded = true;
}
