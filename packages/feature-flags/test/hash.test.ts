/** The rollout hash: pinned vectors, an even spread, and rollouts that only ever add people. */
import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BUCKETS, bucketOf, murmur3, utf8Bytes } from "../src/hash";
import { evaluateFlag } from "../src/evaluate";
import { checkoutFlag, compiled } from "./helpers";

const utf8 = (text: string) => new TextEncoder().encode(text);

describe("murmur3 matches the reference implementation", () => {
  // From Austin Appleby's SMHasher and the vectors every port tests against.
  it.each<[string, Uint8Array, number, number]>([
    ["empty, seed 0", utf8(""), 0, 0x00000000],
    ["empty, seed 1", utf8(""), 1, 0x514e28b7],
    ["empty, seed 0xffffffff", utf8(""), 0xffffffff, 0x81f16f39],
    ["four zero bytes", new Uint8Array([0, 0, 0, 0]), 0, 0x2362f9de],
    ["one byte", new Uint8Array([0x21]), 0, 0x72661cf4],
    ["two bytes", new Uint8Array([0x21, 0x43]), 0, 0xa0f7b07a],
    ["three bytes", new Uint8Array([0x21, 0x43, 0x65]), 0, 0x7e4a8634],
    ["four bytes", new Uint8Array([0x21, 0x43, 0x65, 0x87]), 0, 0xf55b516b],
    ["test", utf8("test"), 0, 0xba6bd213],
    ["hello", utf8("hello"), 0, 0x248bfa47],
    ["Hello, world!", utf8("Hello, world!"), 0, 0xc0363e43],
    ["the quick brown fox", utf8("The quick brown fox jumps over the lazy dog"), 0, 0x2e4ff723],
  ])("%s", (_label, bytes, seed, expected) => {
    expect(murmur3(bytes, seed)).toBe(expected);
  });

  it("hashes a view into a larger buffer by its own bytes", () => {
    const buffer = utf8("xxhelloxx");
    expect(murmur3(buffer.subarray(2, 7))).toBe(0x248bfa47);
  });
});

describe("bucketOf", () => {
  // Pinned: a change here moves real users between variants of every live rollout.
  it.each<[string, string, number]>([
    ["new-checkout", "user-42", 34_907],
    ["new-checkout", "user-43", 38_692],
    ["dark-mode", "user-42", 62_060],
    ["new-checkout", "", 95_064],
    ["new-checkout", "ü-ñ-日本", 60_728],
  ])("bucketOf(%j, %j) is %i", (flagKey, targetingKey, bucket) => {
    expect(bucketOf(flagKey, targetingKey)).toBe(bucket);
  });

  it("is the documented formula: floor(murmur3(utf8(flag + ':' + key)) x 100,000 / 2^32)", () => {
    const hash = murmur3(utf8("new-checkout:user-42"));
    expect(bucketOf("new-checkout", "user-42")).toBe(Math.floor((hash * BUCKETS) / 2 ** 32));
  });

  it("encodes UTF-8 exactly as TextEncoder does, lone surrogates and long keys included", () => {
    const anyText = fc.oneof(
      fc.string({ unit: "binary", maxLength: 40 }),
      fc.string({ unit: "grapheme", maxLength: 40 }),
      fc.string({ maxLength: 400 }),
      fc
        .array(fc.integer({ min: 0xd700, max: 0xe000 }), { maxLength: 8 })
        .map((codes) => String.fromCharCode(...codes)),
      // Each side of every UTF-8 length boundary: 1/2, 2/3 and 3/4 bytes.
      fc
        .array(fc.constantFrom(0, 0x7f, 0x80, 0x7ff, 0x800, 0xfffd, 0xffff, 0x10000, 0x10ffff), {
          maxLength: 8,
        })
        .map((points) => String.fromCodePoint(...points)),
    );
    fc.assert(
      fc.property(anyText, (text) => {
        expect([...utf8Bytes(text)]).toEqual([...utf8(text)]);
      }),
      { numRuns: 2_000 },
    );
  });

  it("is the formula when a targeting key outgrows the encoding buffer after the flag key", () => {
    // Longer than any key before it in this file, so the buffer grows after the flag key's bytes.
    const key = "ü".repeat(5_000);
    const hash = murmur3(utf8(`new-checkout:${key}`));
    expect(bucketOf("new-checkout", key)).toBe(Math.floor((hash * BUCKETS) / 2 ** 32));
  });

  it("is the formula for any flag key and targeting key", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.string({ unit: "binary" }), (flag, key) => {
        const hash = murmur3(utf8(`${flag}:${key}`));
        expect(bucketOf(flag, key)).toBe(Math.floor((hash * BUCKETS) / 2 ** 32));
      }),
      { numRuns: 2_000 },
    );
  });

  it("10,000 keys at 30% land within ±2% of 30%", () => {
    const flag = compiled(checkoutFlag({ rules: [] }));
    let on = 0;
    for (let i = 0; i < 10_000; i++) {
      if (evaluateFlag(flag, "new-checkout", { targetingKey: `user-${i}` }).value === true) on++;
    }
    expect(on / 10_000).toBeGreaterThanOrEqual(0.28);
    expect(on / 10_000).toBeLessThanOrEqual(0.32);
  });

  it("spreads keys evenly over ten deciles, and differently for each flag", () => {
    const deciles = Array.from({ length: 10 }, () => 0);
    let sameBucketAcrossFlags = 0;
    for (let i = 0; i < 10_000; i++) {
      const bucket = bucketOf("new-checkout", `user-${i}`);
      deciles[Math.floor(bucket / 10_000)]!++;
      if (Math.floor(bucket / 10_000) === Math.floor(bucketOf("dark-mode", `user-${i}`) / 10_000)) {
        sameBucketAcrossFlags++;
      }
    }
    for (const count of deciles) expect(Math.abs(count - 1_000)).toBeLessThan(120);
    // Independent flags: about a tenth of users share a decile by chance, not all of them.
    expect(sameBucketAcrossFlags).toBeLessThan(1_200);
  });

  it("raising a rollout from 5% to 100% never removes anyone already in", () => {
    const keys = Array.from({ length: 2_000 }, (_, i) => `user-${i}`);
    let previous = new Set<string>();
    for (const percent of [5, 10, 25, 30, 50, 75, 99.999, 100]) {
      const flag = compiled(
        checkoutFlag({
          rules: [],
          fallthrough: {
            split: [
              { variant: "on", percent },
              { variant: "off", percent: 100 - percent },
            ],
          },
        }),
      );
      const inNow = new Set(
        keys.filter((targetingKey) => evaluateFlag(flag, "new-checkout", { targetingKey }).value),
      );
      for (const key of previous) expect(inNow.has(key)).toBe(true);
      expect(inNow.size).toBeGreaterThanOrEqual(previous.size);
      previous = inNow;
    }
    expect(previous.size).toBe(keys.length);
  });
});
