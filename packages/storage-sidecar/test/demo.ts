/**
 * The Workflow demo the composing example mounts at /demo/storage-sidecar: start a run of
 * SidecarDemoWorkflow, then watch its status and its sidecar (filling, then cleared). It uses
 * only the package's public exports and hono; the composing example mounts this same module.
 */
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { StorageSidecar } from "../src/index";
import type { SidecarDemoParams } from "./workflow";

type ErrorCode = "invalid_json" | "invalid_request" | "not_found" | "payload_too_large";

export interface SidecarDemoOptions {
  /** The Workflow binding of SidecarDemoWorkflow (default "SIDECAR_WORKFLOW"). */
  workflow?: string;
  /** The StorageSidecar binding (default "SIDECARS"). */
  sidecars?: string;
}

const LIMITS = { pages: 50, itemsPerPage: 1_000 } as const;
const ID = /^[\w-]{1,64}$/;

/**
 * @example
 * app.route("/demo/storage-sidecar", sidecarDemo());
 */
export function sidecarDemo(options: SidecarDemoOptions = {}): Hono {
  const bindings = (c: Context) => {
    const env = c.env as Record<string, unknown>;
    return {
      workflow: env[options.workflow ?? "SIDECAR_WORKFLOW"] as Workflow<SidecarDemoParams>,
      sidecars: env[options.sidecars ?? "SIDECARS"] as DurableObjectNamespace<StorageSidecar>,
    };
  };
  const demo = new Hono();
  demo.use(
    "*",
    bodyLimit({
      maxSize: 1024,
      onError: (c) => error(c, 413, "payload_too_large", "request body must be at most 1024 bytes"),
    }),
  );

  demo.post("/start", async (c) => {
    const text = await c.req.text();
    let body: unknown = {};
    try {
      if (text.trim() !== "") body = JSON.parse(text);
    } catch {
      return error(c, 400, "invalid_json", "request body must be valid JSON");
    }
    const params = parseParams(body);
    if (typeof params === "string") return error(c, 400, "invalid_request", params);
    const id = crypto.randomUUID();
    await bindings(c).workflow.create({ id, params });
    return c.json({ id, params, status: `/demo/storage-sidecar/status/${id}` }, 201);
  });

  demo.get("/status/:id", async (c) => {
    const id = c.req.param("id");
    if (!ID.test(id)) return error(c, 404, "not_found", "no such run");
    const { workflow, sidecars } = bindings(c);
    let instance: WorkflowInstance;
    try {
      instance = await workflow.get(id);
    } catch {
      return error(c, 404, "not_found", "no such run");
    }
    const { status, output, error: failure } = await instance.status();
    // The sidecar fills while the run fetches, and is empty once it is done.
    const sidecar = await sidecars.getByName(id).stats();
    return c.json({ id, status, output: output ?? null, error: failure ?? null, sidecar });
  });
  return demo;
}

function parseParams(body: unknown): SidecarDemoParams | string {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return "body must be a JSON object with optional pages, itemsPerPage and crashOnPage";
  }
  const params: SidecarDemoParams = {};
  for (const [field, value] of Object.entries(body)) {
    if (field !== "pages" && field !== "itemsPerPage" && field !== "crashOnPage") {
      return `unknown field "${field}"`;
    }
    const max = field === "itemsPerPage" ? LIMITS.itemsPerPage : LIMITS.pages;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
      return `${field} must be a whole number from 1 to ${max}`;
    }
    params[field] = value;
  }
  return params;
}

function error(c: Context, status: 400 | 404 | 413, code: ErrorCode, message: string) {
  return c.json({ error: { code, message } }, status);
}
