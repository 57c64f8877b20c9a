/**
 * The ceilings every hot path is judged against: the fastest a Durable Object RPC can be (a
 * method that does nothing) and the fastest a call that must persist something can be (a
 * method that writes exactly one small row), on an object already running or, for the first
 * call for a new key, on an object never called before. A pattern's hot path cannot beat the
 * ceiling for its kind of work, so its ratio to that ceiling says how much overhead it adds.
 */
import { DurableObject } from "cloudflare:workers";

export class Ceiling extends DurableObject<unknown> {
  private writes = 0;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    // Outside the timed calls, so write-row measures the upsert alone. WITHOUT ROWID makes the
    // primary key the table itself: one b-tree, so an upsert touches exactly one row.
    ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS ceiling (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID`,
    );
  }

  noop(): void {}

  writeRow(): void {
    // A changing value, so no layer could ever skip the write as a no-op.
    this.writes++;
    this.ctx.storage.sql.exec(
      `INSERT INTO ceiling (key, value) VALUES ('k', ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      this.writes,
    );
  }
}
