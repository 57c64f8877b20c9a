// `do-patterns add`: work out every change first (files, package.json, the wrangler config, the
// main module), refuse before writing anything if one of them conflicts, then write them all.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { planFiles } from "./copy.ts";
import { editMainModule } from "./main-module.ts";
import { planPackageJson } from "./package-json.ts";
import {
  detectPackageManager,
  display,
  isInside,
  lf,
  sameEol,
  type AddOptions,
  type Json,
  type Plan,
} from "./plan.ts";
import type { Pattern } from "./types.ts";
import { planConfig, type ConfigInfo } from "./wrangler-config.ts";

export type { AddOptions, Plan } from "./plan.ts";
export { detectPackageManager } from "./plan.ts";
export { nextTag } from "./wrangler-config.ts";

export function planAdd(
  project: string,
  pattern: Pattern,
  catalogVersion: string,
  options: AddOptions,
): Plan {
  const plan: Plan = {
    writes: [],
    changes: [],
    warnings: [],
    errors: [],
    nextSteps: [],
    dependenciesAdded: false,
    packageManager: detectPackageManager(project),
  };
  const target = resolve(project, options.dir, pattern.name);
  if (!isInside(project, target)) {
    plan.errors.push(`--dir ${options.dir} is outside the project`);
    return plan;
  }
  const bindings = bindingNames(pattern, options.bindings, plan);
  planFiles(project, target, pattern, catalogVersion, options.force, plan);
  planPackageJson(project, pattern, plan);
  const config = planConfig(project, pattern, bindings, options.config, plan);
  if (config !== null) planMainModule(project, config.main, target, pattern, plan);
  planNextSteps(project, target, pattern, bindings, config, plan);
  return plan;
}

export function applyPlan(plan: Plan): void {
  for (const { path, content } of plan.writes) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  }
}

/** class name -> binding name, with the user's --binding choices applied. */
function bindingNames(pattern: Pattern, chosen: Map<string, string>, plan: Plan) {
  const names = new Map(pattern.durableObjects.map((d) => [d.className, d.binding]));
  for (const [className, binding] of chosen) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(binding)) {
      plan.errors.push(`--binding ${binding} is not a valid binding name (letters, digits, _)`);
    } else if (className === "") {
      if (pattern.durableObjects.length === 1)
        names.set(pattern.durableObjects[0]?.className ?? "", binding);
      else {
        plan.errors.push(
          `${pattern.name} has ${pattern.durableObjects.length} Durable Object classes: ` +
            `name each binding with --binding Class=NAME (${[...names.keys()].join(", ")})`,
        );
      }
    } else if (names.has(className)) names.set(className, binding);
    else
      plan.errors.push(
        `--binding ${className}=${binding}: ${pattern.name} has no class ${className}`,
      );
  }
  return names;
}

// The main module

function planMainModule(
  project: string,
  main: string | null,
  target: string,
  pattern: Pattern,
  plan: Plan,
) {
  let specifier = relative(main === null ? project : dirname(main), target)
    .split(sep)
    .join("/");
  if (!specifier.startsWith(".")) specifier = `./${specifier}`;
  const line = `export { ${pattern.exports.join(", ")} } from "${specifier}";`;
  if (main === null) {
    plan.warnings.push(
      `the wrangler config has no main: export the classes from your main module:\n    ${line}`,
    );
    return;
  }
  const shown = display(project, main);
  if (!existsSync(main)) {
    plan.errors.push(
      `the main module ${shown} (the config's main) does not exist: create it first`,
    );
    return;
  }
  const original = readFileSync(main, "utf8");
  const edit = editMainModule(lf(original), pattern.exports, specifier);
  for (const { name, from } of edit.exportedElsewhere) {
    plan.warnings.push(
      `${shown} already exports ${name} from ${from}; left as is (it must be ${pattern.name}'s ` +
        `class or a subclass of it)`,
    );
  }
  if (edit.text !== null && edit.line !== null) {
    plan.writes.push({ path: main, content: sameEol(original, edit.text) });
    plan.changes.push(`${shown}: ${edit.line}`);
  }
  if (!edit.hasDefaultExport) {
    plan.warnings.push(
      `${shown} has no default export: workerd will not start a main module that only exports ` +
        `classes ("Cannot initialize ExportedHandler"); give it a fetch handler or a Hono app ` +
        `(export default app)`,
    );
  }
}

// Next steps

const RESOURCE_HINTS: Record<string, (e: Json) => string> = {
  kv_namespaces: (e) => `npx wrangler kv namespace create ${String(e["binding"])}, then set its id`,
  r2_buckets: (e) => `npx wrangler r2 bucket create ${String(e["bucket_name"])}`,
  d1_databases: (e) => `npx wrangler d1 create ${String(e["database_name"])}, then set database_id`,
  queues: (e) => `npx wrangler queues create ${String(e["queue"])}`,
  hyperdrive: () => `npx wrangler hyperdrive create ..., then set its id`,
  vectorize: (e) => `npx wrangler vectorize create ${String(e["index_name"])}`,
  services: (e) => `deploy the Worker "${String(e["service"])}" it points at, or point it at yours`,
};

function planNextSteps(
  project: string,
  target: string,
  pattern: Pattern,
  bindings: Map<string, string>,
  config: ConfigInfo | null,
  plan: Plan,
) {
  const configFile = config?.file ?? null;
  const pm = plan.packageManager;
  const steps = plan.nextSteps;
  if (plan.dependenciesAdded) steps.push(`Install the dependencies: ${pm} install`);
  const wrangler = {
    npm: "npx wrangler",
    pnpm: "pnpm wrangler",
    yarn: "yarn wrangler",
    bun: "bunx wrangler",
  }[pm];
  const env = pattern.durableObjects
    .map((d) => `${bindings.get(d.className) ?? d.binding}: DurableObjectNamespace<${d.className}>`)
    .join(", ");
  steps.push(`Refresh your Env types: ${wrangler} types (adds ${env})`);
  for (const b of pattern.bindings.filter((x) => !x.self)) {
    const hint = RESOURCE_HINTS[b.section[0] ?? ""];
    const name = `${b.section.join(".")} ${String(b.entry[b.key])}`;
    steps.push(
      hint === undefined
        ? `Check the ${name} binding copied into ${configFile ?? "your config"}`
        : `${name} needs a real resource: ${hint(b.entry)}`,
    );
  }
  for (const secret of pattern.secrets) {
    steps.push(
      `${secret}: the code reads it (for its admin routes); locally put ${secret}=... in ` +
        `.dev.vars (keep it out of git), in production ${wrangler} secret put ${secret}`,
    );
  }
  steps.push(...pattern.notes);
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  if (major < 22 || (major === 22 && minor < 12)) {
    steps.push(`Use Node.js 22.12 or later for wrangler 4 (this is ${process.versions.node})`);
  }
  if (pattern.quickStart !== null) {
    const from =
      config?.main === null || config === null ? join(project, "src") : dirname(config.main);
    let specifier = relative(from, target).split(sep).join("/");
    if (!specifier.startsWith(".")) specifier = `./${specifier}`;
    let snippet = pattern.quickStart.replaceAll(`"./${pattern.name}"`, `"${specifier}"`);
    for (const d of pattern.durableObjects) {
      const chosen = bindings.get(d.className);
      if (chosen !== undefined && chosen !== d.binding) {
        snippet = snippet.replace(new RegExp(`\\b${d.binding}\\b`, "g"), chosen);
      }
    }
    steps.push(
      `Use it, as in ${pattern.name}'s README quick start:\n\n${snippet.replace(/^(?=.)/gm, "      ")}`,
    );
  }
}
