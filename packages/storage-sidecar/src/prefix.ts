/**
 * Key ranges in SQLite's order. Keys are stored as UTF-8 text and compared byte by byte, which
 * is code point order: not JavaScript's `<` on strings, which compares UTF-16 units and puts
 * U+10000 and above before U+E000-U+FFFF.
 */

/** Compares two strings by code point, the order of the kv table's primary key. */
export function compareKeys(a: string, b: string): number {
  const left = a[Symbol.iterator]();
  const right = b[Symbol.iterator]();
  for (;;) {
    const x = left.next();
    const y = right.next();
    if (x.done === true || y.done === true) return (x.done ? 0 : 1) - (y.done ? 0 : 1);
    const diff = (x.value.codePointAt(0) ?? 0) - (y.value.codePointAt(0) ?? 0);
    if (diff !== 0) return diff;
  }
}

/**
 * The least string above every string that starts with `prefix`, so `[prefix, end)` is exactly
 * the keys with that prefix; null when there is no such bound (an empty prefix, or one made only
 * of U+10FFFF).
 *
 * @example
 * prefixEnd("page:"); // "page;"
 * prefixEnd(""); // null
 */
export function prefixEnd(prefix: string): string | null {
  const points = [...prefix].map((char) => char.codePointAt(0) ?? 0);
  while (points.length > 0) {
    const last = points.pop() ?? 0;
    if (last < 0x10ffff) {
      // Surrogate code points never appear in a well-formed key: skip over them.
      points.push(last + 1 === 0xd800 ? 0xe000 : last + 1);
      return String.fromCodePoint(...points);
    }
  }
  return null;
}
