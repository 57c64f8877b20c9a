/**
 * The OpenFeature provider, through the real `@openfeature/server-sdk` inside workerd: local
 * evaluation against a snapshot, refreshes by age and on demand, and every error path answering
 * the caller's default with reason ERROR instead of throwing.
 */
import { OpenFeature, type Client } from "@openfeature/server-sdk";
import { describe, expect, it } from "vitest";
import {
  FeatureFlagsProvider,
  RETRY_AFTER_FAILURE_MS,
  type FeatureFlagsProviderOptions,
  type FlagSetSnapshot,
  type FlagSetSource,
  type UnchangedSnapshot,
} from "../src/index";
import { ADMIN, T0, checkoutFlag, freshFlagSet, ok, staticFlag, type FlagSetStub } from "./helpers";

const silent = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };

/** A client of its own (OpenFeature is one global per isolate, so each test takes a domain). */
async function clientFor(provider: FeatureFlagsProvider): Promise<Client> {
  const domain = crypto.randomUUID();
  await OpenFeature.setProviderAndWait(domain, provider);
  return OpenFeature.getClient(domain).setLogger(silent);
}

/** A source that counts calls and can be switched to failing, over a real flag set. */
function spyOn(set: FlagSetStub) {
  const spy = {
    calls: 0,
    answers: [] as (FlagSetSnapshot | UnchangedSnapshot)[],
    failing: false,
    source: (): FlagSetSource => ({
      snapshot: async (knownVersion?: number) => {
        spy.calls++;
        if (spy.failing) throw new Error("simulated: the flag set is unreachable");
        const answer = await set.snapshot(knownVersion);
        spy.answers.push(answer);
        return answer;
      },
    }),
  };
  return spy;
}

/** A provider on a test clock; `clock.now` moves time. */
function providerWith(options: Omit<FeatureFlagsProviderOptions, "now">) {
  const clock = { now: T0 };
  return { clock, provider: new FeatureFlagsProvider({ ...options, now: () => clock.now }) };
}

async function flagSetWithFlags() {
  const set = freshFlagSet();
  ok(await set.createFlag(checkoutFlag(), ADMIN));
  ok(await set.createFlag(staticFlag("theme"), ADMIN));
  ok(
    await set.createFlag(
      staticFlag("max-items", {
        type: "number",
        variants: { few: 5, many: 50 },
        fallthrough: { variant: "many" },
      }),
      ADMIN,
    ),
  );
  ok(
    await set.createFlag(
      staticFlag("limits", {
        type: "object",
        variants: { standard: { uploads: 10, formats: ["png"] } },
        fallthrough: { variant: "standard" },
      }),
      ADMIN,
    ),
  );
  return set;
}

describe("evaluating through the OpenFeature SDK", () => {
  it("answers every flag type with value, variant, reason and the snapshot's version", async () => {
    const set = await flagSetWithFlags();
    const client = await clientFor(new FeatureFlagsProvider({ flagSet: () => set }));

    expect(await client.getBooleanValue("new-checkout", false, { plan: "beta" })).toBe(true);
    expect(
      await client.getBooleanDetails("new-checkout", true, { targetingKey: "user-42" }),
    ).toEqual({
      flagKey: "new-checkout",
      value: false,
      variant: "off",
      reason: "SPLIT",
      flagMetadata: { flagSetVersion: 4 },
    });
    expect(await client.getStringDetails("theme", "red")).toMatchObject({
      value: "blue",
      variant: "blue",
      reason: "STATIC",
    });
    expect(await client.getNumberValue("max-items", 1)).toBe(50);
    expect(await client.getObjectValue("limits", {})).toEqual({ uploads: 10, formats: ["png"] });
  });

  it("uses context the app set on the API and the client, merged with the call's", async () => {
    const set = await flagSetWithFlags();
    const client = await clientFor(new FeatureFlagsProvider({ flagSet: () => set }));
    client.setContext({ plan: "beta" });
    expect(await client.getBooleanDetails("new-checkout", false)).toMatchObject({
      value: true,
      reason: "TARGETING_MATCH",
    });
    expect(
      (
        await client.getBooleanDetails("new-checkout", false, {
          plan: "free",
          targetingKey: "user-42",
        })
      ).reason,
    ).toBe("SPLIT");
  });

  it("answers errors as OpenFeature expects: the default, reason ERROR and the code", async () => {
    const set = await flagSetWithFlags();
    ok(await set.createFlag(staticFlag("off-flag", { enabled: false }), ADMIN));
    const client = await clientFor(new FeatureFlagsProvider({ flagSet: () => set }));

    expect(await client.getBooleanDetails("missing", true)).toMatchObject({
      value: true,
      reason: "ERROR",
      errorCode: "FLAG_NOT_FOUND",
    });
    expect(await client.getStringDetails("new-checkout", "x", { plan: "beta" })).toMatchObject({
      value: "x",
      reason: "ERROR",
      errorCode: "TYPE_MISMATCH",
    });
    expect(await client.getBooleanDetails("new-checkout", true, {})).toMatchObject({
      value: true,
      reason: "ERROR",
      errorCode: "TARGETING_KEY_MISSING",
    });
    expect(await client.getStringDetails("off-flag", "fallback")).toMatchObject({
      value: "fallback",
      reason: "DISABLED",
    });
  });

  it("agrees with the object's own evaluation for every flag and context", async () => {
    const set = await flagSetWithFlags();
    const provider = new FeatureFlagsProvider({ flagSet: () => set });
    const client = await clientFor(provider);
    const contexts = [
      {},
      { plan: "beta" },
      ...Array.from({ length: 40 }, (_, i) => ({ targetingKey: `user-${i}`, plan: "free" })),
    ];
    for (const context of contexts) {
      for (const [key, fallback] of [
        ["new-checkout", false],
        ["theme", "red"],
        ["max-items", 0],
        ["missing", true],
      ] as const) {
        const local =
          typeof fallback === "boolean"
            ? await client.getBooleanDetails(key, fallback, context)
            : typeof fallback === "string"
              ? await client.getStringDetails(key, fallback, context)
              : await client.getNumberDetails(key, fallback, context);
        const remote = await set.evaluate(key, context, fallback);
        expect({
          value: local.value,
          variant: local.variant,
          reason: local.reason,
          errorCode: local.errorCode,
        }).toEqual({
          value: remote.value,
          variant: remote.variant,
          reason: remote.reason,
          errorCode: remote.errorCode,
        });
      }
    }
  });
});

describe("a request pays no Durable Object call per flag", () => {
  it("evaluates many flags many times from one snapshot call", async () => {
    const set = await flagSetWithFlags();
    const spy = spyOn(set);
    const { provider } = providerWith({ flagSet: spy.source });
    const client = await clientFor(provider);
    for (let i = 0; i < 100; i++) {
      await client.getBooleanValue("new-checkout", false, { targetingKey: `user-${i}` });
      await client.getStringValue("theme", "red");
    }
    expect(spy.calls).toBe(1);
  });

  it("shares one refresh among evaluations that arrive together", async () => {
    const set = await flagSetWithFlags();
    const spy = spyOn(set);
    const { provider } = providerWith({ flagSet: spy.source });
    const client = await clientFor(provider);
    const values = await Promise.all(
      Array.from({ length: 50 }, () => client.getStringValue("theme", "red")),
    );
    expect(new Set(values)).toEqual(new Set(["blue"]));
    expect(spy.calls).toBe(1);
  });
});

describe("refreshing the snapshot", () => {
  it("refreshes once it is maxAgeMs old: a change shows up then, and not a millisecond sooner", async () => {
    const set = await flagSetWithFlags();
    const spy = spyOn(set);
    const { clock, provider } = providerWith({ flagSet: spy.source, maxAgeMs: 10_000 });
    const client = await clientFor(provider);
    expect(await client.getStringValue("theme", "red")).toBe("blue");

    ok(await set.updateFlag(staticFlag("theme", { fallthrough: { variant: "green" } }), ADMIN));
    clock.now = T0 + 9_999;
    expect(await client.getStringValue("theme", "red")).toBe("blue");
    clock.now = T0 + 10_000;
    expect(await client.getStringDetails("theme", "red")).toMatchObject({
      value: "green",
      flagMetadata: { flagSetVersion: 5 },
    });
    expect(spy.calls).toBe(2);
  });

  it("asks with the version it holds, and the object answers 'unchanged' when nothing changed", async () => {
    const set = await flagSetWithFlags();
    const spy = spyOn(set);
    const { clock, provider } = providerWith({ flagSet: spy.source, maxAgeMs: 1_000 });
    const client = await clientFor(provider);
    await client.getStringValue("theme", "red");
    clock.now = T0 + 1_000;
    expect(await client.getStringValue("theme", "red")).toBe("blue");
    expect(spy.answers[1]).toEqual({ version: 4, unchanged: true });
    // The unchanged answer renewed the snapshot's age: no call until maxAgeMs later again.
    clock.now = T0 + 1_999;
    await client.getStringValue("theme", "red");
    expect(spy.calls).toBe(2);
  });

  it("refresh() fetches now, whatever the age, and resolves to the version", async () => {
    const set = await flagSetWithFlags();
    const { provider } = providerWith({ flagSet: () => set, maxAgeMs: 3_600_000 });
    const client = await clientFor(provider);
    expect(await client.getStringValue("theme", "red")).toBe("blue");
    ok(await set.setEnabled("theme", false, ADMIN));
    expect(await provider.refresh()).toBe(5);
    expect(provider.version).toBe(5);
    expect(await client.getStringDetails("theme", "red")).toMatchObject({
      value: "red",
      reason: "DISABLED",
    });
  });

  it("with maxAgeMs 0, every evaluation sees the latest version", async () => {
    const set = await flagSetWithFlags();
    const client = await clientFor(new FeatureFlagsProvider({ flagSet: () => set, maxAgeMs: 0 }));
    expect(await client.getStringValue("theme", "red")).toBe("blue");
    ok(await set.setEnabled("theme", false, ADMIN));
    expect(await client.getStringValue("theme", "red")).toBe("red");
  });
});

/** A source whose snapshot call fails the way `error` does. */
function failing(error: () => never): FlagSetSource {
  return { snapshot: async () => error() };
}

describe("when the flag set cannot be reached", () => {
  it("answers every type's default with reason ERROR, never a thrown error", async () => {
    const client = await clientFor(
      new FeatureFlagsProvider({
        flagSet: () =>
          failing(() => {
            throw new Error("simulated: network connection lost");
          }),
      }),
    );
    const details = await client.getBooleanDetails("new-checkout", true, { targetingKey: "u" });
    expect(details).toMatchObject({ value: true, reason: "ERROR", errorCode: "GENERAL" });
    expect(details.errorMessage).toMatch(/unavailable: simulated: network connection lost/);
    expect(await client.getStringValue("theme", "red")).toBe("red");
    expect(await client.getNumberValue("max-items", 7)).toBe(7);
    expect(await client.getObjectValue("limits", { uploads: 1 })).toEqual({ uploads: 1 });
  });

  it("a binding that throws, a hanging call and a malformed answer all count as unreachable", async () => {
    const sources: [string, () => FlagSetSource, RegExp][] = [
      [
        "throws",
        () => {
          throw new Error("no Durable Object binding named FEATURE_FLAGS");
        },
        /no Durable Object binding/,
      ],
      ["hangs", () => ({ snapshot: () => new Promise<never>(() => {}) }), /no answer within 1 ms/],
      [
        "malformed",
        () => ({ snapshot: async () => ({ version: "7" }) as unknown as FlagSetSnapshot }),
        /malformed/,
      ],
    ];
    for (const [_label, flagSet, message] of sources) {
      const client = await clientFor(new FeatureFlagsProvider({ flagSet, timeoutMs: 1 }));
      const details = await client.getBooleanDetails("new-checkout", false);
      expect(details).toMatchObject({ value: false, reason: "ERROR", errorCode: "GENERAL" });
      expect(details.errorMessage).toMatch(message);
    }
  });

  it("serves the last snapshot for staleIfErrorMs past its age, then defaults with ERROR", async () => {
    const set = await flagSetWithFlags();
    const spy = spyOn(set);
    const { clock, provider } = providerWith({
      flagSet: spy.source,
      maxAgeMs: 1_000,
      staleIfErrorMs: 5_000,
    });
    const client = await clientFor(provider);
    const theme = () => client.getStringDetails("theme", "red");
    expect((await theme()).value).toBe("blue");
    spy.failing = true;

    clock.now = T0 + 1_000;
    expect(await theme()).toMatchObject({ value: "blue", reason: "STATIC" });
    expect(spy.calls).toBe(2);
    clock.now = T0 + 5_999;
    expect(await theme()).toMatchObject({ value: "blue", reason: "STATIC" });
    clock.now = T0 + 6_000;
    expect(await theme()).toMatchObject({ value: "red", reason: "ERROR", errorCode: "GENERAL" });

    spy.failing = false;
    clock.now = T0 + 6_000 + RETRY_AFTER_FAILURE_MS;
    expect(await theme()).toMatchObject({ value: "blue", reason: "STATIC" });
  });

  it(`tries again at most once per ${RETRY_AFTER_FAILURE_MS} ms, so an outage is not hammered`, async () => {
    const set = await flagSetWithFlags();
    const spy = spyOn(set);
    spy.failing = true;
    const { clock, provider } = providerWith({ flagSet: spy.source });
    const client = await clientFor(provider);
    for (let i = 0; i < 20; i++) await client.getBooleanValue("new-checkout", false);
    expect(spy.calls).toBe(1);
    clock.now = T0 + RETRY_AFTER_FAILURE_MS - 1;
    await client.getBooleanValue("new-checkout", false);
    expect(spy.calls).toBe(1);
    clock.now = T0 + RETRY_AFTER_FAILURE_MS;
    await client.getBooleanValue("new-checkout", false);
    expect(spy.calls).toBe(2);
    await expect(provider.refresh()).rejects.toThrow(/unreachable/);
  });

  it("a flag this code cannot read answers PARSE_ERROR; the others still work", async () => {
    const snapshot: FlagSetSnapshot = {
      version: 9,
      flags: [
        { ...staticFlag("theme"), version: 1, updatedAt: T0 },
        { ...staticFlag("future"), type: "colour" as never, version: 8, updatedAt: T0 },
      ],
      unreadable: [{ key: "old", version: 2, message: "its stored definition is not valid JSON" }],
    };
    const client = await clientFor(
      new FeatureFlagsProvider({ flagSet: () => ({ snapshot: async () => snapshot }) }),
    );
    expect(await client.getStringValue("theme", "red")).toBe("blue");
    expect(await client.getStringDetails("future", "red")).toMatchObject({
      value: "red",
      reason: "ERROR",
      errorCode: "PARSE_ERROR",
    });
    expect((await client.getStringDetails("old", "red")).errorCode).toBe("PARSE_ERROR");
  });
});

describe("options", () => {
  it("refuses nonsense when the provider is built, not per request", () => {
    expect(() => new FeatureFlagsProvider({ flagSet: undefined as never })).toThrow(TypeError);
    for (const bad of [{ maxAgeMs: -1 }, { staleIfErrorMs: Number.NaN }, { timeoutMs: 0 }]) {
      expect(() => new FeatureFlagsProvider({ flagSet: () => freshFlagSet(), ...bad })).toThrow(
        RangeError,
      );
    }
  });
});
