// The example's pages in a real browser: starts the composing example with `wrangler dev` (root
// wrangler.jsonc, the `.dev.vars.example` secrets, its own state directory) on a free port, waits
// until it answers, launches Debian's chromium through playwright-core, and runs every
// `browser/*.page.ts` module's default export in turn:
//
//   export default async function (page: Page, baseUrl: string, outDir: string): Promise<void>
//
// A test throws to fail. Screenshots go to `browser/output/` (git-ignored); a failing test also
// leaves `<name>.failure.png` there. Exits non-zero on any failure.
//
// Usage: pnpm --filter @do-patterns/example run browser-test [name-filter]
// CHROMIUM=/path/to/chromium overrides /usr/bin/chromium.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type Page } from "playwright-core";

const HERE = import.meta.dirname;
const ROOT = resolve(HERE, "..", "..", "..");
const OUT_DIR = join(HERE, "output");
const CHROMIUM = process.env["CHROMIUM"] ?? "/usr/bin/chromium";
const START_TIMEOUT_MS = 180_000;
const TEST_TIMEOUT_MS = 120_000;

type PageTest = (page: Page, baseUrl: string, outDir: string) => Promise<void>;

async function main(): Promise<number> {
  const filter = process.argv[2] ?? "";
  const tests = readdirSync(HERE)
    .filter((file) => file.endsWith(".page.ts") && file.includes(filter))
    .toSorted();
  if (tests.length === 0) {
    console.error(`no browser/*.page.ts matches "${filter}"`);
    return 1;
  }
  if (!existsSync(CHROMIUM)) {
    console.error(`no chromium at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM`);
    return 1;
  }
  mkdirSync(OUT_DIR, { recursive: true });

  const server = await startExample();
  let failures = 0;
  try {
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    try {
      for (const file of tests) {
        const name = file.slice(0, -".page.ts".length);
        const started = Date.now();
        const context = await browser.newContext({ viewport: { width: 1100, height: 1400 } });
        const page = await context.newPage();
        page.setDefaultTimeout(30_000);
        try {
          const module = (await import(pathToFileURL(join(HERE, file)).href)) as {
            default: PageTest;
          };
          await withTimeout(module.default(page, server.baseUrl, OUT_DIR), TEST_TIMEOUT_MS, name);
          console.warn(`ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
        } catch (error) {
          failures++;
          console.error(`FAIL ${name}: ${error instanceof Error ? error.stack : String(error)}`);
          await page
            .screenshot({ path: join(OUT_DIR, `${name}.failure.png`), fullPage: true })
            .catch(() => {});
        } finally {
          await context.close();
        }
      }
    } finally {
      await browser.close();
    }
  } finally {
    await server.stop();
    if (failures > 0)
      console.error(`wrangler dev output, last lines:\n${server.output().slice(-4_000)}`);
  }
  console.warn(`${tests.length - failures} passed, ${failures} failed; screenshots in ${OUT_DIR}`);
  return failures === 0 ? 0 : 1;
}

/** `wrangler dev` on free ports, with state in a temporary directory, until it answers GET /. */
async function startExample() {
  const port = await freePort();
  const inspectorPort = await freePort();
  const state = mkdtempSync(join(tmpdir(), "do-patterns-browser-"));
  const child = spawn(
    join(ROOT, "node_modules", ".bin", "wrangler"),
    [
      "dev",
      "--config",
      join(ROOT, "wrangler.jsonc"),
      "--env-file",
      join(ROOT, ".dev.vars.example"),
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--persist-to",
      state,
      "--show-interactive-dev-session=false",
    ],
    {
      cwd: ROOT,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
      // Its own process group: wrangler, workerd and esbuild stop together.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  let exited = false;
  const exit = new Promise<void>((done) => child.on("exit", () => ((exited = true), done())));

  const stop = async () => {
    if (child.pid !== undefined && !exited) {
      process.kill(-child.pid, "SIGTERM");
      await Promise.race([exit, new Promise((done) => setTimeout(done, 10_000))]);
      if (!exited) process.kill(-child.pid, "SIGKILL");
    }
    rmSync(state, { recursive: true, force: true });
  };

  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`wrangler dev exited before serving:\n${output.slice(-4_000)}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `wrangler dev did not answer within ${START_TIMEOUT_MS} ms:\n${output.slice(-4_000)}`,
      );
    }
    try {
      const response = await fetch(`${baseUrl}/`, { signal: AbortSignal.timeout(10_000) });
      await response.body?.cancel();
      if (response.ok) break;
    } catch {
      // Not listening yet.
    }
    await new Promise((done) => setTimeout(done, 250));
  }
  console.warn(`example Worker at ${baseUrl}`);
  return { baseUrl, stop, output: () => output };
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

async function withTimeout<T>(work: Promise<T>, ms: number, name: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

process.exitCode = await main();
