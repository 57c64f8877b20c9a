/**
 * Semantic versions (https://semver.org, 2.0.0) for targeting rules such as
 * `appVersion semver_gte 2.4.0`. Numbers are compared as digit strings, so versions beyond
 * 2^53 still order correctly; build metadata is ignored, as the spec requires. A leading "v"
 * ("v2.4.0") is accepted, since that is how many apps report their version.
 */

export interface SemVer {
  /** Major, minor and patch as digit strings without leading zeros. */
  core: [string, string, string];
  /** Pre-release identifiers ("beta", "2"); empty for a release. */
  prerelease: string[];
}

/** Longer strings are not versions worth parsing: a cap keeps matching a context cheap. */
export const MAX_SEMVER_LENGTH = 256;

const NUMBER = "(0|[1-9]\\d*)";
const IDENTIFIER = "(?:0|[1-9]\\d*|\\d*[A-Za-z-][0-9A-Za-z-]*)";
const SEMVER = new RegExp(
  `^v?${NUMBER}\\.${NUMBER}\\.${NUMBER}` +
    `(?:-(${IDENTIFIER}(?:\\.${IDENTIFIER})*))?` +
    `(?:\\+[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?$`,
);

/**
 * Parses "1.2.3", "v1.2.3", "1.2.3-rc.1" or "1.2.3+build.5"; undefined for anything else.
 *
 * @example
 * parseSemver("2.0.0-beta.3"); // { core: ["2", "0", "0"], prerelease: ["beta", "3"] }
 */
export function parseSemver(text: string): SemVer | undefined {
  if (text.length > MAX_SEMVER_LENGTH) return undefined;
  const match = SEMVER.exec(text);
  if (match === null) return undefined;
  const [, major = "", minor = "", patch = "", prerelease] = match;
  return {
    core: [major, minor, patch],
    prerelease: prerelease === undefined ? [] : prerelease.split("."),
  };
}

/**
 * Precedence per semver 2.0.0 section 11: -1, 0 or 1.
 *
 * @example
 * compareSemver(parseSemver("1.0.0-rc.1")!, parseSemver("1.0.0")!); // -1
 */
export function compareSemver(a: SemVer, b: SemVer): number {
  for (let i = 0; i < 3; i++) {
    const order = compareDigits(a.core[i] ?? "0", b.core[i] ?? "0");
    if (order !== 0) return order;
  }
  // A release ranks above any of its pre-releases.
  if (a.prerelease.length === 0 || b.prerelease.length === 0) {
    return Math.sign(b.prerelease.length - a.prerelease.length);
  }
  const shared = Math.min(a.prerelease.length, b.prerelease.length);
  for (let i = 0; i < shared; i++) {
    const order = compareIdentifiers(a.prerelease[i] ?? "", b.prerelease[i] ?? "");
    if (order !== 0) return order;
  }
  return Math.sign(a.prerelease.length - b.prerelease.length);
}

const DIGITS = /^\d+$/;

/** Numeric identifiers rank below alphanumeric ones; alphanumerics compare in ASCII order. */
function compareIdentifiers(a: string, b: string): number {
  const aNumeric = DIGITS.test(a);
  const bNumeric = DIGITS.test(b);
  if (aNumeric && bNumeric) return compareDigits(a, b);
  if (aNumeric !== bNumeric) return aNumeric ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Digit strings without leading zeros: the longer is larger, else the first difference decides. */
function compareDigits(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
