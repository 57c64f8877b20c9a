// The command line: `do-patterns add <pattern>`, `do-patterns list`. `main` takes its input and
// output as arguments so the tests can run it in-process; bin.ts wires it to the process.
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { createInterface } from "node:readline/promises";
import { applyPlan, detectPackageManager, planAdd, type Plan } from "./add.ts";
import type { Catalog, Pattern } from "./types.ts";

export interface Io {
  cwd: string;
  out: (text: string) => void;
  err: (text: string) => void;
  /** Asks a question on a terminal; null when stdin is not one (then the CLI never asks). */
  ask: ((question: string) => Promise<string>) | null;
  /** Runs the project's package manager (--install); returns its exit code. */
  install: (packageManager: string, cwd: string) => number;
}

const USAGE = `Usage:
  do-patterns add [pattern ...] [options]   copy a pattern into the Worker in this folder
  do-patterns list [--json]                 the patterns, one line each

Options for add:
  --dir <folder>        where patterns go (default src/patterns): <folder>/<pattern>/
  --binding <NAME>      the Durable Object binding's name (Class=NAME when a pattern has several)
  --config <file>       the wrangler config to edit (default: wrangler.json, .jsonc or .toml)
  --force               replace copied files you have edited
  --install             run the project's package manager after adding dependencies
  --dry-run             show what would change, change nothing
  --yes, -y             never ask (with no pattern named, fail instead)
  --cwd <folder>        the Worker project (default: the current folder)
`;

interface Args {
  command: string | null;
  names: string[];
  dir: string;
  bindings: Map<string, string>;
  config: string | null;
  force: boolean;
  install: boolean;
  dryRun: boolean;
  yes: boolean;
  json: boolean;
  cwd: string | null;
  help: boolean;
  version: boolean;
}

export async function main(argv: string[], catalog: Catalog, io: Io): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (error) {
    io.err(`do-patterns: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (args.version) {
    io.out(`${catalog.version}\n`);
    return 0;
  }
  if (args.help || args.command === null || args.command === "help") {
    io.out(`do-patterns ${catalog.version}: Durable Object patterns for your Worker\n\n${USAGE}`);
    return args.command === null && !args.help ? 2 : 0;
  }
  if (args.command === "list") {
    if (args.json) {
      const list = catalog.patterns.map((p) => ({ name: p.name, description: p.description }));
      io.out(`${JSON.stringify(list, null, 2)}\n`);
    } else io.out(listing(catalog.patterns));
    return 0;
  }
  if (args.command !== "add") {
    io.err(`do-patterns: unknown command "${args.command}"\n\n${USAGE}`);
    return 2;
  }

  const project = resolve(io.cwd, args.cwd ?? ".");
  let names = args.names;
  if (names.length === 0) {
    if (args.yes || io.ask === null) {
      io.err(`do-patterns add: which pattern? Name one:\n${listing(catalog.patterns)}`);
      return 2;
    }
    const chosen = await choose(catalog.patterns, io.ask, io);
    if (chosen === null) return 2;
    names = [chosen];
  }
  const unknown = names.filter((n) => !catalog.patterns.some((p) => p.name === n));
  if (unknown.length > 0) {
    io.err(
      `do-patterns add: no pattern named ${unknown.join(", ")}; the patterns are:\n${listing(catalog.patterns)}`,
    );
    return 2;
  }

  if (names.length > 1 && args.bindings.has("")) {
    io.err(`do-patterns add: with several patterns, name each binding: --binding Class=NAME\n`);
    return 2;
  }
  const chosen = names.map((n) => catalog.patterns.find((p) => p.name === n) as Pattern);
  const classes = new Set(chosen.flatMap((p) => p.durableObjects.map((d) => d.className)));
  const strays = [...args.bindings.keys()].filter((c) => c !== "" && !classes.has(c));
  if (strays.length > 0) {
    io.err(
      `do-patterns add: --binding for ${strays.join(", ")}: no such class in ${names.join(", ")}\n`,
    );
    return 2;
  }
  for (const pattern of chosen) {
    const own = pattern.durableObjects.map((d) => d.className);
    const bindings = new Map([...args.bindings].filter(([c]) => c === "" || own.includes(c)));
    const plan = planAdd(project, pattern, catalog.version, {
      dir: args.dir,
      bindings,
      force: args.force,
      config: args.config,
    });
    const code = report(plan, pattern, catalog.version, project, args, io);
    if (code !== 0) return code;
  }
  return 0;
}

function report(
  plan: Plan,
  pattern: Pattern,
  version: string,
  project: string,
  args: Args,
  io: Io,
) {
  const title = `${pattern.name} (do-patterns ${version}) into ${project}`;
  if (plan.errors.length > 0) {
    io.err(`Not adding ${title}:\n\n`);
    for (const e of plan.errors) io.err(`  ✗ ${e}\n`);
    io.err(`\nNothing was changed.\n`);
    return 1;
  }
  const warnings = plan.warnings.map((w) => `  ! ${w}\n`).join("");
  if (plan.writes.length === 0) {
    io.out(`${pattern.name} is already in ${project}: nothing to change.\n`);
    if (warnings !== "") io.out(`\n${warnings}`);
    return 0;
  }
  if (args.dryRun) {
    io.out(`Would add ${title} (--dry-run: nothing written):\n\n`);
    for (const c of plan.changes) io.out(`  ${c}\n`);
    if (warnings !== "") io.out(`\n${warnings}`);
    return 0;
  }
  applyPlan(plan);
  io.out(`Added ${title}:\n\n`);
  for (const c of plan.changes) io.out(`  ✓ ${c}\n`);
  if (warnings !== "") io.out(`\n${warnings}`);

  const steps = [...plan.nextSteps];
  if (args.install && plan.dependenciesAdded) {
    const pm = detectPackageManager(project);
    io.out(`\nRunning ${pm} install ...\n`);
    const code = io.install(pm, project);
    if (code !== 0) {
      io.err(`${pm} install failed (exit ${code}); run it yourself.\n`);
      return 1;
    }
    steps.shift();
  }
  io.out(`\nNext steps:\n`);
  steps.forEach((step, i) => io.out(`  ${i + 1}. ${step}\n`));
  return 0;
}

function listing(patterns: Pattern[]): string {
  const width = Math.max(0, ...patterns.map((p) => p.name.length));
  return patterns.map((p) => `  ${p.name.padEnd(width)}  ${p.description}\n`).join("");
}

async function choose(
  patterns: Pattern[],
  ask: (question: string) => Promise<string>,
  io: Io,
): Promise<string | null> {
  io.out("Which pattern?\n");
  patterns.forEach((p, i) =>
    io.out(`  ${String(i + 1).padStart(2)}. ${p.name}: ${p.description}\n`),
  );
  const answer = (await ask("Number or name: ")).trim();
  const byNumber = patterns[Number(answer) - 1];
  const chosen = /^\d+$/.test(answer) ? byNumber : patterns.find((p) => p.name === answer);
  if (chosen === undefined) {
    io.err(`do-patterns add: "${answer}" is not one of them\n`);
    return null;
  }
  return chosen.name;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    command: null,
    names: [],
    dir: "src/patterns",
    bindings: new Map(),
    config: null,
    force: false,
    install: false,
    dryRun: false,
    yes: false,
    json: false,
    cwd: null,
    help: false,
    version: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? splitOnce(arg) : [arg, null];
    const value = () => {
      if (inline !== null) return inline;
      const next = argv[++i];
      if (next === undefined || next.startsWith("-")) throw new Error(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case "--dir":
        args.dir = value();
        break;
      case "--binding": {
        const v = value();
        const eq = v.indexOf("=");
        args.bindings.set(eq === -1 ? "" : v.slice(0, eq), eq === -1 ? v : v.slice(eq + 1));
        break;
      }
      case "--config":
        args.config = value();
        break;
      case "--cwd":
        args.cwd = value();
        break;
      case "--force":
        args.force = true;
        break;
      case "--install":
        args.install = true;
        break;
      case "--dry-run":
        args.dryRun = true;
        break;
      case "--yes":
      case "-y":
        args.yes = true;
        break;
      case "--json":
        args.json = true;
        break;
      case "--help":
      case "-h":
        args.help = true;
        break;
      case "--version":
      case "-v":
        args.version = true;
        break;
      default:
        if (flag.startsWith("-")) throw new Error(`unknown option ${flag}`);
        if (args.command === null) args.command = flag;
        else args.names.push(flag);
    }
  }
  return args;
}

function splitOnce(arg: string): [string, string] {
  const at = arg.indexOf("=");
  return [arg.slice(0, at), arg.slice(at + 1)];
}

/** The Io of a real process: stdout, stderr, a prompt only on a terminal. */
export function processIo(): Io {
  const tty = process.stdin.isTTY === true;
  return {
    cwd: process.cwd(),
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    ask: tty
      ? async (question) => {
          const rl = createInterface({ input: process.stdin, output: process.stdout });
          try {
            return await rl.question(question);
          } finally {
            rl.close();
          }
        }
      : null,
    install: (pm, cwd) => {
      const result = spawnSync(pm, ["install"], {
        cwd,
        stdio: "inherit",
        shell: process.platform === "win32",
      });
      return result.status ?? 1;
    },
  };
}
