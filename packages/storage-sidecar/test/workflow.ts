/**
 * The demo Workflow: it fetches records in several steps, keeps them in its sidecar (each step's
 * own result stays a few bytes, far from the 1 MiB a step result may hold), processes them page
 * by page, and clears the sidecar when it is done. The composing example binds this same class.
 *
 * The "fetch" is a deterministic generator standing in for a paginated API, so the demo runs
 * offline and its output can be checked exactly.
 */
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";
import type { StorageSidecar } from "../src/index";

export interface SidecarDemoParams {
  /** Pages to fetch: 1-50, default 5. */
  pages?: number;
  /** Records per page: 1-1,000, default 200. */
  itemsPerPage?: number;
  /** Make this page's step fail once right after its append, to show the retry adds nothing. */
  crashOnPage?: number;
}

// A type, not an interface: a JsonValue needs the index signature a type alias has implicitly.
export type DemoRecord = {
  id: string;
  page: number;
  amount: number;
  note: string;
};

export interface DemoSummary {
  records: number;
  total: number;
  largest: { id: string; amount: number } | null;
  pagesRead: number;
}

export interface SidecarDemoOutput {
  summary: DemoSummary;
  cleared: { keys: number; items: number; bytes: number };
}

interface DemoEnv {
  SIDECARS: DurableObjectNamespace<StorageSidecar>;
}

/** Page `page` of the stand-in API: the same records every time it is asked. */
export function fetchPage(page: number, size: number): DemoRecord[] {
  return Array.from({ length: size }, (_, i) => ({
    id: `r-${page}-${i}`,
    page,
    // Whole cents, so the total is exact.
    amount: ((page * 7_919 + i * 104_729) % 100_000) / 100,
    note: `record ${i} of page ${page}, as a paginated API would return it`,
  }));
}

const RECORDS = "records";

export class SidecarDemoWorkflow extends WorkflowEntrypoint<DemoEnv, SidecarDemoParams> {
  override async run(
    event: Readonly<WorkflowEvent<SidecarDemoParams>>,
    step: WorkflowStep,
  ): Promise<SidecarDemoOutput> {
    const pages = clamp(event.payload.pages ?? 5, 1, 50);
    const size = clamp(event.payload.itemsPerPage ?? 200, 1, 1_000);
    const sidecar = () => this.env.SIDECARS.getByName(event.instanceId);

    // Long enough for any retry delay below; an abandoned run is gone an hour after its last call.
    await step.do("configure sidecar", async () => {
      const result = await sidecar().configure({ ttlSeconds: 3_600 });
      if (!result.ok) throw new Error(result.error.message);
      return { expiresAt: result.expiresAt };
    });

    for (let page = 1; page <= pages; page++) {
      await step.do(
        `fetch page ${page}`,
        { retries: { limit: 3, delay: "1 second", backoff: "constant" } },
        async (ctx) => {
          const records = fetchPage(page, size);
          // The idempotency key makes a retried step's append a no-op: the batch lands once.
          const appended = await sidecar().appendMany(RECORDS, records, {
            idempotencyKey: `page-${page}`,
          });
          if (!appended.ok) throw new Error(appended.error.message);
          if (event.payload.crashOnPage === page && ctx.attempt === 1) {
            throw new Error(`simulated crash after appending page ${page}`);
          }
          // The step's result, kept by the Workflow: a few bytes, not the records.
          return { page, count: appended.count, length: appended.length };
        },
      );
    }

    const summary = await step.do("process records", async () => {
      const result: DemoSummary = { records: 0, total: 0, largest: null, pagesRead: 0 };
      let totalCents = 0;
      let cursor: number | null = null;
      do {
        const page = await sidecar().items(RECORDS, { cursor, limit: 500 });
        if (!page.ok) throw new Error(page.error.message);
        for (const { value } of page.items) {
          const record = value as unknown as DemoRecord;
          result.records++;
          totalCents += Math.round(record.amount * 100);
          if (result.largest === null || record.amount > result.largest.amount) {
            result.largest = { id: record.id, amount: record.amount };
          }
        }
        result.pagesRead++;
        cursor = page.cursor;
      } while (cursor !== null);
      result.total = totalCents / 100;
      const stored = await sidecar().set("summary", { ...result });
      if (!stored.ok) throw new Error(stored.error.message);
      return result;
    });

    const cleared = await step.do("clear sidecar", async () => {
      const { keys, items, bytes } = await sidecar().clear();
      return { keys, items, bytes };
    });
    return { summary, cleared };
  }
}

function clamp(value: number, min: number, max: number): number {
  return Number.isInteger(value) ? Math.min(max, Math.max(min, value)) : min;
}
