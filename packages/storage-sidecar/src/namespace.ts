import type { StorageSidecar } from "./object";

/** The StorageSidecar namespace bound under `name`, or a clear error naming the missing binding. */
export function getSidecarNamespace(
  env: unknown,
  name: string,
): DurableObjectNamespace<StorageSidecar> {
  const candidate = (env as Record<string, unknown> | undefined)?.[name];
  if (typeof candidate !== "object" || candidate === null || !("getByName" in candidate)) {
    throw new Error(
      `no Durable Object binding named "${name}" in env; add it to your wrangler config`,
    );
  }
  return candidate as DurableObjectNamespace<StorageSidecar>;
}
