/**
 * The bench Worker. The Node runner drives it with one request per step, so that the calls being
 * timed are made from inside workerd, Worker to Durable Object, as in production:
 *
 * - `GET  /rows`: the registered rows (`RowInfo`), in table order.
 * - `POST /prepare?row&object&warmup&inFlight`: untimed setup and warm-up calls, then zeroes the
 *   counters.
 * - `POST /run?row&object&calls&first&inFlight`: timed calls `first` to `first + calls - 1` of the
 *   run (a run's calls come in slices). Nothing else, so Node can time it.
 * - `GET  /stats?row&object&calls`: the storage rows counted since /prepare.
 * - `POST /release?row&object&calls&warmup`: evicts the run's objects.
 */
import type { RowInfo } from "./config.ts";
import type { Env } from "./objects.ts";
import { ROWS, type Row } from "./registry.ts";

export * from "./objects.ts";

export default {
  async fetch(request, env): Promise<Response> {
    const url = new URL(request.url);
    try {
      if (url.pathname === "/rows") return Response.json(ROWS.map(describe));
      const row = findRow(param(url, "row"));
      const object = param(url, "object");
      switch (url.pathname) {
        case "/prepare":
          await row.prepare(env, object, count(url, "warmup"), count(url, "inFlight"));
          return new Response(null, { status: 204 });
        case "/run":
          await row.run(
            env,
            object,
            count(url, "first"),
            count(url, "calls"),
            count(url, "inFlight"),
          );
          return new Response(null, { status: 204 });
        case "/stats":
          return Response.json(await row.stats(env, object, count(url, "calls")));
        case "/release":
          await row.release(env, object, count(url, "calls"), count(url, "warmup"));
          return new Response(null, { status: 204 });
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

function describe(row: Row): RowInfo {
  return {
    name: row.name,
    role: row.role,
    ceiling: row.ceiling,
    floor: row.floor,
    baseline: row.baseline,
    maxRowsWrittenPerOp: row.maxRowsWrittenPerOp,
    freshObjectPerCall: row.freshObjectPerCall,
    maxCalls: row.maxCalls,
  };
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
