import { describe, expect, it } from "vitest";
import { compareSemver, MAX_SEMVER_LENGTH, parseSemver } from "../src/semver";

const v = (text: string) => {
  const parsed = parseSemver(text);
  if (parsed === undefined) throw new Error(`not a version: ${text}`);
  return parsed;
};

describe("parseSemver", () => {
  it("reads core, pre-release and build, with an optional leading v", () => {
    expect(parseSemver("1.2.3")).toEqual({ core: ["1", "2", "3"], prerelease: [] });
    expect(parseSemver("v10.0.1-rc.1+build.7")).toEqual({
      core: ["10", "0", "1"],
      prerelease: ["rc", "1"],
    });
  });

  it.each([
    "1.2",
    "1.2.3.4",
    "01.2.3",
    "1.02.3",
    "1.2.3-",
    "1.2.3-01",
    "1.2.3+",
    " 1.2.3",
    "V1.2.3",
    "1.2.3-beta..1",
    "",
    "latest",
  ])("rejects %j", (text) => {
    expect(parseSemver(text)).toBeUndefined();
  });

  it("rejects strings longer than the cap without running the pattern", () => {
    expect(parseSemver(`1.2.3-${"a".repeat(MAX_SEMVER_LENGTH)}`)).toBeUndefined();
  });
});

describe("compareSemver", () => {
  it("orders the semver.org precedence example exactly", () => {
    const ordered = [
      "1.0.0-alpha",
      "1.0.0-alpha.1",
      "1.0.0-alpha.beta",
      "1.0.0-beta",
      "1.0.0-beta.2",
      "1.0.0-beta.11",
      "1.0.0-rc.1",
      "1.0.0",
      "1.0.1",
      "1.1.0",
      "2.0.0",
      "10.0.0",
    ];
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++) {
        expect(compareSemver(v(ordered[i]!), v(ordered[j]!))).toBe(Math.sign(i - j));
      }
    }
  });

  it("ignores build metadata and the leading v", () => {
    expect(compareSemver(v("1.0.0+a"), v("v1.0.0+b"))).toBe(0);
  });

  it("compares numbers beyond 2^53 exactly", () => {
    expect(compareSemver(v("9007199254740993.0.0"), v("9007199254740992.0.0"))).toBe(1);
    expect(compareSemver(v("1.0.0-9007199254740993"), v("1.0.0-9007199254740992"))).toBe(1);
  });
});
