/**
 * @do-patterns/storage-sidecar: the bulk state of one entity (a Workflow instance, say) in a
 * Durable Object beside it, so the Workflow's own step results stay small. Keys and values,
 * append-only lists at one row per item, size caps, and an idle timeout that deletes it all.
 *
 * Each file is one room: `object.ts` the Durable Object, `routes.ts` the HTTP routes,
 * `limits.ts` the caps and input checks, `ttl.ts` the idle-timeout decision, `prefix.ts` key
 * ranges, `http.ts` the helpers every catalog package repeats.
 */
export {
  StorageSidecar,
  type AppendManyResult,
  type AppendOptions,
  type AppendResult,
  type ClearResult,
  type ConfigureResult,
  type DeleteListResult,
  type DeleteResult,
  type GetResult,
  type ItemsResult,
  type ListOptions,
  type ListResult,
  type PageOptions,
  type SetResult,
  type SidecarStats,
} from "./object";
export { storageSidecarRoutes, type StorageSidecarRoutesOptions } from "./routes";
export {
  MAX_BATCH_BYTES,
  MAX_BATCH_ITEMS,
  MAX_ENTRIES,
  MAX_KEY_LENGTH,
  MAX_LIST_LENGTH,
  MAX_PAGE_BYTES,
  MAX_PAGE_SIZE,
  MAX_TOTAL_BYTES,
  MAX_VALUE_BYTES,
  type JsonArray,
  type JsonObject,
  type JsonValue,
  type SidecarErrorCode,
  type SidecarRejection,
} from "./limits";
export { DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS, MIN_TTL_SECONDS } from "./ttl";
