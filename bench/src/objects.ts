/**
 * Every Durable Object class the bench Worker exports, each wrapped so its storage rows are
 * counted. To bench a new pattern's object: add one export line here and one binding to
 * `BINDINGS` in `config.ts`.
 */
import { AggregatorCounter } from "@do-patterns/aggregator-counter";
import { Checkpoint } from "@do-patterns/checkpoint";
import { CheckpointSignature } from "./patterns/checkpoint.ts";
import { BudgetGovernor } from "@do-patterns/budget-governor";
import { FeatureFlags } from "@do-patterns/feature-flags";
import { RateLimiter } from "@do-patterns/rate-limiter";
import { Session } from "@do-patterns/session";
import { StorageSidecar } from "@do-patterns/storage-sidecar";
import { NaiveFlags, RewriteOnReadSession, TimestampArray } from "./baseline.ts";
import { Ceiling } from "./ceiling.ts";
import {
  AgentCeiling,
  EventReactorSignature,
  FetchCeiling,
  QueuelessReactor,
} from "./patterns/event-reactor.ts";
import { LeaderElection } from "@do-patterns/leader-election";
import { LeaderElectionSignature, SteppingLeaderElection } from "./patterns/leader-election.ts";
import { FeatureFlagsSignature, RateLimiterSignature, SessionSignature } from "./floors.ts";
import { TouchingSession } from "./patterns/session.ts";
import { ControllerTickFloor, TickingController } from "./patterns/adaptive-controller.ts";
import {
  NaiveWritePerIncrementCounter,
  SharedFlushCounterFloor,
  WritePerCallCounterFloor,
} from "./patterns/aggregator-counter.ts";
import { NaiveArraySidecar, SidecarSignatureFloor } from "./patterns/storage-sidecar.ts";
import { GovernorSignatureFloor } from "./patterns/budget-governor.ts";
import {
  BenchCoordinator,
  CoordinatorFloor,
  NaiveCoordinator,
} from "./patterns/cache-coordinator.ts";
import type { BINDINGS } from "./config.ts";
import { instrumented, type ObjectClass } from "./instrument.ts";

export const CeilingObject = instrumented(Ceiling);
export const BenchCheckpoint = instrumented(Checkpoint);
export const CheckpointSignatureFloor = instrumented(CheckpointSignature);
export const BenchEventReactor = instrumented(QueuelessReactor);
export const EventReactorSignatureFloor = instrumented(EventReactorSignature);
export const AgentCeilingObject = instrumented(AgentCeiling);
export const FetchCeilingObject = instrumented(FetchCeiling);
export const BenchLeaderElection = instrumented(LeaderElection);
export const BenchSteppingLeaderElection = instrumented(SteppingLeaderElection);
export const LeaderElectionSignatureFloor = instrumented(LeaderElectionSignature);
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
export const BenchAdaptiveController = instrumented(TickingController);
export const ControllerTickFloorObject = instrumented(ControllerTickFloor);
export const BenchAggregatorCounter = instrumented(AggregatorCounter);
export const SharedFlushCounterFloorObject = instrumented(SharedFlushCounterFloor);
export const WritePerCallCounterFloorObject = instrumented(WritePerCallCounterFloor);
export const NaiveWritePerIncrementCounterObject = instrumented(NaiveWritePerIncrementCounter);
export const BenchStorageSidecar = instrumented(StorageSidecar);
export const SidecarSignatureFloorObject = instrumented(SidecarSignatureFloor);
export const NaiveArraySidecarObject = instrumented(NaiveArraySidecar);
export const BenchBudgetGovernor = instrumented(BudgetGovernor);
export const GovernorSignatureFloorObject = instrumented(GovernorSignatureFloor);
export const BenchCacheCoordinator = instrumented(BenchCoordinator);
export const CacheCoordinatorFloorObject = instrumented(CoordinatorFloor);
export const NaiveCacheCoordinatorObject = instrumented(NaiveCoordinator);

type Exported = typeof import("./objects.ts");
type Binding = keyof typeof BINDINGS;
// Not InstanceType<>: its `new (...args: any)` pattern does not match a constructor whose `env`
// is typed `never` (as ObjectClass's is, so classes with any Env type fit), and yields `any`.
type Instance<C> = C extends ObjectClass<infer T> ? T : never;

/** The bench Worker's env: one namespace per binding, typed by the class it is bound to. */
export type Env = {
  [B in Binding]: DurableObjectNamespace<Instance<Exported[(typeof BINDINGS)[B]]>>;
};
