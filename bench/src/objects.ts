/**
 * Every Durable Object class the bench Worker exports, each wrapped so its storage rows are
 * counted. To bench a new pattern's object: add one export line here and one binding to
 * `BINDINGS` in `config.ts`.
 */
import { FeatureFlags } from "@do-patterns/feature-flags";
import { RateLimiter } from "@do-patterns/rate-limiter";
import { Session } from "@do-patterns/session";
import { NaiveFlags, RewriteOnReadSession, TimestampArray } from "./baseline.ts";
import { Ceiling } from "./ceiling.ts";
import { FeatureFlagsSignature, RateLimiterSignature, SessionSignature } from "./floors.ts";
import { TouchingSession } from "./patterns/session.ts";
import type { BINDINGS } from "./config.ts";
import { instrumented, type ObjectClass } from "./instrument.ts";

export const CeilingObject = instrumented(Ceiling);
export const TimestampArrayLimiter = instrumented(TimestampArray);
export const BenchRateLimiter = instrumented(RateLimiter);
export const RateLimiterSignatureFloor = instrumented(RateLimiterSignature);
export const BenchFeatureFlags = instrumented(FeatureFlags);
export const FeatureFlagsSignatureFloor = instrumented(FeatureFlagsSignature);
export const NaiveFeatureFlags = instrumented(NaiveFlags);
export const BenchSession = instrumented(Session);
export const BenchTouchingSession = instrumented(TouchingSession);
export const SessionSignatureFloor = instrumented(SessionSignature);
export const RewriteOnReadSessionBaseline = instrumented(RewriteOnReadSession);

type Exported = typeof import("./objects.ts");
type Binding = keyof typeof BINDINGS;
// Not InstanceType<>: its `new (...args: any)` pattern does not match a constructor whose `env`
// is typed `never` (as ObjectClass's is, so classes with any Env type fit), and yields `any`.
type Instance<C> = C extends ObjectClass<infer T> ? T : never;

/** The bench Worker's env: one namespace per binding, typed by the class it is bound to. */
export type Env = {
  [B in Binding]: DurableObjectNamespace<Instance<Exported[(typeof BINDINGS)[B]]>>;
};
