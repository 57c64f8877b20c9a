/**
 * What a reactor is, independent of any domain: events in, a decision function, commands out.
 * A domain is a set of pure handlers, `decide(state, event, now) -> { state, commands,
 * decisions }`, plus a scheduled `review(state, now)` for what only the clock can reveal
 * (nothing happened for too long). The Agent in `object.ts` stores and delivers what they return;
 * the handlers themselves touch no storage, so they are unit-tested without workerd.
 */

/** A JSON value: what commands, facts and state are made of. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every event, whatever its domain: an id for dedupe, a type, when it happened, its data. */
export interface DomainEvent<Type extends string = string, Data = unknown> {
  /** Unique per event: a retried delivery of the same event carries the same id. */
  id: string;
  type: Type;
  /** When it happened, in epoch milliseconds (as the producer saw it). */
  at: number;
  data: Data;
}

/** Why something was (or was not) done: a sentence for people, and the facts it rested on. */
export interface Decision {
  /** What was decided, e.g. `draft-content` or `skip-draft`. */
  type: string;
  reason: string;
  facts: { [key: string]: Json };
}

/** A command to send, before the reactor gives it an id. */
export interface CommandDraft {
  type: string;
  payload: { [key: string]: Json };
}

/** What a handler returns. `state` must stay small: it is stored and sent to every client. */
export interface Outcome<State> {
  state: State;
  commands: CommandDraft[];
  decisions: Decision[];
}

/** The result of checking an event's type and data against a domain. */
export type ParsedEvent<Event> = { ok: true; event: Event } | { ok: false; message: string };

/**
 * A domain: its state, how to read its events, and its pure decision functions.
 *
 * @example
 * const counter: Domain<{ seen: number }, DomainEvent<"ping", {}>> = {
 *   initialState: { seen: 0 },
 *   parse: (event) => ({ ok: true, event: event as DomainEvent<"ping", {}> }),
 *   decide: (state) => ({ state: { seen: state.seen + 1 }, commands: [], decisions: [] }),
 *   review: (state) => ({ state, commands: [], decisions: [] }),
 * };
 */
export interface Domain<State, Event extends DomainEvent> {
  initialState: State;
  /** Checks an event whose envelope (id, type, at, data) is already valid. */
  parse(event: DomainEvent<string, unknown>): ParsedEvent<Event>;
  /** `now` is the reactor's clock; an event's `at` is the producer's, and may be off. */
  decide(state: State, event: Event, now: number): Outcome<State>;
  /** The scheduled cycle: what the passage of time alone calls for. */
  review(state: State, now: number): Outcome<State>;
}

/** A command as stored and sent: a stable id consumers dedupe on, and where it came from. */
export interface Command extends CommandDraft {
  /** `<event id>/<n>` for the n-th command of an event, `review@<time>-<nonce>/<n>` for a review's. */
  id: string;
  /** The entity (agent name) that issued it. */
  entity: string;
  /** When the reactor recorded it (epoch ms). */
  createdAt: number;
}

/**
 * The id of the `index`-th command an outcome caused. It depends only on what caused the
 * command, so a command delivered twice (after a send whose acknowledgement was lost) has one id
 * both times.
 */
export function commandId(cause: string, index: number): string {
  return `${cause}/${index}`;
}
