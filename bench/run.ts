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
// Each row's timed calls are made in this many slices, taking turns with the other rows of its
// group (see "Pairing" in README.md).
const SLICES = 8;

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
      await measure([row], inFlight, Math.min(callsPerRow, WARMUP_PASS_CALLS), 1);
    }
  }
  const samples: Sample[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const [group, members] of groups.entries()) {
      for (const inFlight of IN_FLIGHT) {
        for (const measured of await measure(members, inFlight, callsPerRow, SLICES)) {
          samples.push({ ...measured, round, group });
          console.error(
            `  round ${round}/${rounds}  ${measured.row} @${inFlight}: ${format(measured.opsPerSec, 0)} ops/s`,
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
 * What each round measures together: a floor's group is its ceiling, the floor, the pattern rows
 * that name it, then the rows' baselines (and their ceilings). The rows of a group take turns in
 * short slices (`measure`), so each pattern row's ratios come from measurements interleaved with
 * its references', and a machine that speeds up or slows down during the group moves them alike.
 * Rows no floor's group holds (a ceiling or baseline chosen alone with --only) are measured with
 * their ceiling.
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
    groups.push(
      unique([ceilingOf(floor), floor, ...patterns, ...baselines.map(ceilingOf), ...baselines]),
    );
  }
  const grouped = new Set(groups.flat());
  const rest = rows.filter((row) => !grouped.has(row));
  for (const ceiling of unique(rest.map(ceilingOf))) {
    groups.push(unique([ceiling, ...rest.filter((row) => ceilingOf(row) === ceiling)]));
  }
  return groups;
}

/** A random order of `values` (Fisher-Yates). */
function shuffled<T>(values: T[]): T[] {
  const order = [...values];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j] as T, order[i] as T];
  }
  return order;
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

/**
 * One run of each row in `rows` on a fresh object (or objects): its calls (`calls`, or fewer
 * where the row asks for fewer) in `slices` slices, the rows taking turns slice by slice in a
 * random order. Each slice is timed from Node; a row's ops/s is its calls over the sum of its
 * slices' times.
 */
async function measure(
  rows: RowInfo[],
  inFlight: number,
  calls: number,
  slices: number,
): Promise<Omit<Sample, "round" | "group">[]> {
  // A fresh object per run: no state, stats or limit carried over from another run.
  const runs = rows.map((row) => ({
    row,
    object: `${row.name}@${inFlight}#${++runsStarted}`,
    calls: Math.min(calls, row.maxCalls ?? calls),
    made: 0,
    seconds: 0,
  }));
  for (const run of runs) {
    await call("POST", "/prepare", {
      row: run.row.name,
      object: run.object,
      warmup: WARMUP_CALLS,
      inFlight,
    });
  }
  for (let slice = 0; slice < slices; slice++) {
    // A new random order for every slice: with the slices in group order and then reversed, a
    // copy of a floor benched in a pattern row's place measured 0.85-0.90x the floor itself.
    for (const run of shuffled(runs)) {
      // Slices differ by at most one call; together they make exactly the run's calls.
      const sliceCalls =
        Math.floor((run.calls * (slice + 1)) / slices) - Math.floor((run.calls * slice) / slices);
      if (sliceCalls === 0) continue;
      const started = performance.now();
      await call("POST", "/run", {
        row: run.row.name,
        object: run.object,
        calls: sliceCalls,
        first: run.made,
        inFlight,
      });
      run.seconds += (performance.now() - started) / 1000;
      run.made += sliceCalls;
    }
  }
  const measured: Omit<Sample, "round" | "group">[] = [];
  for (const run of runs) {
    const target = { row: run.row.name, object: run.object, calls: run.calls };
    const stats = await call<{ rowsRead: number; rowsWritten: number }>("GET", "/stats", target);
    await call("POST", "/release", { ...target, warmup: WARMUP_CALLS });
    measured.push({
      row: run.row.name,
      inFlight,
      calls: run.calls,
      opsPerSec: run.calls / run.seconds,
      rowsRead: stats.rowsRead,
      rowsWritten: stats.rowsWritten,
    });
  }
  return measured;
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
