/**
 * Turns the runner's measurements into the bench's answer: each line's best ops/s, its median
 * paired ratios to its ceiling, floor and baseline, and each pattern row's verdict against the
 * catalog's bar. Pure functions of the samples; run.ts prints and writes what they return.
 *
 * Node runs this file by type stripping: erasable TypeScript only, explicit .ts imports.
 */
import {
  CEILING_ROWS,
  IN_FLIGHT,
  type CeilingKind,
  type RowInfo,
  type RowRole,
} from "./src/config.ts";

/** The catalog's bar for a pattern row (CATALOG.md, "Performance"). */
export const BAR = {
  /** The ratios are judged with this many calls in flight. */
  inFlight: 64,
  /** The median paired ratio to the row's floor must reach this... */
  minRatioToFloor: 0.9,
  /** ...and to its baseline, where it has one. */
  minRatioToBaseline: 2,
  /** A floor below this ratio to its ceiling needs a reason in the package README. */
  leanFloorRatioToCeiling: 0.6,
  /**
   * No path can beat its ceiling. A line that does by more than this means the ceiling measured
   * slow in that run, so ratios to it are not to be trusted.
   */
  maxTrustedRatioToCeiling: 1.1,
} as const;

/** One timed run of one row. Rows measured in the same group and round are compared. */
export interface Sample {
  row: string;
  inFlight: number;
  round: number;
  /** The pairing group it was measured in (see run.ts). */
  group: number;
  calls: number;
  opsPerSec: number;
  rowsRead: number;
  rowsWritten: number;
}

export type Verdict = "pass" | "fail" | "unreliable";

/** One line of bench-results.json: one row at one in-flight count. */
export interface Result {
  name: string;
  role: RowRole;
  inFlight: number;
  /** Timed calls per round: the run's N, or fewer where the row says so (cold-key rows). */
  calls: number;
  /** The best of its timed runs. */
  opsPerSec: number;
  /** The most any round counted (they agree unless a path's writes vary). */
  rowsReadPerOp: number;
  rowsWrittenPerOp: number;
  /** What the pattern row declares it writes at most; null on ceilings, floors and baselines. */
  maxRowsWrittenPerOp: number | null;
  ceiling: CeilingKind | null;
  /** Median over rounds of this row's ops/s over its ceiling's, measured beside it. */
  ratioToCeiling: number | null;
  /** Faster than its ceiling by more than the bar trusts: the ceiling measured slow. */
  beatsCeiling: boolean;
  floor: string | null;
  /** Median over rounds of this row's ops/s over its floor's, measured beside it. */
  ratioToFloor: number | null;
  baseline: string | null;
  /** Median over rounds of this row's ops/s over its baseline's, measured beside it. */
  ratioToBaseline: number | null;
  /** Pattern rows' line at BAR.inFlight only; null elsewhere. */
  verdict: Verdict | null;
  /** Why the verdict is not "pass", one reason each. */
  verdictReasons: string[];
}

export function summarize(rows: RowInfo[], samples: Sample[]): Result[] {
  const results: Result[] = [];
  for (const row of rows) {
    for (const inFlight of IN_FLIGHT) {
      const own = samples.filter(
        (sample) => sample.row === row.name && sample.inFlight === inFlight,
      );
      const first = own[0];
      if (first === undefined) continue;
      const ratioToCeiling = pairedRatio(
        samples,
        own,
        row.ceiling === null ? null : CEILING_ROWS[row.ceiling],
      );
      results.push({
        name: row.name,
        role: row.role,
        inFlight,
        calls: first.calls,
        opsPerSec: roundTo(Math.max(...own.map((sample) => sample.opsPerSec)), 1),
        rowsReadPerOp: roundTo(Math.max(...own.map((sample) => sample.rowsRead / sample.calls)), 4),
        rowsWrittenPerOp: roundTo(
          Math.max(...own.map((sample) => sample.rowsWritten / sample.calls)),
          4,
        ),
        maxRowsWrittenPerOp: row.maxRowsWrittenPerOp,
        ceiling: row.ceiling,
        ratioToCeiling,
        beatsCeiling: ratioToCeiling !== null && ratioToCeiling > BAR.maxTrustedRatioToCeiling,
        floor: row.floor,
        ratioToFloor: pairedRatio(samples, own, row.floor),
        baseline: row.baseline,
        ratioToBaseline: pairedRatio(samples, own, row.baseline),
        verdict: null,
        verdictReasons: [],
      });
    }
  }
  for (const result of results) {
    if (result.role !== "pattern" || result.inFlight !== BAR.inFlight) continue;
    const found = shortfalls(result, results);
    result.verdict =
      found.length === 0
        ? "pass"
        : found.some((shortfall) => shortfall.unreliable)
          ? "unreliable"
          : "fail";
    result.verdictReasons = found.map((shortfall) => shortfall.reason);
  }
  return results;
}

/**
 * The median over rounds of `own`'s ops/s over `other`'s, where each round's pair was measured in
 * one group, seconds apart: interference that slows both cancels out, and the median drops the
 * rounds it hit only one of. A row measured more than once in a group (a floor or ceiling, on
 * both sides of the rows it is a reference for) counts with the geometric mean of its runs.
 */
function pairedRatio(samples: Sample[], own: Sample[], other: string | null): number | null {
  if (other === null) return null;
  const ratios: number[] = [];
  for (const [key, mine] of groupBy(own, occasion)) {
    const theirs = samples.filter((sample) => sample.row === other && occasion(sample) === key);
    if (theirs.length > 0) ratios.push(geometricMean(mine) / geometricMean(theirs));
  }
  return ratios.length === 0 ? null : roundTo(median(ratios), 3);
}

/** Samples taken in the same round, group and in-flight count: the ones paired together. */
function occasion(sample: Sample): string {
  return `${sample.round}/${sample.group}/${sample.inFlight}`;
}

function groupBy<T>(values: T[], keyOf: (value: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const value of values) {
    const key = keyOf(value);
    groups.set(key, [...(groups.get(key) ?? []), value]);
  }
  return groups;
}

function geometricMean(samples: Sample[]): number {
  const logSum = samples.reduce((sum, sample) => sum + Math.log(sample.opsPerSec), 0);
  return Math.exp(logSum / samples.length);
}

/** One way a pattern row falls short: of the bar, or of a run good enough to judge it. */
interface Shortfall {
  /** The run cannot judge the row (a reference measured wrong), rather than the row failing. */
  unreliable: boolean;
  reason: string;
}

/** Every way a pattern row's line at BAR.inFlight falls short of the bar; empty if it meets it. */
function shortfalls(result: Result, results: Result[]): Shortfall[] {
  const found: Shortfall[] = [];
  const at = `at ${result.inFlight} in flight`;
  for (const measured of [result, line(results, result.floor), line(results, result.baseline)]) {
    if (measured?.beatsCeiling !== true) continue;
    const who = measured === result ? "it" : `its ${measured.role} ${measured.name}`;
    found.push({
      unreliable: true,
      reason: `${who} measured ${format(measured.ratioToCeiling ?? 0, 2)}x its ceiling ${at}, which no path can reach: the ceiling measured slow, so this run cannot judge it`,
    });
  }
  if (result.ratioToFloor === null) {
    found.push({ unreliable: true, reason: "no floor was measured beside it" });
  } else if (result.ratioToFloor < BAR.minRatioToFloor) {
    found.push({
      unreliable: false,
      reason: `${format(result.ratioToFloor, 3)}x its floor ${at}, below the bar of ${BAR.minRatioToFloor}x`,
    });
  }
  if (result.baseline !== null && result.ratioToBaseline === null) {
    found.push({ unreliable: true, reason: "no baseline was measured beside it" });
  } else if (result.ratioToBaseline !== null && result.ratioToBaseline < BAR.minRatioToBaseline) {
    found.push({
      unreliable: false,
      reason: `${format(result.ratioToBaseline, 3)}x its baseline ${at}, below the bar of ${BAR.minRatioToBaseline}x`,
    });
  }
  // Rows are counted, not timed: every in-flight count is held to the declared figure.
  const declared = result.maxRowsWrittenPerOp;
  for (const measured of results.filter((other) => other.name === result.name)) {
    if (declared === null || measured.rowsWrittenPerOp <= declared) continue;
    found.push({
      unreliable: false,
      reason: `writes ${format(measured.rowsWrittenPerOp, 4)} rows per op at ${measured.inFlight} in flight, more than the ${declared} it declares`,
    });
  }
  return found;
}

/** The row named `name` at BAR.inFlight, if it was measured. */
function line(results: Result[], name: string | null): Result | undefined {
  return results.find((result) => result.name === name && result.inFlight === BAR.inFlight);
}

/** The report's text: the table, then notes, signatures and verdicts; one string per line. */
export function render(results: Result[]): string[] {
  const header = [
    "name",
    "in flight",
    "calls",
    "ops/s",
    "rows read/op",
    "rows written/op",
    "max written/op",
    "ceiling",
    "vs ceiling",
    "vs floor",
    "vs baseline",
    "verdict",
  ];
  const lines = results.map((result) => [
    result.name,
    String(result.inFlight),
    format(result.calls, 0),
    format(result.opsPerSec, 0),
    format(result.rowsReadPerOp, 2),
    format(result.rowsWrittenPerOp, 2),
    result.maxRowsWrittenPerOp === null ? "-" : String(result.maxRowsWrittenPerOp),
    result.ceiling ?? "-",
    `${formatRatio(result.ratioToCeiling)}${result.beatsCeiling ? " (!)" : ""}`,
    formatRatio(result.ratioToFloor),
    formatRatio(result.ratioToBaseline),
    result.verdict ?? "-",
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...lines.map((cells) => cells[column]?.length ?? 0)),
  );
  // Names align left, numbers right.
  const renderLine = (cells: string[]) =>
    cells
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join("  ")
      .trimEnd();
  const text = [
    renderLine(header),
    widths.map((width) => "-".repeat(width)).join("  "),
    ...lines.map(renderLine),
  ];

  if (results.some((result) => result.beatsCeiling)) {
    text.push(
      "",
      `(!) faster than its ceiling by more than ${percentOver(BAR.maxTrustedRatioToCeiling)}, which no path can be: the ceiling measured slow in this run,`,
      "    so ratios on that line, and verdicts that rest on them, are not to be trusted. Repeat the run with",
      "    more calls or rounds (the defaults, if this run used fewer).",
    );
  }

  const floors = results.filter(
    (result) => result.role === "floor" && result.inFlight === BAR.inFlight,
  );
  if (floors.length > 0) {
    text.push(
      "",
      `Lean signature: each floor's ratio to its ceiling at ${BAR.inFlight} in flight (below ${BAR.leanFloorRatioToCeiling}x, the package README must say why):`,
    );
    const nameWidth = Math.max(...floors.map((floor) => floor.name.length));
    for (const floor of floors) {
      const heavy =
        floor.ratioToCeiling !== null && floor.ratioToCeiling < BAR.leanFloorRatioToCeiling;
      text.push(
        `  ${floor.name.padEnd(nameWidth)}  ${formatRatio(floor.ratioToCeiling)} ${floor.ceiling ?? ""}${heavy ? `  warning: below ${BAR.leanFloorRatioToCeiling}x: what does the caller need from this argument or result that a leaner call would lose?` : ""}`,
      );
    }
  }

  const judged = results.filter((result) => result.verdict !== null);
  if (judged.length > 0) {
    const short = judged.filter((result) => result.verdict !== "pass");
    text.push(
      "",
      `Bar at ${BAR.inFlight} in flight: >= ${BAR.minRatioToFloor}x its floor, >= ${BAR.minRatioToBaseline}x its baseline where it has one; at every in-flight count, rows written per op <= declared.`,
      short.length === 0
        ? `All ${judged.length} pattern rows meet it.`
        : `${short.length} of ${judged.length} pattern rows fall short:`,
      ...short.map(shortfallLine),
    );
  }
  return text;
}

/** One line naming a pattern row that falls short and why. */
export function shortfallLine(result: Result): string {
  return `  ${result.verdict ?? ""} ${result.name}: ${result.verdictReasons.join("; ")}`;
}

function formatRatio(value: number | null): string {
  return value === null ? "-" : `${format(value, 2)}x`;
}

function percentOver(ratio: number): string {
  return `${Math.round((ratio - 1) * 100)}%`;
}

function median(values: number[]): number {
  const sorted = values.toSorted((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] ?? Number.NaN;
  return sorted.length % 2 === 1 ? upper : ((sorted[middle - 1] ?? Number.NaN) + upper) / 2;
}

export function roundTo(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

export function format(value: number, digits: number): string {
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}
