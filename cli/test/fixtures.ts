// The Worker projects the tests add patterns into, as a user's would be: each a wrangler config
// with comments, a package.json and a main module with a default export.
export interface Fixture {
  name: string;
  config: "wrangler.jsonc" | "wrangler.toml";
  files: Record<string, string>;
  /** Migration tags the fixture starts with (a new one must be none of these). */
  tags: string[];
  /** Durable Object bindings it starts with (they must survive). */
  bindings: string[];
}

const HONO_MAIN = `// The Worker's entry point.
import { Hono } from "hono";

const app = new Hono();

app.get("/", (c) => c.text("hello"));

export default app;
`;

const PACKAGE_JSON = `{
  "name": "my-worker",
  "private": true,
  "type": "module",
  "scripts": {
    "dev": "wrangler dev",
    "deploy": "wrangler deploy"
  },
  "devDependencies": {
    "wrangler": "^4.164.0"
  }
}
`;

const COUNTER = `import { DurableObject } from "cloudflare:workers";

/** Counts visits. */
export class Counter extends DurableObject {
  async increment(): Promise<number> {
    const next = ((await this.ctx.storage.get<number>("n")) ?? 0) + 1;
    await this.ctx.storage.put("n", next);
    return next;
  }
}
`;

const COUNTER_MAIN = `import { Counter } from "./counter";

export { Counter };

export default {
  async fetch(_request: Request, env: { COUNTER: DurableObjectNamespace<Counter> }) {
    const n = await env.COUNTER.getByName("visits").increment();
    return new Response(\`visit \${n}\`);
  },
};
`;

export const FIXTURES: Fixture[] = [
  {
    // What `npm create cloudflare` leaves, trimmed: comments of every kind, trailing commas.
    name: "jsonc",
    config: "wrangler.jsonc",
    tags: [],
    bindings: [],
    files: {
      "wrangler.jsonc": `/**
 * My Worker's configuration (a block comment at the top).
 */
{
  "$schema": "node_modules/wrangler/config-schema.json",
  "name": "my-worker", // the name it deploys under
  "main": "src/index.ts",
  // Keep this date current.
  "compatibility_date": "2026-11-01",
  "observability": {
    "enabled": true, /* logs in the dashboard */
  },
  "send_metrics": false,
}
`,
      "package.json": PACKAGE_JSON,
      "src/index.ts": HONO_MAIN,
    },
  },
  {
    // wrangler.toml, with a table after the top-level keys and an environment.
    name: "toml",
    config: "wrangler.toml",
    tags: [],
    bindings: [],
    files: {
      "wrangler.toml": `# My Worker's configuration.
name = "my-worker" # the name it deploys under
main = "src/worker.ts"
# Keep this date current.
compatibility_date = "2026-11-01"
send_metrics = false

# Logs in the dashboard.
[observability]
enabled = true

# A staging copy of the Worker.
[env.staging]
name = "my-worker-staging"
`,
      "package.json": PACKAGE_JSON,
      "src/worker.ts": `/** The Worker's entry point: a plain fetch handler. */
export default {
  async fetch(): Promise<Response> {
    return new Response("hello");
  },
} satisfies ExportedHandler;
`,
    },
  },
  {
    // A Worker that already has its own Durable Object, two migrations, a KV namespace and
    // compatibility flags, in a four-space, no-trailing-comma style.
    name: "existing-do",
    config: "wrangler.jsonc",
    tags: ["v1", "v2"],
    bindings: ["COUNTER"],
    files: {
      "wrangler.jsonc": `{
    // An existing Worker with a Durable Object of its own.
    "name": "my-worker",
    "main": "src/index.ts",
    "compatibility_date": "2026-11-01",
    "compatibility_flags": ["nodejs_compat"],
    "send_metrics": false,
    "durable_objects": {
        "bindings": [
            { "name": "COUNTER", "class_name": "Counter" } // counts visits
        ]
    },
    "migrations": [
        { "tag": "v1", "new_classes": ["OldCounter"] },
        { "tag": "v2", "renamed_classes": [{ "from": "OldCounter", "to": "Counter" }] }
    ],
    "kv_namespaces": [{ "binding": "CACHE", "id": "0123456789abcdef0123456789abcdef" }]
}
`,
      "package.json": PACKAGE_JSON,
      "src/counter.ts": COUNTER,
      "src/index.ts": COUNTER_MAIN,
    },
  },
  {
    // The same in wrangler.toml: new tables go right after the existing ones of their kind.
    name: "toml-existing-do",
    config: "wrangler.toml",
    tags: ["counter-1"],
    bindings: ["COUNTER"],
    files: {
      "wrangler.toml": `name = "my-worker"
main = "src/index.ts"
compatibility_date = "2026-11-01"
compatibility_flags = [ "nodejs_compat" ] # for node:buffer
send_metrics = false

[[durable_objects.bindings]]
name = "COUNTER" # counts visits
class_name = "Counter"

# Migrations, oldest first.
[[migrations]]
tag = "counter-1"
new_sqlite_classes = ["Counter"]

# Cached pages.
[[kv_namespaces]]
binding = "CACHE"
id = "0123456789abcdef0123456789abcdef"
`,
      "package.json": PACKAGE_JSON,
      "src/counter.ts": COUNTER,
      "src/index.ts": COUNTER_MAIN,
    },
  },
];
