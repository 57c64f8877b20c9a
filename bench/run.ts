/**
 * `pnpm bench`: boots the bench Worker (src/worker.ts) in workerd through Miniflare's API, times
 * every registered row with 1 and with 64 calls in flight, each right beside the rows it is
 * judged by, prints a table with each pattern row's verdict against the catalog's bar (report.ts)
 * and writes bench-results.json at the repo root. `--check` exits 1 if a pattern row falls short.
 * See README.md for the options and what the columns mean.
 *
 * Node runs this file by type stripping: erasable TypeScript only, explicit .ts imports.
 */
import { existsSync, rmSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { Log, LogLevel, Miniflare, convertV4MiniflareOptions } from "miniflare";
import { builtinModules } from "node:module";
import {
  ADMITTED_LIMIT,
  BINDINGS,
  CEILING_ROWS,
  COMPATIBILITY_DATE,
  IN_FLIGHT,
  WARMUP_CALLS,
  type RowInfo,
} from "./src/config.ts";
import { format, render, shortfallLine, summarize, type Sample } from "./report.ts";

const RESULTS_PATH = fileURLToPath(new URL("../bench-results.json", import.meta.url));
// Admitted rows must admit warm-up and timed calls alike, on one object with one limit.
const MAX_CALLS = ADMITTED_LIMIT - WARMUP_CALLS;
// The whole admitted budget by default: the baseline's cost grows with the timestamps it holds,
// and only a run that fills the limit shows what it costs at that limit.
const DEFAULT_CALLS = MAX_CALLS;
const DEFAULT_ROUNDS = 5;
// Calls per row in the untimed pass before round 1.
const WARMUP_PASS_CALLS = 1_000;

const { values: args } = parseArgs({
  options: {
    calls: { type: "string" },
    rounds: { type: "string" },
    only: { type: "string" },
    disk: { type: "boolean", default: false },
    check: { type: "boolean", default: false },
  },
});
const callsPerRow = wholeNumber("--calls", args.calls, DEFAULT_CALLS, MAX_CALLS);
const rounds = wholeNumber("--rounds", args.rounds, DEFAULT_ROUNDS, 100);

// SQLite commits each admitted call with an fsync. On a VM disk its latency, not the code, sets
// the write rows' speed and swings several-fold between runs; on tmpfs the rows measure what the
// code and workerd cost. --disk measures the machine's disk instead.
const storageRoot = !args.disk && existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
const storageDir = await mkdtemp(join(storageRoot, "do-patterns-bench-"));
// tmpfs is memory: don't leave the databases behind on Ctrl-C either (Miniflare stops workerd).
process.once("SIGINT", () => {
  rmSync(storageDir, { recursive: true, force: true });
  process.exit(130);
});

const mf = new Miniflare(
  convertV4MiniflareOptions({
    modules: [{ type: "ESModule", path: "worker.js", contents: await bundleWorker() }],
    compatibilityDate: COMPATIBILITY_DATE,
    durableObjects: Object.fromEntries(
      Object.entries(BINDINGS).map(([binding, className]) => [
        binding,
        { className, useSQLite: true },
      ]),
    ),
    resourcePersistencePath: storageDir,
    // Placeholder request.cf: the real one would be fetched from the network.
    cf: false,
    log: new Log(LogLevel.WARN),
  }),
);

const runStarted = performance.now();
const loadAtStart = loadavg()[0] ?? 0;
let runsStarted = 0;
try {
  const rows = selectRows(await call<RowInfo[]>("GET", "/rows"), args.only);
  const groups = pairingGroups(rows);
  console.error(
    `${rows.length} rows in ${groups.length} groups x ${IN_FLIGHT.length} x ${rounds} rounds, ${callsPerRow} calls per row; storage in ${storageDir}`,
  );
  // In a fresh workerd, the rows timed first measured up to 2x slower than the same rows later,
  // while its JIT warmed to the RPC path every row shares: a short untimed pass pays for that.
  console.error(`untimed warm-up pass: ${Math.min(callsPerRow, WARMUP_PASS_CALLS)} calls per row`);
  for (const row of unique(groups.flat())) {
    for (const inFlight of IN_FLIGHT) {
      await measure(row, inFlight, Math.min(callsFor(row), WARMUP_PASS_CALLS));
    }
  }
  const samples: Sample[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const [group, members] of groups.entries()) {
      for (const inFlight of IN_FLIGHT) {
        for (const row of members) {
          const measured = await measure(row, inFlight, callsFor(row));
          samples.push({ ...measured, round, group });
          console.error(
            `  round ${round}/${rounds}  ${row.name} @${inFlight}: ${format(measured.opsPerSec, 0)} ops/s`,
          );
        }
      }
    }
  }
  const results = summarize(rows, samples);
  await writeFile(RESULTS_PATH, `${JSON.stringify(results, null, 2)}\n`);
  for (const line of render(results)) print(line);
  const minutes = (performance.now() - runStarted) / 60_000;
  const fewer = unique(
    results.filter((result) => result.calls < callsPerRow).map((result) => result.calls),
  );
  print(
    [
      "",
      `Ops/s: the best of ${rounds} rounds. Ratios: the median over rounds of ratios between rows measured side by side.`,
      `${format(callsPerRow, 0)} calls per row${fewer.length === 0 ? "" : ` (${fewer.map((count) => format(count, 0)).join(", ")} where the calls column says so)`}, storage on ${storageRoot}, ${format(minutes, 1)} min.`,
      // Other processes on the machine slow some runs and not others: the ratios get noisier.
      `Load average ${format(loadAtStart, 1)} at the start, ${format(loadavg()[0] ?? 0, 1)} at the end, on ${availableParallelism()} cores. Wrote ${RESULTS_PATH}`,
    ].join("\n"),
  );
  if (args.check) {
    const judged = results.filter((result) => result.verdict !== null);
    const short = judged.filter((result) => result.verdict !== "pass");
    console.error(
      judged.length === 0
        ? "bench --check: no pattern row selected, nothing to judge."
        : short.length === 0
          ? `bench --check: all ${judged.length} pattern rows meet the bar.`
          : `bench --check: ${short.length} of ${judged.length} pattern rows fall short of the bar:\n${short.map(shortfallLine).join("\n")}`,
    );
    if (short.length > 0) process.exitCode = 1;
  }
} finally {
  await mf.dispose();
  await rm(storageDir, { recursive: true, force: true });
}

function wholeNumber(
  flag: string,
  value: string | undefined,
  fallback: number,
  max: number,
): number {
  const parsed = value === undefined ? fallback : Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 1 || parsed > max) {
    const why =
      flag === "--calls"
        ? ` (${WARMUP_CALLS} warm-up calls + N must fit the admitted rows' limit of ${ADMITTED_LIMIT})`
        : "";
    throw new Error(`${flag} must be a whole number from 1 to ${max}${why}`);
  }
  return parsed;
}

/** Bundles in memory: nothing to clean up, nothing to ignore. */
async function bundleWorker(): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL("./src/worker.ts", import.meta.url))],
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    target: "es2024",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    // workerd provides these: the runtime's own modules, and Node's built-ins (the OpenFeature
    // and Agents SDKs import them; Node.js compatibility is on by default from the compatibility
    // date).
    external: ["cloudflare:*", "node:*"],
    // Packages that require Node built-ins by their bare names ("path", "async_hooks"), as
    // wrangler's bundler resolves them.
    alias: Object.fromEntries(builtinModules.map((name) => [name, `node:${name}`])),
    logLevel: "warning",
  });
  const output = result.outputFiles[0];
  if (output === undefined) throw new Error("esbuild produced no output");
  return output.text;
}

/** Rows matching --only, plus the ceilings, baselines and floors they are shown against. */
function selectRows(all: RowInfo[], only: string | undefined): RowInfo[] {
  if (only === undefined) return all;
  const chosen = all.filter((row) => row.name.includes(only));
  if (chosen.length === 0)
    throw new Error(`--only ${only} matches no row: ${all.map((row) => row.name).join(", ")}`);
  const needed = new Set(chosen.map((row) => row.name));
  for (const row of chosen) {
    if (row.ceiling !== null) needed.add(CEILING_ROWS[row.ceiling]);
    if (row.baseline !== null) needed.add(row.baseline);
    if (row.floor !== null) needed.add(row.floor);
  }
  return all.filter((row) => needed.has(row.name));
}

/**
 * What each round measures, one group after another: a floor's group is its ceiling, the floor,
 * the pattern rows that name it, the floor and ceiling again, then the rows' baselines. Each
 * pattern row's ratios come from measurements seconds apart, and its references are measured
 * on both sides of it, so a machine that speeds up or slows down across the group affects row and
 * reference alike. Rows no floor's group holds (a ceiling or baseline chosen alone with --only)
 * are measured between two runs of their ceiling.
 */
function pairingGroups(rows: RowInfo[]): RowInfo[][] {
  const named = (name: string): RowInfo => {
    const row = rows.find((candidate) => candidate.name === name);
    if (row === undefined) throw new Error(`no row named ${name}`);
    return row;
  };
  const ceilingOf = (row: RowInfo) =>
    row.ceiling === null ? row : named(CEILING_ROWS[row.ceiling]);
  const groups: RowInfo[][] = [];
  for (const floor of rows.filter((row) => row.role === "floor")) {
    const patterns = rows.filter((row) => row.floor === floor.name);
    for (const row of patterns) {
      if (row.ceiling !== floor.ceiling) {
        throw new Error(
          `${row.name} is judged against ceiling ${row.ceiling} but its floor ${floor.name} against ${floor.ceiling}`,
        );
      }
    }
    const baselines = unique(
      patterns.flatMap((row) => (row.baseline === null ? [] : [named(row.baseline)])),
    );
    const references = [ceilingOf(floor), floor];
    const otherCeilings = unique(baselines.map(ceilingOf)).filter(
      (ceiling) => ceiling !== references[0],
    );
    groups.push([
      ...references,
      ...patterns,
      ...references.toReversed(),
      ...otherCeilings,
      ...baselines,
    ]);
  }
  const grouped = new Set(groups.flat());
  const rest = rows.filter((row) => !grouped.has(row));
  for (const ceiling of unique(rest.map(ceilingOf))) {
    const beside = rest.filter((row) => row !== ceiling && ceilingOf(row) === ceiling);
    groups.push(beside.length === 0 ? [ceiling] : [ceiling, ...beside, ceiling]);
  }
  return groups;
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

/** Timed calls for a row: the run's N, or fewer where the row asks for fewer. */
function callsFor(row: RowInfo): number {
  return Math.min(callsPerRow, row.maxCalls ?? callsPerRow);
}

/** One run of `calls` calls on a fresh object (or objects), timed from Node. */
async function measure(
  row: RowInfo,
  inFlight: number,
  calls: number,
): Promise<Omit<Sample, "round" | "group">> {
  // A fresh object per run: no state, stats or limit carried over from another run.
  const target = { row: row.name, object: `${row.name}@${inFlight}#${++runsStarted}` };
  await call("POST", "/prepare", { ...target, warmup: WARMUP_CALLS, inFlight });
  const started = performance.now();
  await call("POST", "/run", { ...target, calls, inFlight });
  const seconds = (performance.now() - started) / 1000;
  const stats = await call<{ rowsRead: number; rowsWritten: number }>("GET", "/stats", {
    ...target,
    calls,
  });
  await call("POST", "/release", { ...target, calls, warmup: WARMUP_CALLS });
  return {
    row: row.name,
    inFlight,
    calls,
    opsPerSec: calls / seconds,
    rowsRead: stats.rowsRead,
    rowsWritten: stats.rowsWritten,
  };
}

/** One request to the bench Worker; throws with the Worker's error text on failure. */
async function call<T = void>(
  method: string,
  path: string,
  params: Record<string, string | number> = {},
): Promise<T> {
  const url = new URL(path, "http://bench");
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, String(value));
  const response = await mf.dispatchFetch(url, { method });
  if (!response.ok)
    throw new Error(`${method} ${url.pathname}${url.search} failed: ${await response.text()}`);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** The results go to stdout; progress goes to stderr, so `pnpm bench > table.txt` keeps only them. */
function print(line: string): void {
  process.stdout.write(`${line}\n`);
}
