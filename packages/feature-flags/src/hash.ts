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
const encoder = new TextEncoder();

/**
 * The bucket, 0 to 99,999, for one subject of one flag.
 *
 * @example
 * bucketOf("new-checkout", "user-42") < 30_000; // in a 30% rollout?
 */
export function bucketOf(flagKey: string, targetingKey: string): number {
  const hash = murmur3(encoder.encode(`${flagKey}:${targetingKey}`));
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
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const blocks = bytes.byteLength - (bytes.byteLength % 4);
  let h = seed | 0;
  for (let i = 0; i < blocks; i += 4) {
    h ^= scramble(view.getUint32(i, true));
    h = rotateLeft(h, 13);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let tail = 0;
  for (let i = bytes.byteLength - 1; i >= blocks; i--) tail = (tail << 8) | view.getUint8(i);
  if (bytes.byteLength > blocks) h ^= scramble(tail);
  h ^= bytes.byteLength;
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
