/** What the build bundles (dist/catalog.json) and the CLI reads: every pattern it can add. */
export interface Catalog {
  /** The CLI's (and so the catalog's) version, recorded at the top of every copied file. */
  version: string;
  patterns: Pattern[];
  /** Packages under packages/ left out of the bundle, and why (shown by the tests and the build). */
  skipped: { name: string; reason: string }[];
}

/** One pattern, as derived from its package at build time (see cli/README.md, "Metadata"). */
export interface Pattern {
  /** The folder name under packages/: "rate-limiter". */
  name: string;
  /** "@do-patterns/rate-limiter". */
  packageName: string;
  version: string;
  /** One line, from the package.json description. */
  description: string;
  /** The Durable Object classes of src/index.ts, with the binding names the package uses. */
  durableObjects: DurableObjectClass[];
  /** Every name the Worker's main module must export (DO classes, then Workflow classes). */
  exports: string[];
  /** Runtime dependencies at the catalog's versions: { hono: "^4.13.19" }. */
  dependencies: Record<string, string>;
  compatibilityFlags: string[];
  compatibilityDate: string;
  /** Bindings other than Durable Objects (KV, R2, D1, queues, workflows, services, ...). */
  bindings: OtherBinding[];
  /** Secrets and variables the code reads (from the README's .dev.vars block). */
  secrets: string[];
  /** Extra lines for "next steps" (package.json `doPatterns.notes`). */
  notes: string[];
  /** The README quick start's src/index.ts block, or null. */
  quickStart: string | null;
  /** src/, file by file (paths relative to src/, forward slashes). */
  files: PatternFile[];
  /** Bindings of the package's wrangler.jsonc judged test-only, and why (shown by the build). */
  leftOut: string[];
}

export interface DurableObjectClass {
  className: string;
  binding: string;
  /** new_sqlite_classes (every catalog pattern) or the legacy key-value backend (new_classes). */
  storage: "sqlite" | "kv";
}

/**
 * A binding of another kind, as the package's wrangler config declares it. `section` is its path
 * in the config (["kv_namespaces"], ["queues", "producers"], ["ai"]); array sections hold one
 * entry per binding, object sections ("ai", "browser", ...) are the entry itself.
 */
export interface OtherBinding {
  section: string[];
  array: boolean;
  /** The entry's identifying field ("binding", "queue" for consumers, "name" for send_email). */
  key: string;
  entry: Record<string, unknown>;
  /**
   * A service binding to an entrypoint the pattern itself exports (`service` was the package's
   * own Worker name): in a project it points at the project's Worker, so `service` is replaced
   * by the project's name.
   */
  self: boolean;
}

export interface PatternFile {
  path: string;
  content: string;
}
