/**
 * The test Worker: the package's routes, the login demo, routes exercising the middleware's
 * options, and a Session whose clock the tests control.
 */
import { Hono } from "hono";
import { internalError, notFound } from "../src/http";
import {
  Session as BaseSession,
  session,
  sessionRoutes,
  sessionStore,
  type SessionVariables,
} from "../src/index";
import { sessionDemo } from "./demo";

/** Tests set this to freeze time; null means the real clock. */
export const testClock: { now: number | null } = { now: null };
const now = () => testClock.now ?? Date.now();

export class Session extends BaseSession {
  protected override now(): number {
    return now();
  }
}

const app = new Hono<{ Bindings: Env }>();
app.route("/", sessionRoutes());
app.route("/demo/session", sessionDemo({ binding: "SESSIONS", now }));

// The middleware's options, on routes of their own.
const custom = new Hono<{ Bindings: Env; Variables: SessionVariables }>();
custom.use(
  "*",
  session({
    binding: "SESSIONS",
    cookie: { name: "sid" },
    idleTimeoutSeconds: 600,
    absoluteTimeoutSeconds: 3600,
    now,
  }),
);
custom.get("/", (c) => c.json({ id: c.var.session.id, data: c.var.session.data }));
custom.post("/set", async (c) => c.json(await c.var.session.set("n", Number(c.req.query("n")))));
custom.post("/rotate-twice", async (c) => {
  await c.var.session.rotate();
  return c.json(await c.var.session.rotate());
});
custom.post("/create-then-destroy", async (c) => {
  await c.var.session.set("n", 1);
  return c.json(await c.var.session.destroy());
});
custom.post("/ended-meanwhile", async (c) => {
  // Another request logs the visitor out while this one runs.
  await sessionStore(c.env.SESSIONS).destroy(c.var.session.id ?? "");
  return c.json(await c.var.session.set("n", 2));
});
custom.post("/set-then-throw", async (c) => {
  await c.var.session.set("n", 1);
  throw new Error("simulated: the handler failed after writing");
});
app.route("/custom", custom);

// An outage cannot be produced with a real object: a namespace whose stubs always fail.
const unreachable = {
  getByName: () => ({ get: () => Promise.reject(new Error("simulated: store unreachable")) }),
};
const outage = new Hono<{ Bindings: Env; Variables: SessionVariables }>();
outage.use("*", async (c, next) => {
  c.env = { ...c.env, UNREACHABLE: unreachable } as Env;
  await next();
});
outage.use("*", session({ binding: "UNREACHABLE" }));
outage.get("/", (c) => c.text("served"));
app.route("/outage", outage);

app.notFound(notFound);
app.onError(internalError);

export default app;
