/**
 * The fencing demo the composing example mounts at /demo/leader-election: a log per group that
 * stands in for whatever the group's leader writes to (a database, a file, a downstream API),
 * guarded by `FencingGuard`, so a deposed leader's late write is refused. It uses only the
 * package's public exports and hono; the composing example mounts this same module.
 */
import { DurableObject } from "cloudflare:workers";
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { FencingGuard, type GuardedWrite } from "../src/index";

/** Entries the demo log keeps: the newest, the rest deleted as new ones arrive. */
export const MAX_LOG_ENTRIES = 20;
const TEXT = /^[\w .,:!?'()-]{1,80}$/;
const GROUP = /^[\w.-]{1,64}$/;

export interface LogEntry {
  seq: number;
  token: number;
  text: string;
}

/**
 * A guarded resource: its own Durable Object, accepting an append only with a fencing token at
 * least the highest it has seen.
 */
export class FencedLog extends DurableObject<unknown> {
  private readonly fence = new FencingGuard(this.ctx.storage);

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, token INTEGER NOT NULL, text TEXT NOT NULL)",
    );
  }

  append(token: number, text: string): GuardedWrite<number> {
    return this.fence.write(token, () => {
      const sql = this.ctx.storage.sql;
      const { seq } = sql
        .exec<{ seq: number }>(
          "INSERT INTO log (token, text) VALUES (?, ?) RETURNING seq",
          token,
          text,
        )
        .one();
      sql.exec("DELETE FROM log WHERE seq <= ?", seq - MAX_LOG_ENTRIES);
      return seq;
    });
  }

  read(): { highestToken: number; entries: LogEntry[] } {
    const entries = this.ctx.storage.sql
      .exec<{ seq: number; token: number; text: string }>(
        "SELECT seq, token, text FROM log ORDER BY seq",
      )
      .toArray();
    return { highestToken: this.fence.highestToken(), entries };
  }
}

type DemoEnv = { Bindings: Record<string, unknown> };

/**
 * @example
 * app.route("/demo/leader-election", fencingDemo({ binding: "FENCED_LOG" }));
 */
export function fencingDemo(options: { binding: string }): Hono<DemoEnv> {
  const demo = new Hono<DemoEnv>();
  // One log per group: the resource that group's leader writes to.
  const log = (c: Context<DemoEnv>, group: string) => {
    const namespace = c.env[options.binding] as DurableObjectNamespace<FencedLog> | undefined;
    if (namespace === undefined) {
      throw new Error(`the demo needs a FencedLog Durable Object bound as ${options.binding}`);
    }
    return namespace.getByName(group);
  };
  demo.use(
    "*",
    bodyLimit({
      maxSize: 1024,
      onError: (c) => error(c, 413, "payload_too_large", "request body must be at most 1024 bytes"),
    }),
  );

  demo.post("/write", async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return error(c, 400, "invalid_json", "request body must be valid JSON");
    }
    const { group, token, text } = (
      typeof body === "object" && body !== null ? body : {}
    ) as Record<string, unknown>;
    if (typeof group !== "string" || !GROUP.test(group)) {
      return error(
        c,
        400,
        "invalid_request",
        "group must be 1-64 letters, digits, '_', '.' or '-'",
      );
    }
    if (typeof token !== "number" || !Number.isSafeInteger(token) || token < 1) {
      return error(c, 400, "invalid_request", "token must be a whole number of at least 1");
    }
    if (typeof text !== "string" || !TEXT.test(text)) {
      return error(
        c,
        400,
        "invalid_request",
        "text must be 1-80 letters, digits, spaces or .,:!?'()-",
      );
    }
    const result = await log(c, group).append(token, text);
    return c.json(result, result.accepted ? 200 : 409);
  });

  demo.get("/log/:group", async (c) => {
    const group = c.req.param("group");
    if (!GROUP.test(group)) {
      return error(
        c,
        400,
        "invalid_request",
        "group must be 1-64 letters, digits, '_', '.' or '-'",
      );
    }
    return c.json(await log(c, group).read());
  });
  return demo;
}

function error(c: Context, status: 400 | 413, code: string, message: string) {
  return c.json({ error: { code, message } }, status);
}
