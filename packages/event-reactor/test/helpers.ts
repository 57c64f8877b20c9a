import { env } from "cloudflare:workers";
import { getAgentByName } from "agents";
import type { EventReactorStub } from "../src/index";
import type { EventReactor } from "./worker";

/** A reactor for a fresh entity (storage is shared by every test of a file). */
export async function freshReactor(): Promise<{ entity: string; reactor: EventReactorStub }> {
  const entity = `brand-${crypto.randomUUID().slice(0, 8)}`;
  return { entity, reactor: await reactorFor(entity) };
}

export async function reactorFor(entity: string): Promise<EventReactorStub> {
  const stub = await getAgentByName(
    env.EVENT_REACTOR as unknown as DurableObjectNamespace<EventReactor>,
    entity,
  );
  return stub as unknown as EventReactorStub;
}

let sequence = 0;
/** An event with a fresh id, at a fixed time unless given. */
export function event(type: string, data: Record<string, unknown>, at = Date.UTC(2026, 10, 1)) {
  sequence++;
  return { id: `evt-${sequence}-${crypto.randomUUID().slice(0, 8)}`, type, at, data };
}

export const research = (topic: string, confidence: number) =>
  event("research.completed", { topic, confidence });
export const published = (contentId: string, topic = "pricing", channel = "blog") =>
  event("content.published", { contentId, topic, channel });
export const engagement = (contentId: string, impressions: number, engagements: number) =>
  event("engagement.reported", { contentId, impressions, engagements });
export const competitor = (name: string, signal: string, severity: number) =>
  event("competitor.detected", { competitor: name, signal, severity });
