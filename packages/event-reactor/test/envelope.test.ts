/**
 * The envelope check: a fast path for well-formed events, the schema for everything else. Over
 * envelopes near every edge (ids of 0, 128 and 129 characters or with a stray character, types of
 * 64 and 65, times just inside and outside the accepted range or not whole, data that is not a
 * plain object, a field missing or one too many), `parseEnvelope` accepts exactly what the
 * schema accepts, and hands on the same event.
 */
import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import { envelopeSchema } from "../src/envelope";
import { parseEnvelope } from "../src/index";

const MIN_AT = Date.UTC(2000, 0, 1);
const MAX_AT = Date.UTC(2100, 0, 1);

const id = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/),
  fc.constantFrom("", "a".repeat(128), "a".repeat(129), "evt 1", "evt/1", "évt", "evt-1\n"),
  fc.integer(),
);
const type = fc.oneof(
  fc.string({ maxLength: 70 }),
  fc.constantFrom("t".repeat(64), "t".repeat(65)),
  fc.constant(null),
);
const at = fc.oneof(
  fc.integer({ min: MIN_AT - 2, max: MIN_AT + 2 }),
  fc.integer({ min: MAX_AT - 2, max: MAX_AT + 2 }),
  fc.constantFrom(MIN_AT + 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, -0, "1795000000000"),
);
const data = fc.oneof(
  fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 1 })),
  fc.constantFrom(null, [], [1], "data", 1, new Date(0), Object.create(null) as object),
);

const envelope = fc.record({ id, type, at, data }).chain((fields) =>
  fc.oneof(
    fc.constant<Record<string, unknown>>(fields),
    fc
      .constantFrom("id", "type", "at", "data")
      .map((missing) => Object.fromEntries(Object.entries(fields).filter(([k]) => k !== missing))),
    fc.constant({ ...fields, extra: 1 }),
  ),
);

describe("parseEnvelope", () => {
  it("accepts exactly what the schema accepts, and hands on the same event", () => {
    fc.assert(
      fc.property(fc.oneof(envelope, fc.anything()), (input) => {
        const schema = envelopeSchema.safeParse(input);
        const parsed = parseEnvelope(input);
        // The same verdict, and for an event both accept, the same event.
        expect(parsed.ok ? { ok: true, event: parsed.event } : { ok: false }).toEqual(
          schema.success ? { ok: true, event: schema.data } : { ok: false },
        );
      }),
      { numRuns: 2_000 },
    );
  });

  it("accepts a well-formed event and words what is wrong with a bad one", () => {
    const good = { id: "evt-1", type: "research.completed", at: MIN_AT + 1, data: { a: 1 } };
    expect(parseEnvelope(good)).toEqual({ ok: true, event: good });
    expect(parseEnvelope({ ...good, id: "evt 1" })).toMatchObject({
      ok: false,
      message: expect.stringMatching(/id must be 1-128 characters/),
    });
    expect(parseEnvelope({ ...good, at: MAX_AT + 1 })).toMatchObject({
      ok: false,
      message: expect.stringMatching(/before 2100/),
    });
  });
});
