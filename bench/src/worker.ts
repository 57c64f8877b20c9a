/**
 * The bench Worker. The Node runner drives it with one request per step, so that the calls being
 * timed are made from inside workerd, Worker to Durable Object, as in production:
 *
 * - `GET  /rows`: the registered rows, `[{ name, ceiling, baseline, floor }]`.
 * - `POST /prepare?row&object&warmup`: untimed setup and warm-up calls, then zeroes the counters.
 * - `POST /run?row&object&calls&inFlight`: the timed calls. Nothing else, so Node can time it.
 * - `GET  /stats?row&object`: the storage rows counted since /prepare.
 */
import type { RowInfo } from "./config.ts";
import type { Env } from "./objects.ts";
import { ROWS, type Row } from "./registry.ts";

export * from "./objects.ts";

export default {
  async fetch(request, env): Promise<Response> {
    const url = new URL(request.url);
    try {
      if (url.pathname === "/rows") {
        return Response.json(
          ROWS.map(({ name, ceiling, baseline, floor }): RowInfo => ({
            name,
            ceiling,
            baseline,
            floor,
          })),
        );
      }
      const object = findRow(param(url, "row")).open(env, param(url, "object"));
      switch (url.pathname) {
        case "/prepare": {
          await object.setup();
          for (let i = 0; i < count(url, "warmup"); i++) await object.op();
          await object.resetStats();
          return new Response(null, { status: 204 });
        }
        case "/run": {
          await runLanes(object.op, count(url, "calls"), count(url, "inFlight"));
          return new Response(null, { status: 204 });
        }
        case "/stats":
          return Response.json(await object.stats());
        default:
          return new Response("not found", { status: 404 });
      }
    } catch (error) {
      return new Response(error instanceof Error ? (error.stack ?? error.message) : String(error), {
        status: 500,
      });
    }
  },
} satisfies ExportedHandler<Env>;

/**
 * `inFlight` lanes pull calls from one shared counter until `calls` have started, so exactly
 * `calls` are made and at most `inFlight` are outstanding at any moment.
 */
async function runLanes(op: () => Promise<void>, calls: number, inFlight: number): Promise<void> {
  let started = 0;
  const lane = async () => {
    while (started < calls) {
      started++;
      await op();
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, calls) }, lane));
}

function findRow(name: string): Row {
  const row = ROWS.find((candidate) => candidate.name === name);
  if (row === undefined) throw new Error(`no row named ${name}`);
  return row;
}

function param(url: URL, name: string): string {
  const value = url.searchParams.get(name);
  if (value === null) throw new Error(`missing ?${name}`);
  return value;
}

function count(url: URL, name: string): number {
  const value = Number(param(url, name));
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`?${name} must be a whole number`);
  return value;
}
