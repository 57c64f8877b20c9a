/**
 * `pnpm bench`: boots the bench Worker (src/worker.ts) in workerd through Miniflare's API, times
 * every registered hot path with 1 and with 64 calls in flight, prints a table and writes
 * bench-results.json at the repo root. See README.md for the options and what the columns mean.
 *
 * Node runs this file by type stripping: erasable TypeScript only, explicit .ts imports.
 */
import { existsSync, rmSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { Log, LogLevel, Miniflare, convertV4MiniflareOptions } from "miniflare";
import {
  ADMITTED_LIMIT,
  BINDINGS,
  CEILING_ROWS,
  COMPATIBILITY_DATE,
  IN_FLIGHT,
  WARMUP_CALLS,
  type CeilingKind,
  type RowInfo,
} from "./src/config.ts";

/** One line of bench-results.json. */
interface Result {
  name: string;
  inFlight: number;
  opsPerSec: number;
  rowsReadPerOp: number;
  rowsWrittenPerOp: number;
  ceiling: CeilingKind | null;
  ratioToCeiling: number | null;
}

const RESULTS_PATH = fileURLToPath(new URL("../bench-results.json", import.meta.url));
// Admitted rows must admit warm-up and timed calls alike, on one object with one limit.
const MAX_CALLS = ADMITTED_LIMIT - WARMUP_CALLS;
// The whole admitted budget by default: the baseline's cost grows with the timestamps it holds,
// and only a run that fills the limit shows what it costs at that limit.
const DEFAULT_CALLS = MAX_CALLS;
const DEFAULT_ROUNDS = 5;

const { values: args } = parseArgs({
  options: {
    calls: { type: "string" },
    rounds: { type: "string" },
    only: { type: "string" },
    disk: { type: "boolean", default: false },
  },
});
const calls = wholeNumber("--calls", args.calls, DEFAULT_CALLS, MAX_CALLS);
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

try {
  const rows = selectRows(await call<RowInfo[]>("GET", "/rows"), args.only);
  console.error(
    `${rows.length} rows x ${IN_FLIGHT.length} x ${rounds} rounds, ${calls} calls each; storage in ${storageDir}`,
  );
  // Rounds are interleaved across rows, and each row keeps its best round: on a shared machine,
  // interference only ever slows a run down, and interleaving spreads it over all rows alike.
  const best = new Map<string, Result>();
  for (let round = 1; round <= rounds; round++) {
    for (const row of rows) {
      for (const inFlight of IN_FLIGHT) {
        const result = await measure(row, inFlight, round);
        const key = `${row.name}@${inFlight}`;
        const previous = best.get(key);
        if (previous === undefined || result.opsPerSec > previous.opsPerSec) best.set(key, result);
      }
    }
  }
  const results = withRatios([...best.values()]);
  printTable(results, rows);
  await writeFile(RESULTS_PATH, `${JSON.stringify(results, null, 2)}\n`);
  print(
    `\nBest of ${rounds} rounds of ${calls} calls per row, storage on ${storageRoot}. Wrote ${RESULTS_PATH}`,
  );
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
    external: ["cloudflare:*"],
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

async function measure(row: RowInfo, inFlight: number, round: number): Promise<Result> {
  // A fresh object per run: no state, stats or limit carried over from another run.
  const target = { row: row.name, object: `${row.name}@${inFlight}#${round}` };
  await call("POST", "/prepare", { ...target, warmup: WARMUP_CALLS });
  const started = performance.now();
  await call("POST", "/run", { ...target, calls, inFlight });
  const seconds = (performance.now() - started) / 1000;
  const stats = await call<{ rowsRead: number; rowsWritten: number }>("GET", "/stats", target);
  const result: Result = {
    name: row.name,
    inFlight,
    opsPerSec: roundTo(calls / seconds, 1),
    rowsReadPerOp: roundTo(stats.rowsRead / calls, 4),
    rowsWrittenPerOp: roundTo(stats.rowsWritten / calls, 4),
    ceiling: row.ceiling,
    ratioToCeiling: null,
  };
  console.error(`  round ${round}  ${row.name} @${inFlight}: ${format(result.opsPerSec, 0)} ops/s`);
  return result;
}

function withRatios(results: Result[]): Result[] {
  return results.map((result) => {
    if (result.ceiling === null) return result;
    const ceiling = find(results, CEILING_ROWS[result.ceiling], result.inFlight);
    return {
      ...result,
      ratioToCeiling:
        ceiling === undefined ? null : roundTo(result.opsPerSec / ceiling.opsPerSec, 3),
    };
  });
}

function printTable(results: Result[], rows: RowInfo[]): void {
  const header = [
    "name",
    "in flight",
    "ops/s",
    "rows read/op",
    "rows written/op",
    "ceiling",
    "vs ceiling",
    "vs baseline",
    "vs floor",
  ];
  const lines = results.map((result) => {
    const row = rows.find((candidate) => candidate.name === result.name);
    // This row's ops/s over another row's at the same in-flight count, or "-" without one.
    const versus = (other: string | null) => {
      const reference = other === null ? undefined : find(results, other, result.inFlight);
      return reference === undefined
        ? "-"
        : `${format(result.opsPerSec / reference.opsPerSec, 2)}x`;
    };
    return [
      result.name,
      String(result.inFlight),
      format(result.opsPerSec, 0),
      format(result.rowsReadPerOp, 2),
      format(result.rowsWrittenPerOp, 2),
      result.ceiling ?? "-",
      result.ratioToCeiling === null ? "-" : `${format(result.ratioToCeiling, 2)}x`,
      versus(row?.baseline ?? null),
      versus(row?.floor ?? null),
    ];
  });
  const widths = header.map((title, column) =>
    Math.max(title.length, ...lines.map((line) => line[column]?.length ?? 0)),
  );
  // Names align left, numbers right.
  const render = (cells: string[]) =>
    cells
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join("  ");
  print(render(header));
  print(widths.map((width) => "-".repeat(width)).join("  "));
  for (const line of lines) print(render(line));
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

function find(results: Result[], name: string, inFlight: number): Result | undefined {
  return results.find((result) => result.name === name && result.inFlight === inFlight);
}

function roundTo(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function format(value: number, digits: number): string {
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}
