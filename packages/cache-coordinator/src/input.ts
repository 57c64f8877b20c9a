/**
 * What a caller may send, validated in one place for RPC and HTTP alike, and the caps that keep
 * one coordinator's storage bounded.
 */
import * as z from "zod/mini";
import { describeZodError } from "./http";

/** Longest cache key, in UTF-8 bytes: KV's own key limit, so every key fits every store. */
export const MAX_KEY_BYTES = 512;
/** Longest tag; 32 of them still fit a request body. */
export const MAX_TAG_LENGTH = 256;
/** Tags one key may carry, across all its registrations. */
export const MAX_TAGS_PER_KEY = 32;
/** Distinct keys one coordinator tracks; registering a new key past it is refused. */
export const MAX_KEYS = 20_000;
/** Purge calls (one store, at most 100 keys) waiting in the outbox; new purges past it are refused. */
export const MAX_OUTBOX_CALLS = 20_000;
/** Finished purges kept for `status`; the oldest is forgotten past it. */
export const MAX_FINISHED_PURGES = 1_000;
/** Keys per purge call to one store. */
export const PURGE_BATCH_SIZE = 100;

export const PURGE_MODES = ["hard", "soft"] as const;
/** `hard` deletes the entries; `soft` marks them stale where the store supports it. */
export type PurgeMode = (typeof PURGE_MODES)[number];

const encoder = new TextEncoder();

export const keySchema = z.string({ error: "key must be a string" }).check(
  z.refine((key) => key.length > 0 && encoder.encode(key).length <= MAX_KEY_BYTES, {
    error: `key must be 1-${MAX_KEY_BYTES} bytes`,
  }),
);

/** Printable ASCII without spaces or commas, so a tag fits a header list as is. */
export const tagSchema = z.string({ error: "tag must be a string" }).check(
  z.regex(new RegExp(`^[\\x21-\\x2b\\x2d-\\x7e]{1,${MAX_TAG_LENGTH}}$`), {
    error: `tag must be 1-${MAX_TAG_LENGTH} printable ASCII characters, no spaces or commas`,
  }),
);

export const storeNameSchema = z.string({ error: "store must be a string" }).check(
  z.regex(/^[A-Za-z0-9_.-]{1,64}$/, {
    error: "store must be 1-64 characters of letters, digits, '_', '.' or '-'",
  }),
);

export const tagsSchema = z
  .array(tagSchema, { error: "tags must be an array of strings" })
  .check(z.maxLength(MAX_TAGS_PER_KEY, { error: `tags must hold at most ${MAX_TAGS_PER_KEY}` }));

export const modeSchema = z.enum(PURGE_MODES, { error: 'mode must be "hard" or "soft"' });

export const purgeIdSchema = z.string({ error: "id must be a string" }).check(
  z.regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, {
    error: "id must be a purge id as returned by invalidate",
  }),
);

/** What `register` takes: one key held by one store, with the tags it is filed under. */
export interface Registration {
  key: string;
  store: string;
  tags?: string[] | undefined;
}

export const registrationSchema = z.strictObject(
  { key: keySchema, store: storeNameSchema, tags: z.optional(tagsSchema) },
  {
    error: (issue) =>
      issue.code === "invalid_type"
        ? "registration must be an object with key, store and optional tags"
        : undefined,
  },
);

export interface PurgeOptions {
  /** `hard` (default) deletes; `soft` marks stale where a store supports it. */
  mode?: PurgeMode | undefined;
}

export const purgeOptionsSchema = z.strictObject(
  { mode: z.optional(modeSchema) },
  {
    error: (issue) =>
      issue.code === "invalid_type" ? "options must be an object with an optional mode" : undefined,
  },
);

const TAG = new RegExp(`^[\\x21-\\x2b\\x2d-\\x7e]{1,${MAX_TAG_LENGTH}}$`);
const STORE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * A valid registration, or the sentence that says what is wrong. A well-formed one (the case on
 * every cache miss) is checked by hand, without the schema; anything else gets the schema's
 * message.
 */
export function parseRegistration(
  value: unknown,
): { ok: true; data: Registration } | { ok: false; message: string } {
  if (
    typeof value === "object" &&
    value !== null &&
    Object.getPrototypeOf(value) === Object.prototype
  ) {
    const { key, store, tags } = value as Record<string, unknown>;
    const fields = Object.keys(value).length;
    const tagsOk =
      tags === undefined ||
      (Array.isArray(tags) &&
        tags.length <= MAX_TAGS_PER_KEY &&
        tags.every((tag) => typeof tag === "string" && TAG.test(tag)));
    if (
      fields === (tags === undefined ? 2 : 3) &&
      typeof key === "string" &&
      key.length > 0 &&
      key.length * 3 <= MAX_KEY_BYTES &&
      typeof store === "string" &&
      STORE_NAME.test(store) &&
      tagsOk
    ) {
      return {
        ok: true,
        data: tags === undefined ? { key, store } : { key, store, tags: tags as string[] },
      };
    }
  }
  return parse(registrationSchema, value);
}

/**
 * A valid key, or the sentence that says what is wrong. The common case (a string short enough
 * that even 3 UTF-8 bytes per UTF-16 unit stay within the limit) skips the schema.
 */
export function parseKey(
  key: unknown,
): { ok: true; data: string } | { ok: false; message: string } {
  if (typeof key === "string" && key.length > 0 && key.length * 3 <= MAX_KEY_BYTES) {
    return { ok: true, data: key };
  }
  return parse(keySchema, key);
}

/** The mode purge options ask for (default hard), or the sentence that says what is wrong. */
export function parseMode(
  options: unknown,
): { ok: true; data: PurgeMode } | { ok: false; message: string } {
  // The common cases, no options or only a valid mode, skip the schema.
  if (options === undefined) return { ok: true, data: "hard" };
  if (
    typeof options === "object" &&
    options !== null &&
    Object.getPrototypeOf(options) === Object.prototype
  ) {
    const keys = Object.keys(options);
    const mode = (options as { mode?: unknown }).mode;
    if (keys.length === 0) return { ok: true, data: "hard" };
    if (keys.length === 1 && (mode === "hard" || mode === "soft")) return { ok: true, data: mode };
    if (keys.length === 1 && keys[0] === "mode" && mode === undefined) {
      return { ok: true, data: "hard" };
    }
  }
  const parsed = parse(purgeOptionsSchema, options);
  return parsed.ok ? { ok: true, data: parsed.data.mode ?? "hard" } : parsed;
}

/** Validates one value, returning it or the sentence that says what is wrong. */
export function parse<S extends z.ZodMiniType>(
  schema: S,
  value: unknown,
): { ok: true; data: z.infer<S> } | { ok: false; message: string } {
  const parsed = schema.safeParse(value);
  return parsed.success
    ? { ok: true, data: parsed.data }
    : { ok: false, message: describeZodError(parsed.error) };
}
