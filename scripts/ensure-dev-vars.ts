// Before `pnpm dev`: give a fresh clone a local ADMIN_TOKEN by copying .dev.vars.example to
// .dev.vars (git-ignored), so the README's admin curl examples work. Never overwrites.
import { copyFileSync, existsSync } from "node:fs";

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.warn(
    "Created .dev.vars from .dev.vars.example (local ADMIN_TOKEN for the admin routes).",
  );
}
