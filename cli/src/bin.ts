// The executable (dist/cli.js once built): the catalog the build bundled next to it, and the
// process's own input and output.
import { readFileSync } from "node:fs";
import { main, processIo } from "./cli.ts";
import type { Catalog } from "./types.ts";

// `do-patterns list | head`: a closed pipe ends the output, not in a stack trace.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

const catalog = JSON.parse(
  readFileSync(new URL("./catalog.json", import.meta.url), "utf8"),
) as Catalog;
process.exitCode = await main(process.argv.slice(2), catalog, processIo());
