/**
 * The FeatureFlags Durable Object: one per flag set (an environment, a tenant). It holds the set
 * in memory, compiled for evaluation, and writes every change through to SQLite along with the
 * set's version and an audit entry, in one transaction.
 */
import { DurableObject } from "cloudflare:workers";
import {
  evaluateFlag,
  compileFlag,
  unreadableEntry,
  type CompiledFlag,
  type EvaluationContext,
  type Resolution,
  type UnreadableEntry,
} from "./evaluate";
import {
  MAX_FLAGS,
  MAX_FLAG_SET_BYTES,
  actorSchema,
  byteLength,
  flagKeySchema,
  parseFlag,
  type FlagDefinition,
  type FlagSetSnapshot,
  type FlagValue,
  type StoredFlag,
  type UnchangedSnapshot,
  type UnreadableFlag,
} from "./flag";

/** Audit entries kept per flag set; the oldest is deleted as each new one is written. */
export const MAX_AUDIT_ENTRIES = 1000;
/** Audit entries one `auditLog` call returns at most. */
export const MAX_AUDIT_PAGE = 100;

/** One flag's evaluation, with the flag set version it was evaluated against. */
export interface FlagEvaluation extends Resolution {
  flagKey: string;
  version: number;
}

/** Every flag of the set evaluated for one context, at one version. */
export interface BulkEvaluation {
  version: number;
  flags: Record<string, Resolution>;
}

export interface WriteOptions {
  /** Who made the change, for the audit log (1-128 characters). */
  actor: string;
  /**
   * Apply the change only if the flag is still at this version (the `version` of the flag as
   * you read it): a concurrent change by someone else then fails with `version_conflict`
   * instead of being overwritten.
   */
  ifVersion?: number;
}

export type FlagWriteErrorCode =
  | "invalid_flag"
  | "invalid_request"
  | "flag_exists"
  | "flag_not_found"
  | "flag_unreadable"
  | "version_conflict"
  | "too_many_flags"
  | "flag_set_full";

/** What a write or lookup returns for a request it cannot carry out; nothing was changed. */
export interface FlagRejection {
  error: { code: FlagWriteErrorCode; message: string };
}

/** A write's result: the flag as stored now, and the set's version. */
export type FlagWriteOutcome = { flag: StoredFlag; version: number } | FlagRejection;
export type FlagDeleteOutcome = { deleted: string; version: number } | FlagRejection;
export type FlagLookup = { flag: StoredFlag } | FlagRejection;

/** A flag as an audit entry records it; a flag storage could not read is kept as its raw text. */
export type AuditedFlag = StoredFlag | { key: string; unreadable: string };

/** One change to the set. Its `version` is the set version the change created. */
export interface AuditEntry {
  version: number;
  /** Milliseconds since the epoch. */
  at: number;
  actor: string;
  action: "create" | "update" | "delete";
  flag: string;
  before: AuditedFlag | null;
  after: StoredFlag | null;
}

export interface AuditQuery {
  /** Only this flag's changes. */
  flag?: string;
  /** Only changes older than this version: pass a page's `next` to read the page after it. */
  before?: number;
  /** 1 to MAX_AUDIT_PAGE (default 20). */
  limit?: number;
}

/** Newest first; `next` is present when older entries remain. */
export interface AuditPage {
  entries: AuditEntry[];
  next?: number;
}

/** A flag held in memory: compiled for evaluation, with what it costs in storage. */
type Held =
  | { readable: true; flag: StoredFlag; entry: CompiledFlag; bytes: number }
  | { readable: false; flag: UnreadableFlag; entry: UnreadableEntry; raw: string; bytes: number };

/** A validated definition, with the JSON to store and its size. */
type Definition = { flag: FlagDefinition; json: string; bytes: number };

type FlagRow = { key: string; version: number; updated_at: number; definition: string };
type AuditRow = {
  version: number;
  at: number;
  actor: string;
  action: AuditEntry["action"];
  flag: string;
  before: string | null;
  after: string | null;
};

/**
 * One flag set. Address it by its name: `env.FEATURE_FLAGS.getByName("production")`.
 *
 * Evaluation reads memory only: the set is loaded once, under `blockConcurrencyWhile`, when the
 * object starts, and every write updates memory after storage. Each write runs synchronously
 * from validation to commit, so the input gate serialises writes and `ifVersion` is an exact
 * compare-and-set.
 *
 * @example
 * const flags = env.FEATURE_FLAGS.getByName("production");
 * const details = await flags.evaluate("new-checkout", { targetingKey: userId }, false);
 * if (details.value === true) return renderNewCheckout();
 */
export class FeatureFlags extends DurableObject<unknown> {
  /** Cache over the `flags` table: every flag of the set, at most MAX_FLAGS. */
  private readonly flags = new Map<string, Held>();
  /** The set's version: how many changes it has had. Mirrors the `meta` table. */
  private version = 0;
  /** Sum of the flags' definition sizes, kept under MAX_FLAG_SET_BYTES. */
  private bytes = 0;
  /** Whether the tables exist: a set that is only ever read leaves no storage behind. */
  private hasTables = false;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => this.load());
  }

  /** The one source of time. Tests override it to pin `updatedAt` and audit times. */
  protected now(): number {
    return Date.now();
  }

  /**
   * Evaluates one flag. `defaultValue` is served on DISABLED and ERROR, and its type is the
   * type you expect (a boolean default expects a boolean flag): give one, as OpenFeature does.
   * Never throws, never touches storage.
   */
  evaluate(
    flagKey: string,
    context: EvaluationContext = {},
    defaultValue: FlagValue = null,
  ): FlagEvaluation {
    const entry = typeof flagKey === "string" ? this.flags.get(flagKey)?.entry : undefined;
    const resolution = evaluateFlag(entry, String(flagKey), context, defaultValue ?? null);
    return { flagKey, ...resolution, version: this.version };
  }

  /** Evaluates every flag of the set for one context (a disabled flag's value is null). */
  evaluateAll(context: EvaluationContext = {}): BulkEvaluation {
    const flags: Record<string, Resolution> = {};
    for (const [key, held] of this.flags) flags[key] = evaluateFlag(held.entry, key, context);
    return { version: this.version, flags };
  }

  /**
   * Every flag of the set, for a provider to evaluate locally, or `{ version, unchanged: true }`
   * when `knownVersion` is the current version (so a refresh that finds nothing new is cheap).
   */
  snapshot(knownVersion?: number): FlagSetSnapshot | UnchangedSnapshot {
    if (knownVersion === this.version) return { version: this.version, unchanged: true };
    const snapshot: FlagSetSnapshot = { version: this.version, flags: [], unreadable: [] };
    for (const held of this.flags.values()) {
      if (held.readable) snapshot.flags.push(held.flag);
      else snapshot.unreadable.push(held.flag);
    }
    return snapshot;
  }

  /** One flag as stored. */
  getFlag(key: string): FlagLookup {
    const held = typeof key === "string" ? this.flags.get(key) : undefined;
    if (held === undefined) return reject("flag_not_found", `no flag "${String(key)}" in this set`);
    if (!held.readable) return reject("flag_unreadable", held.flag.message);
    return { flag: held.flag };
  }

  /** Adds a flag; fails with `flag_exists` if the key is taken. */
  createFlag(definition: FlagDefinition, options: WriteOptions): FlagWriteOutcome {
    const valid = validateWrite(definition, options);
    if ("error" in valid) return valid;
    const { flag, json, bytes } = valid;
    if (this.flags.has(flag.key)) {
      return reject("flag_exists", `flag "${flag.key}" already exists; update it instead`);
    }
    if (this.flags.size >= MAX_FLAGS) {
      return reject("too_many_flags", `a flag set holds at most ${MAX_FLAGS} flags`);
    }
    const full = this.checkRoom(bytes, 0);
    if (full !== undefined) return full;
    const after = this.commit("create", flag.key, undefined, { flag, json, bytes }, options.actor);
    return { flag: after, version: this.version };
  }

  /**
   * Replaces a flag's definition (found by its key). Writing a flag exactly as it is stores
   * nothing and answers with the flag as it is, so a retried update is harmless.
   */
  updateFlag(definition: FlagDefinition, options: WriteOptions): FlagWriteOutcome {
    const valid = validateWrite(definition, options);
    if ("error" in valid) return valid;
    const { flag, json, bytes } = valid;
    const held = this.flags.get(flag.key);
    if (held === undefined) return reject("flag_not_found", `no flag "${flag.key}" to update`);
    if (held.readable && JSON.stringify(definitionOf(held.flag)) === json) {
      return { flag: held.flag, version: this.version };
    }
    const conflict = checkVersion(held, options.ifVersion);
    if (conflict !== undefined) return conflict;
    const full = this.checkRoom(bytes, held.bytes);
    if (full !== undefined) return full;
    const after = this.commit("update", flag.key, held, { flag, json, bytes }, options.actor);
    return { flag: after, version: this.version };
  }

  /** Turns a flag on or off (the kill switch): an update of `enabled` alone. */
  setEnabled(key: string, enabled: boolean, options: WriteOptions): FlagWriteOutcome {
    const held = typeof key === "string" ? this.flags.get(key) : undefined;
    if (held === undefined) return reject("flag_not_found", `no flag "${String(key)}" to update`);
    if (!held.readable) {
      return reject("flag_unreadable", `${held.flag.message}; update the whole flag instead`);
    }
    if (typeof enabled !== "boolean") {
      return reject("invalid_request", "enabled must be true or false");
    }
    return this.updateFlag({ ...definitionOf(held.flag), enabled }, options);
  }

  /** Deletes a flag. Evaluating it afterwards answers FLAG_NOT_FOUND. */
  deleteFlag(key: string, options: WriteOptions): FlagDeleteOutcome {
    const problem = validateOptions(options);
    if (problem !== undefined) return problem;
    const held = typeof key === "string" ? this.flags.get(key) : undefined;
    if (held === undefined) return reject("flag_not_found", `no flag "${String(key)}" to delete`);
    const conflict = checkVersion(held, options.ifVersion);
    if (conflict !== undefined) return conflict;
    this.commit("delete", key, held, undefined, options.actor);
    return { deleted: key, version: this.version };
  }

  /** The audit log, newest first, a page at a time. */
  auditLog(query: AuditQuery = {}): AuditPage | FlagRejection {
    const { flag, before, limit = 20 } = query;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_PAGE) {
      return reject("invalid_request", `limit must be a whole number from 1 to ${MAX_AUDIT_PAGE}`);
    }
    if (before !== undefined && (!Number.isSafeInteger(before) || before < 1)) {
      return reject("invalid_request", "before must be a positive whole number (a version)");
    }
    if (flag !== undefined && !flagKeySchema.safeParse(flag).success) {
      return reject("invalid_request", "flag must be a flag key");
    }
    if (!this.hasTables) return { entries: [] };
    // One more than asked for, to know whether another page follows.
    const rows = this.ctx.storage.sql
      .exec<AuditRow>(
        `SELECT version, at, actor, action, flag, before, after FROM audit
         WHERE version < ? AND (? IS NULL OR flag = ?) ORDER BY version DESC LIMIT ?`,
        before ?? Number.MAX_SAFE_INTEGER,
        flag ?? null,
        flag ?? null,
        limit + 1,
      )
      .toArray();
    const entries = rows.slice(0, limit).map(toAuditEntry);
    const last = entries.at(-1);
    return rows.length > limit && last !== undefined
      ? { entries, next: last.version }
      : { entries };
  }

  /** Reads the whole set into memory. A row that fails validation is kept as unreadable. */
  private load(): void {
    const sql = this.ctx.storage.sql;
    this.hasTables =
      sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'flags'").toArray()
        .length > 0;
    if (!this.hasTables) return;
    this.version = sql
      .exec<{ value: number }>("SELECT value FROM meta WHERE name = 'version'")
      .one().value;
    for (const row of sql.exec<FlagRow>("SELECT key, version, updated_at, definition FROM flags")) {
      const held = readRow(row);
      this.flags.set(row.key, held);
      this.bytes += held.bytes;
    }
  }

  private checkRoom(bytes: number, replacing: number): FlagRejection | undefined {
    const total = this.bytes - replacing + bytes;
    if (total <= MAX_FLAG_SET_BYTES) return undefined;
    return reject(
      "flag_set_full",
      `the flag set would be ${total} bytes; a set holds at most ${MAX_FLAG_SET_BYTES} bytes of flag definitions`,
    );
  }

  /**
   * Writes one change: the flag row, the set's version and the audit entry in one transaction,
   * trimming the audit log to its cap; then updates memory. Returns the flag as stored now
   * (undefined after a delete).
   */
  private commit(
    action: "create" | "update",
    key: string,
    before: Held | undefined,
    next: Definition,
    actor: string,
  ): StoredFlag;
  private commit(
    action: "delete",
    key: string,
    before: Held,
    next: undefined,
    actor: string,
  ): undefined;
  private commit(
    action: AuditEntry["action"],
    key: string,
    before: Held | undefined,
    next: Definition | undefined,
    actor: string,
  ): StoredFlag | undefined {
    const version = this.version + 1;
    const at = this.now();
    const after: StoredFlag | undefined =
      next === undefined ? undefined : { ...next.flag, version, updatedAt: at };
    const sql = this.ctx.storage.sql;
    this.ctx.storage.transactionSync(() => {
      if (!this.hasTables) createTables(sql);
      if (next === undefined) sql.exec("DELETE FROM flags WHERE key = ?", key);
      else {
        sql.exec(
          `INSERT INTO flags (key, version, updated_at, definition) VALUES (?, ?, ?, ?)
           ON CONFLICT (key) DO UPDATE SET version = excluded.version,
             updated_at = excluded.updated_at, definition = excluded.definition`,
          key,
          version,
          at,
          next.json,
        );
      }
      sql.exec("UPDATE meta SET value = ? WHERE name = 'version'", version);
      sql.exec(
        "INSERT INTO audit (version, at, actor, action, flag, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)",
        version,
        at,
        actor,
        action,
        key,
        before === undefined ? null : JSON.stringify(auditedFlag(before)),
        after === undefined ? null : JSON.stringify(after),
      );
      sql.exec("DELETE FROM audit WHERE version <= ?", version - MAX_AUDIT_ENTRIES);
    });
    this.hasTables = true;
    this.version = version;
    this.bytes += (next?.bytes ?? 0) - (before?.bytes ?? 0);
    if (after === undefined || next === undefined) {
      this.flags.delete(key);
    } else {
      this.flags.set(key, {
        readable: true,
        flag: after,
        entry: compileFlag(after),
        bytes: next.bytes,
      });
    }
    return after;
  }
}

function createTables(sql: SqlStorage): void {
  // WITHOUT ROWID: the key is the table, so writing a flag touches one b-tree row.
  sql.exec(`CREATE TABLE flags (
    key TEXT PRIMARY KEY, version INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    definition TEXT NOT NULL) WITHOUT ROWID`);
  sql.exec("CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID");
  sql.exec("INSERT INTO meta (name, value) VALUES ('version', 0)");
  sql.exec(`CREATE TABLE audit (
    version INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, flag TEXT NOT NULL, before TEXT, after TEXT)`);
}

function readRow(row: FlagRow): Held {
  let parsed: ReturnType<typeof parseFlag>;
  try {
    parsed = parseFlag(JSON.parse(row.definition));
  } catch {
    parsed = { ok: false, message: "its stored definition is not valid JSON" };
  }
  const bytes = byteLength(row.definition);
  if (!parsed.ok || parsed.flag.key !== row.key) {
    const message = parsed.ok ? "its stored key does not match its row" : parsed.message;
    const flag = { key: row.key, version: row.version, message };
    return { readable: false, flag, entry: unreadableEntry(flag), raw: row.definition, bytes };
  }
  const flag: StoredFlag = { ...parsed.flag, version: row.version, updatedAt: row.updated_at };
  return { readable: true, flag, entry: compileFlag(flag), bytes: parsed.bytes };
}

function toAuditEntry(row: AuditRow): AuditEntry {
  return {
    version: row.version,
    at: row.at,
    actor: row.actor,
    action: row.action,
    flag: row.flag,
    before: row.before === null ? null : (JSON.parse(row.before) as AuditedFlag),
    after: row.after === null ? null : (JSON.parse(row.after) as StoredFlag),
  };
}

function auditedFlag(held: Held): AuditedFlag {
  return held.readable ? held.flag : { key: held.flag.key, unreadable: held.raw };
}

function definitionOf(flag: StoredFlag): FlagDefinition {
  const { version: _version, updatedAt: _updatedAt, ...definition } = flag;
  return definition;
}

function validateWrite(definition: unknown, options: WriteOptions): Definition | FlagRejection {
  const problem = validateOptions(options);
  if (problem !== undefined) return problem;
  const parsed = parseFlag(definition);
  if (!parsed.ok) return reject("invalid_flag", parsed.message);
  return { flag: parsed.flag, json: parsed.json, bytes: parsed.bytes };
}

function validateOptions(options: unknown): FlagRejection | undefined {
  if (typeof options !== "object" || options === null) {
    return reject("invalid_request", "options must be an object with actor and optional ifVersion");
  }
  const { actor, ifVersion } = options as Partial<WriteOptions>;
  const validActor = actorSchema.safeParse(actor);
  if (!validActor.success) {
    return reject("invalid_request", validActor.error.issues[0]?.message ?? "actor is invalid");
  }
  if (ifVersion !== undefined && (!Number.isSafeInteger(ifVersion) || ifVersion < 0)) {
    return reject("invalid_request", "ifVersion must be a whole number (a flag's version)");
  }
  return undefined;
}

function checkVersion(held: Held, ifVersion: number | undefined): FlagRejection | undefined {
  if (ifVersion === undefined || held.flag.version === ifVersion) return undefined;
  return reject(
    "version_conflict",
    `flag "${held.flag.key}" is at version ${held.flag.version}, not ${ifVersion}: someone changed it; read it again`,
  );
}

function reject(code: FlagWriteErrorCode, message: string): FlagRejection {
  return { error: { code, message } };
}
