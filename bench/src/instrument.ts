/**
 * Counts the storage rows a Durable Object reads and writes, without changing its code: the
 * object's class is wrapped by `instrumented()`, which patches the object's own storage before
 * the class's constructor runs and adds two RPC methods to read and reset the counts.
 *
 * Why patch in place rather than hand the constructor a Proxy of `ctx`: workerd's native
 * `DurableObject` base constructor type-checks its first argument and rejects a Proxy
 * ("constructor parameter 1 is not of type 'DurableObjectState'"). `ctx.storage` and
 * `ctx.storage.sql` are stable per-instance objects whose methods can be shadowed by own
 * properties, so patching them catches every access, including references captured in a
 * constructor.
 */
import type { DurableObject } from "cloudflare:workers";

/** Rows touched since the last reset, as the SQLite storage backend bills them. */
export interface StorageStats {
  rowsRead: number;
  rowsWritten: number;
}

/** The RPC methods every benchmarked object gains. Named to stay clear of a pattern's own API. */
export interface BenchStatsRpc {
  benchStats(): StorageStats;
  benchResetStats(): void;
  /**
   * Empties this object's storage (its alarm too) and ends it now; the caller sees the call
   * fail. workerd keeps an idle object, and its open database, for a while after its last call,
   * and a cold-key run leaves a thousand of them.
   */
  benchEvict(): Promise<void>;
}

type Cursor = SqlStorageCursor<Record<string, SqlStorageValue>>;

class StorageCounter {
  // A cursor that returns rows counts more of them as its caller iterates it, so those cursors
  // are kept and summed when stats are asked for, by which time the calls being measured are
  // done. A statement without result columns (a plain INSERT, UPDATE or DELETE) has run to
  // completion when exec() returns: it is counted at once, so a write-heavy run keeps no cursors.
  private cursors: Cursor[] = [];
  private rowsRead = 0;
  private rowsWritten = 0;

  onCursor(cursor: Cursor): void {
    if (cursor.columnNames.length > 0) {
      this.cursors.push(cursor);
      return;
    }
    this.add(cursor.rowsRead, cursor.rowsWritten);
  }

  add(read: number, written: number): void {
    this.rowsRead += read;
    this.rowsWritten += written;
  }

  read(): StorageStats {
    let rowsRead = this.rowsRead;
    let rowsWritten = this.rowsWritten;
    for (const cursor of this.cursors) {
      rowsRead += cursor.rowsRead;
      rowsWritten += cursor.rowsWritten;
    }
    return { rowsRead, rowsWritten };
  }

  reset(): void {
    this.cursors = [];
    this.rowsRead = 0;
    this.rowsWritten = 0;
  }
}

/** Shadows `target[method]` with a wrapper that calls the original, then reports the call. */
function intercept(
  target: object,
  method: string,
  after: (args: unknown[], result: unknown) => void,
): void {
  const original: unknown = Reflect.get(target, method);
  if (typeof original !== "function") return;
  Object.defineProperty(target, method, {
    configurable: true,
    writable: true,
    value(...args: unknown[]): unknown {
      // Native methods must run with the native object as `this`, never a wrapper.
      const result: unknown = Reflect.apply(original, target, args);
      after(args, result);
      return result;
    },
  });
}

/** Keys named by a get/delete argument: one key or an array of them. */
const keyCount = (arg: unknown): number => (Array.isArray(arg) ? arg.length : 1);
/** Entries named by a put argument: `put(key, value)` or `put({ key: value, ... })`. */
const entryCount = (arg: unknown): number =>
  typeof arg === "object" && arg !== null ? Object.keys(arg).length : 1;
/** Entries a list returned: a Map (async API) or an iterable of pairs (sync API). */
async function listedCount(result: unknown): Promise<number> {
  const listed: unknown = await result;
  if (listed instanceof Map) return listed.size;
  if (typeof listed === "object" && listed !== null && Symbol.iterator in listed) {
    return [...(listed as Iterable<unknown>)].length;
  }
  return 0;
}

/**
 * The key-value APIs (async `ctx.storage.get/put/delete/list`, a transaction's, and the sync
 * `ctx.storage.kv`) are billed per key on the SQLite backend: one row read per key got or
 * listed, one row written per key put or deleted. Count them that way.
 */
function countKv(kv: object, counter: StorageCounter): void {
  intercept(kv, "get", (args) => counter.add(keyCount(args[0]), 0));
  intercept(kv, "put", (args) => counter.add(0, entryCount(args[0])));
  intercept(kv, "delete", (args) => counter.add(0, keyCount(args[0])));
  intercept(kv, "list", (_args, result) => {
    // Counting must never turn the caller's rejection into an unhandled one.
    listedCount(result).then(
      (rows) => counter.add(rows, 0),
      () => {},
    );
  });
}

function instrument(ctx: DurableObjectState): StorageCounter {
  const counter = new StorageCounter();
  const storage = ctx.storage;
  intercept(storage.sql, "exec", (_args, cursor) => counter.onCursor(cursor as Cursor));
  countKv(storage, counter);
  // The sync KV API exists only on SQLite-backed objects; read it defensively.
  const kv: unknown = Reflect.get(storage, "kv");
  if (typeof kv === "object" && kv !== null) countKv(kv, counter);
  const transaction: unknown = Reflect.get(storage, "transaction");
  if (typeof transaction === "function") {
    Object.defineProperty(storage, "transaction", {
      configurable: true,
      writable: true,
      value(closure: (txn: DurableObjectTransaction) => Promise<unknown>): unknown {
        return Reflect.apply(transaction, storage, [
          (txn: DurableObjectTransaction) => {
            countKv(txn, counter);
            return closure(txn);
          },
        ]);
      },
    });
  }
  return counter;
}

/** A Durable Object class as the runtime constructs it. */
export type ObjectClass<T> = new (ctx: DurableObjectState, env: never) => T;

/**
 * Wraps a Durable Object class so its storage rows are counted. Export the result from
 * `objects.ts` under the name bound in `config.ts`:
 * `export const BenchRateLimiter = instrumented(RateLimiter);`
 */
export function instrumented<T extends Rpc.DurableObjectBranded>(
  Base: ObjectClass<T>,
): ObjectClass<T & BenchStatsRpc> {
  // TypeScript lets a class extend a generic constructor only if it is typed `new (...args:
  // any[])`; extending a concrete view of the same constructor and casting back avoids `any`.
  const Concrete = Base as unknown as ObjectClass<DurableObject<unknown>>;
  class Instrumented extends Concrete implements BenchStatsRpc {
    private readonly storageCounter: StorageCounter;

    constructor(ctx: DurableObjectState, env: never) {
      // Before super(): the wrapped constructor may read storage or keep references to it.
      const counter = instrument(ctx);
      super(ctx, env);
      this.storageCounter = counter;
    }

    benchStats(): StorageStats {
      return this.storageCounter.read();
    }

    benchResetStats(): void {
      this.storageCounter.reset();
    }

    async benchEvict(): Promise<void> {
      await this.ctx.storage.deleteAll();
      this.ctx.abort("evicted by the bench after its run");
    }
  }
  return Instrumented as unknown as ObjectClass<T & BenchStatsRpc>;
}
