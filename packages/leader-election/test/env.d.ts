// The tests' one binding beyond wrangler.jsonc's (see vitest.config.ts): the demo's guarded log.
import type { FencedLog } from "./demo";

declare global {
  namespace Cloudflare {
    interface Env {
      FENCED_LOG: DurableObjectNamespace<FencedLog>;
    }
  }
}
