/**
 * The small HTTP helpers every catalog package repeats on purpose (so copying one package's
 * `src/` is enough): the error shape, a size-capped JSON body reader, and the admin-token guard.
 * Kept identical across packages.
 */
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type * as z from "zod/mini";

/** Answers every unmatched route in the catalog's error shape. */
export function notFound(c: Context): Response {
  return errorResponse(
    c,
    404,
    "not_found",
    `no route for ${c.req.method} ${new URL(c.req.url).pathname}; see the README for the routes`,
  );
}

/** Anything unexpected still answers in the error shape, without leaking internals. */
export function internalError(error: Error, c: Context): Response {
  console.error(error);
  return errorResponse(c, 500, "internal_error", "something went wrong on our side; try again");
}

export type ErrorCode =
  | "invalid_json"
  | "invalid_request"
  | "payload_too_large"
  | "unauthorized"
  | "admin_disabled"
  | "not_found"
  | "rate_limited"
  | "unavailable"
  | "internal_error";

/** Every error body is `{ "error": { "code", "message" } }`. */
export function errorResponse(
  c: Context,
  status: ContentfulStatusCode,
  code: ErrorCode,
  message: string,
  headers?: Record<string, string>,
): Response {
  return c.json({ error: { code, message } }, status, headers);
}

/** Requests larger than this are refused with 413 before they are read. */
export const MAX_BODY_BYTES = 16 * 1024;

export function limitBody(maxBytes = MAX_BODY_BYTES): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) =>
      errorResponse(c, 413, "payload_too_large", `request body must be at most ${maxBytes} bytes`),
  });
}

/**
 * Reads the body as JSON and validates it. Returns the data, or the 400 response to send.
 */
export async function readJson<S extends z.ZodMiniType>(
  c: Context,
  schema: S,
): Promise<{ ok: true; data: z.infer<S> } | { ok: false; response: Response }> {
  let body: unknown;
  try {
    body = JSON.parse(await c.req.text());
  } catch {
    return {
      ok: false,
      response: errorResponse(c, 400, "invalid_json", "request body must be valid JSON"),
    };
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    return {
      ok: false,
      response: errorResponse(c, 400, "invalid_request", describeZodError(parsed.error)),
    };
  }
  return { ok: true, data: parsed.data };
}

/**
 * The message for a value that is not the expected object at all; other issues inside the
 * object (an unknown key, say) keep their own, more specific message.
 */
export function objectError(message: string) {
  return (issue: { code: string }) => (issue.code === "invalid_type" ? message : undefined);
}

/**
 * One sentence listing what is wrong with each field: the first problem per field, since a value
 * outside a number's safe range is also outside our bounds and would be reported twice.
 */
export function describeZodError(error: z.core.$ZodError): string {
  const seen = new Set<string>();
  const messages: string[] = [];
  for (const issue of error.issues) {
    const path = issue.path.map(String);
    const where = path.join(".");
    if (seen.has(where)) continue;
    seen.add(where);
    messages.push(describeIssue(issue, path));
  }
  return messages.join("; ");
}

function describeIssue(issue: z.core.$ZodIssue, path: string[]): string {
  // zod/mini ships no English messages; this is the one issue our schemas leave to it.
  const message =
    issue.code === "unrecognized_keys"
      ? `unknown field${issue.keys.length === 1 ? "" : "s"} ${issue.keys.map((key) => `"${key}"`).join(", ")}`
      : issue.message;
  const field = path.at(-1);
  // Messages name their own field ("limit must be ..."); prefix only the parents.
  if (field !== undefined && message.startsWith(field)) {
    return [...path.slice(0, -1), message].join(".");
  }
  return path.length === 0 ? message : `${path.join(".")}: ${message}`;
}

/**
 * Guards admin routes with `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time.
 * With no ADMIN_TOKEN configured, admin routes are off rather than open.
 */
export function requireAdmin(): MiddlewareHandler<{ Bindings: { ADMIN_TOKEN?: string } }> {
  return async (c, next) => {
    const expected = c.env.ADMIN_TOKEN;
    if (expected === undefined || expected === "") {
      return errorResponse(
        c,
        403,
        "admin_disabled",
        "admin operations are disabled: set the ADMIN_TOKEN secret to enable them",
      );
    }
    const header = c.req.header("Authorization") ?? "";
    const given = header.startsWith("Bearer ") ? header.slice("Bearer ".length) : "";
    if (given === "" || !(await tokensMatch(given, expected))) {
      return errorResponse(
        c,
        401,
        "unauthorized",
        "this operation needs the header 'Authorization: Bearer <ADMIN_TOKEN>'",
        { "WWW-Authenticate": 'Bearer realm="admin"' },
      );
    }
    await next();
  };
}

/** Hashing first gives equal-length inputs, so the comparison leaks neither length nor content. */
async function tokensMatch(given: string, expected: string): Promise<boolean> {
  const encoder = new TextEncoder();
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(given)),
    crypto.subtle.digest("SHA-256", encoder.encode(expected)),
  ]);
  return crypto.subtle.timingSafeEqual(a, b);
}
