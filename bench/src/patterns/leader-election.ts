/**
 * The leader-election rows: a new lease granted (a new fencing token) on every call, a holder
 * re-acquiring its own lease, a renewal, and a refused acquire; each beside its floor, the same
 * RPC signature doing only the one-row write its guarantee needs (or none). The floor classes
 * live here, with the rows they judge.
 */
import {
  LeaderElection,
  type AcquireOptions,
  type AcquireResult,
  type LeaseGrant,
  type LeaseRefusal,
  type RenewResult,
} from "@do-patterns/leader-election";
import { Ceiling } from "../ceiling.ts";
import { floorRow, hotPath, type Row } from "../rows.ts";

/** Longer than any run: no lease expires, and no cleanup alarm fires, mid-run. */
const HOUR_MS = 3_600_000;

/**
 * The real LeaderElection, its clock moved one TTL before every acquire, so each call finds the
 * previous lease expired and grants a new one with the next token: the full new-grant path
 * (expiry noted, token counter raised, record written) on every call, from one caller.
 */
export class SteppingLeaderElection extends LeaderElection {
  private skewMs = 0;

  protected override now(): number {
    return Date.now() + this.skewMs;
  }

  override acquire(
    candidate: string,
    ttlMs: number,
    options?: AcquireOptions,
  ): Promise<AcquireResult> {
    this.skewMs += ttlMs;
    return super.acquire(candidate, ttlMs, options);
  }
}

/**
 * `LeaderElection.acquire` and `renew`'s signatures with none of their work: the same arguments
 * in, results of the same shape out, and the ceiling's one-row write for a grant or renewal (a
 * grant must persist its token before answering) or none for a refusal.
 */
export class LeaderElectionSignature extends Ceiling {
  private token = 0;

  acquire(candidate: string, ttlMs: number, _options?: AcquireOptions): LeaseGrant {
    this.writeRow();
    this.token++;
    return {
      granted: true,
      holder: candidate,
      fencingToken: this.token,
      expiresAt: Date.now() + ttlMs,
      newLease: true,
    };
  }

  acquireRefused(_candidate: string, ttlMs: number, _options?: AcquireOptions): LeaseRefusal {
    return {
      granted: false,
      reason: "held",
      holder: "bench-holder",
      expiresAt: Date.now() + ttlMs,
      retryAfterMs: ttlMs,
    };
  }

  renew(candidate: string, token: number): RenewResult {
    this.writeRow();
    return {
      renewed: true,
      holder: candidate,
      fencingToken: token,
      expiresAt: Date.now() + HOUR_MS,
    };
  }
}

function expectGrant(result: AcquireResult, newLease: boolean): void {
  if (!result.granted || result.newLease !== newLease) {
    throw new Error(
      `expected a ${newLease ? "new" : "re-acquired"} lease, got ${JSON.stringify(result)}`,
    );
  }
}
function expectRefusal(result: AcquireResult): void {
  if (result.granted || "error" in result) {
    throw new Error(`expected a refusal, got ${JSON.stringify(result)}`);
  }
}
function expectRenewed(result: RenewResult): void {
  if (!result.renewed) throw new Error(`expected a renewal, got ${JSON.stringify(result)}`);
}

const ACQUIRE_FLOOR = "leader-election/floor-acquire";
const REFUSED_FLOOR = "leader-election/floor-acquire-refused";
const RENEW_FLOOR = "leader-election/floor-renew";

export const LEADER_ELECTION_ROWS: Row[] = [
  floorRow({
    name: ACQUIRE_FLOOR,
    ceiling: "write",
    namespace: (env) => env.LEADER_ELECTION_SIGNATURE,
    op: async (floor) => expectGrant(await floor.acquire("bench-holder", HOUR_MS), true),
  }),
  floorRow({
    name: REFUSED_FLOOR,
    ceiling: "noop",
    namespace: (env) => env.LEADER_ELECTION_SIGNATURE,
    op: async (floor) => expectRefusal(await floor.acquireRefused("bench-candidate", HOUR_MS)),
  }),
  floorRow({
    name: RENEW_FLOOR,
    ceiling: "write",
    namespace: (env) => env.LEADER_ELECTION_SIGNATURE,
    op: async (floor) => expectRenewed(await floor.renew("bench-holder", 1)),
  }),
  hotPath({
    name: "leader-election/acquire",
    ceiling: "write",
    floor: ACQUIRE_FLOOR,
    maxRowsWrittenPerOp: 1,
    namespace: (env) => env.STEPPING_LEADER_ELECTION,
    // Every call: the previous lease has expired, so a new lease with the next token.
    op: async (election) => expectGrant(await election.acquire("bench-holder", HOUR_MS), true),
  }),
  hotPath({
    name: "leader-election/reacquire",
    ceiling: "write",
    floor: ACQUIRE_FLOOR,
    maxRowsWrittenPerOp: 1,
    namespace: (env) => env.LEADER_ELECTION,
    setup: async (election) => expectGrant(await election.acquire("bench-holder", HOUR_MS), true),
    // The holder asks again (a retry, or acquire used as a heartbeat): same token, new expiry.
    op: async (election) => expectGrant(await election.acquire("bench-holder", HOUR_MS), false),
  }),
  hotPath({
    name: "leader-election/renew",
    ceiling: "write",
    floor: RENEW_FLOOR,
    maxRowsWrittenPerOp: 1,
    namespace: (env) => env.LEADER_ELECTION,
    setup: async (election) => expectGrant(await election.acquire("bench-holder", HOUR_MS), true),
    op: async (election) => expectRenewed(await election.renew("bench-holder", 1)),
  }),
  hotPath({
    name: "leader-election/acquire-refused",
    ceiling: "noop",
    floor: REFUSED_FLOOR,
    maxRowsWrittenPerOp: 0,
    namespace: (env) => env.LEADER_ELECTION,
    setup: async (election) => expectGrant(await election.acquire("bench-holder", HOUR_MS), true),
    op: async (election) => expectRefusal(await election.acquire("bench-candidate", HOUR_MS)),
  }),
];
