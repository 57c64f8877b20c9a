/**
 * Stable bucketing for percentage rollouts: every (flag key, targeting key) pair lands in one
 * of 100,000 buckets (thousandths of a percent), the same one in every isolate, every version of
 * this code and any other language that implements the formula:
 *
 *   bucket = floor(murmur3_x86_32(utf8(flagKey + ":" + targetingKey), seed 0) * 100000 / 2^32)
 *
 * ":" cannot appear in a flag key, so no two pairs share an input. The flag key is part of the
 * input so that the 30% who get one flag are not the same 30% who get every other flag.
 * MurmurHash3 spreads similar keys ("user-1", "user-2") evenly and is synchronous and cheap,
 * unlike crypto.subtle's SHA-256, which would make every evaluation async.
 */

export const BUCKETS = 100_000;
const TWO_TO_32 = 2 ** 32;

/**
 * The bucket, 0 to 99,999, for one subject of one flag.
 *
 * @example
 * bucketOf("new-checkout", "user-42") < 30_000; // in a 30% rollout?
 */
export function bucketOf(flagKey: string, targetingKey: string): number {
  // Encoded in three parts rather than joined first: no string is built per evaluation.
  const length = encodeUtf8(targetingKey, encodeUtf8(":", encodeUtf8(flagKey, 0)));
  const hash = murmur3Prefix(scratch, length, 0);
  // hash x 100,000 < 2^49 and dividing by a power of two is exact: no float error, no modulo bias.
  return Math.floor((hash * BUCKETS) / TWO_TO_32);
}

/**
 * MurmurHash3 x86 32-bit (Austin Appleby's reference), as an unsigned 32-bit integer.
 *
 * @example
 * murmur3(new TextEncoder().encode("hello")); // 0x248bfa47
 */
export function murmur3(bytes: Uint8Array, seed = 0): number {
  return murmur3Prefix(bytes, bytes.length, seed);
}

/** The hash of `bytes[0, length)`, reading the blocks little-endian as the reference does. */
function murmur3Prefix(bytes: Uint8Array, length: number, seed: number): number {
  const blocks = length - (length % 4);
  let h = seed | 0;
  for (let i = 0; i < blocks; i += 4) {
    const k =
      (bytes[i] ?? 0) |
      ((bytes[i + 1] ?? 0) << 8) |
      ((bytes[i + 2] ?? 0) << 16) |
      ((bytes[i + 3] ?? 0) << 24);
    h ^= scramble(k);
    h = rotateLeft(h, 13);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let tail = 0;
  for (let i = length - 1; i >= blocks; i--) tail = (tail << 8) | (bytes[i] ?? 0);
  if (length > blocks) h ^= scramble(tail);
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function scramble(k: number): number {
  return Math.imul(rotateLeft(Math.imul(k, 0xcc9e2d51), 15), 0x1b873593);
}

function rotateLeft(x: number, bits: number): number {
  return (x << bits) | (x >>> (32 - bits));
}

/**
 * Reused for every bucket: in workerd, `TextEncoder.encode` is a call into the runtime that
 * allocates a new buffer, and it cost a bulk evaluation of 50 flags about a third of its time.
 */
let scratch = new Uint8Array(256);

/**
 * Writes `text` as UTF-8 into `scratch` from byte `start` (growing it, keeping the bytes before
 * `start`, when needed) and returns where the bytes end: the bytes `TextEncoder` would give, a
 * lone surrogate included (as U+FFFD, EF BF BD).
 */
export function encodeUtf8(text: string, start = 0): number {
  if (scratch.length < start + text.length * 3) {
    const grown = new Uint8Array(start + text.length * 3);
    grown.set(scratch.subarray(0, start));
    scratch = grown;
  }
  const out = scratch;
  let n = start;
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code < 0x80) {
      out[n++] = code;
      continue;
    }
    if (code >= 0xd800 && code <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else {
        code = 0xfffd;
      }
    }
    if (code < 0x800) {
      out[n++] = 0xc0 | (code >> 6);
    } else if (code < 0x10000) {
      out[n++] = 0xe0 | (code >> 12);
      out[n++] = 0x80 | ((code >> 6) & 0x3f);
    } else {
      out[n++] = 0xf0 | (code >> 18);
      out[n++] = 0x80 | ((code >> 12) & 0x3f);
      out[n++] = 0x80 | ((code >> 6) & 0x3f);
    }
    out[n++] = 0x80 | (code & 0x3f);
  }
  return n;
}

/** The bytes `encodeUtf8` wrote, copied: for tests that compare them with `TextEncoder`'s. */
export function utf8Bytes(text: string): Uint8Array {
  return scratch.slice(0, encodeUtf8(text));
}
