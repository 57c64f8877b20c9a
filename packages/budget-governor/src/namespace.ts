import type { BudgetGovernor } from "./object";

/** The BudgetGovernor namespace bound under `name`, or a clear error naming the missing binding. */
export function getGovernorNamespace(
  env: unknown,
  name: string,
): DurableObjectNamespace<BudgetGovernor> {
  const candidate = (env as Record<string, unknown> | undefined)?.[name];
  if (typeof candidate !== "object" || candidate === null || !("getByName" in candidate)) {
    throw new Error(
      `no Durable Object binding named "${name}" in env; add it to your wrangler config`,
    );
  }
  return candidate as DurableObjectNamespace<BudgetGovernor>;
}
