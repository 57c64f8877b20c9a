import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN as RPC_ADMIN, checkoutFlag, freshFlagSet, ok, staticFlag } from "./helpers";

const ADMIN = { Authorization: "Bearer test-admin-token" };

function send(
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return exports.default.fetch(
    new Request(`http://example.com${path}`, {
      method,
      headers: { "Content-Type": "application/json", ...headers },
      ...(body === undefined ? {} : { body }),
    }),
  );
}

async function expectError(response: Response, status: number, code: string, message = /\w+ \w+/) {
  expect(response.status).toBe(status);
  const body = await response.json<{ error: { code: string; message: string } }>();
  expect(body.error.code).toBe(code);
  expect(body.error.message).toMatch(message);
}

describe("bad input over HTTP gets a 4xx that says what is wrong, and changes nothing", () => {
  const set = `/bad-input-${crypto.randomUUID()}`;

  beforeAll(async () => {
    const created = await send("POST", `${set}/flags`, JSON.stringify(checkoutFlag()), ADMIN);
    if (created.status !== 201) throw new Error(`setup failed: ${created.status}`);
  });

  const evaluateCases: [string, unknown, RegExp][] = [
    ["no flag", { context: {} }, /flag must be a string/],
    ["a flag key with a slash", { flag: "a/b" }, /flag must be 1-128 characters/],
    [
      "a context that is a list",
      { flag: "new-checkout", context: ["plan"] },
      /context must be an object/,
    ],
    [
      "a numeric targetingKey",
      { flag: "new-checkout", context: { targetingKey: 42 } },
      /context\.targetingKey must be a string/,
    ],
    ["an unknown field", { flag: "new-checkout", extra: 1 }, /unknown field "extra"/],
    ["a list body", ["new-checkout"], /body must be a JSON object/],
  ];
  it.each(evaluateCases)("evaluate: %s → 400", async (_label, body, message) => {
    await expectError(
      await send("POST", `${set}/evaluate`, JSON.stringify(body)),
      400,
      "invalid_request",
      message,
    );
  });

  it("evaluate-all: a context that is not an object → 400", async () => {
    await expectError(
      await send("POST", `${set}/evaluate-all`, JSON.stringify({ context: "user-42" })),
      400,
      "invalid_request",
      /context must be an object/,
    );
  });

  const flagCases: [string, unknown, RegExp][] = [
    ["a list", [checkoutFlag()], /body must be a JSON object/],
    [
      "a split short of 100",
      checkoutFlag({ fallthrough: { split: [{ variant: "on", percent: 10 }] } }),
      /add up to 10/,
    ],
    [
      "a bad operator",
      {
        ...checkoutFlag(),
        rules: [{ conditions: [{ attribute: "a", op: "~", value: 1 }], serve: { variant: "on" } }],
      },
      /op must be one of/,
    ],
    [
      "a value of the wrong type",
      checkoutFlag({ variants: { on: 1, off: 0 } }),
      /boolean flag's values must be booleans/,
    ],
    ["a missing type", { ...checkoutFlag(), type: undefined }, /type must be one of/],
  ];
  it.each(flagCases)("create: %s → 400 with the reason", async (_label, body, message) => {
    await expectError(
      await send("POST", `${set}/flags`, JSON.stringify(body), ADMIN),
      400,
      "invalid_request",
      message,
    );
  });

  it("update: a body whose key is not the path's → 400", async () => {
    await expectError(
      await send("PUT", `${set}/flags/new-checkout`, JSON.stringify(staticFlag("theme")), ADMIN),
      400,
      "invalid_request",
      /the body's key "theme" is not the path's "new-checkout"/,
    );
  });

  it("enabled as a string → 400", async () => {
    await expectError(
      await send(
        "PUT",
        `${set}/flags/new-checkout/enabled`,
        JSON.stringify({ enabled: "false" }),
        ADMIN,
      ),
      400,
      "invalid_request",
      /enabled must be true or false/,
    );
  });

  it("malformed JSON and an empty body → 400 invalid_json", async () => {
    await expectError(
      await send("POST", `${set}/evaluate`, '{"flag": '),
      400,
      "invalid_json",
      /valid JSON/,
    );
    await expectError(await send("POST", `${set}/flags`, "", ADMIN), 400, "invalid_json");
  });

  it("a huge body → 413 before it is read", async () => {
    const body = JSON.stringify({ flag: "new-checkout", context: { padding: "x".repeat(40_000) } });
    await expectError(
      await send("POST", `${set}/evaluate`, body),
      413,
      "payload_too_large",
      /at most 32768 bytes/,
    );
  });

  it("a bad flag set name, If-Match or X-Actor → 400", async () => {
    await expectError(
      await send("POST", "/-leading-dash/evaluate", '{"flag":"x"}'),
      400,
      "invalid_request",
      /flag set name/,
    );
    await expectError(
      await send("DELETE", `${set}/flags/new-checkout`, undefined, {
        ...ADMIN,
        "If-Match": "yesterday",
      }),
      400,
      "invalid_request",
      /If-Match must be a flag version/,
    );
    await expectError(
      await send("DELETE", `${set}/flags/new-checkout`, undefined, {
        ...ADMIN,
        "X-Actor": "x".repeat(129),
      }),
      400,
      "invalid_request",
      /X-Actor: actor must be at most 128 characters/,
    );
  });

  it("a bad audit query → 400", async () => {
    for (const query of ["limit=0", "limit=ten", "before=-3", "flag=a%2Fb"]) {
      await expectError(
        await send("GET", `${set}/audit?${query}`, undefined, ADMIN),
        400,
        "invalid_request",
      );
    }
  });

  it("unknown routes and wrong methods → 404", async () => {
    await expectError(await send("POST", "/nope"), 404, "not_found", /POST \/nope/);
    await expectError(await send("GET", `${set}/evaluate`), 404, "not_found");
    await expectError(
      await send("PATCH", `${set}/flags/new-checkout`, "{}", ADMIN),
      404,
      "not_found",
    );
  });

  it("admin token missing, wrong, or of another scheme → 401, for reads and writes", async () => {
    const body = JSON.stringify(staticFlag("theme"));
    await expectError(
      await send("POST", `${set}/flags`, body),
      401,
      "unauthorized",
      /Authorization: Bearer/,
    );
    await expectError(
      await send("POST", `${set}/flags`, body, { Authorization: "Bearer wrong" }),
      401,
      "unauthorized",
    );
    await expectError(
      await send("DELETE", `${set}/flags/new-checkout`, undefined, {
        Authorization: "Basic dGVzdC1hZG1pbi10b2tlbg==",
      }),
      401,
      "unauthorized",
    );
    await expectError(await send("GET", `${set}/audit`), 401, "unauthorized");
  });

  it("none of the rejected requests changed the flag set", async () => {
    const list = await send("GET", `${set}/flags`, undefined, ADMIN);
    expect(await list.json()).toMatchObject({
      version: 1,
      flags: [{ ...checkoutFlag(), version: 1 }],
    });
  });
});

describe("bad input over RPC is answered, not thrown, and changes nothing", () => {
  it("rejects bad flags, options and keys with a reason", async () => {
    const set = freshFlagSet();
    ok(await set.createFlag(checkoutFlag(), RPC_ADMIN));
    const attempts = [
      // @ts-expect-error deliberately wrong input, as an untyped caller could send
      set.createFlag("not a flag", RPC_ADMIN),
      // @ts-expect-error no options at all
      set.createFlag(staticFlag("theme")),
      set.createFlag(staticFlag("theme"), { actor: "" }),
      set.updateFlag(checkoutFlag(), { ...RPC_ADMIN, ifVersion: -1 }),
      set.updateFlag(checkoutFlag(), { ...RPC_ADMIN, ifVersion: 1.5 }),
      // @ts-expect-error enabled must be a boolean
      set.setEnabled("new-checkout", "off", RPC_ADMIN),
      // @ts-expect-error the key must be a string
      set.deleteFlag(42, RPC_ADMIN),
    ];
    const codes = (await Promise.all(attempts)).map(
      (outcome) => "error" in outcome && outcome.error.code,
    );
    expect(codes).toEqual([
      "invalid_flag",
      "invalid_request",
      "invalid_request",
      "invalid_request",
      "invalid_request",
      "invalid_request",
      "flag_not_found",
    ]);
    expect(await set.snapshot()).toMatchObject({
      version: 1,
      flags: [{ ...checkoutFlag(), version: 1 }],
    });
  });

  it("evaluates whatever context and key it is given, answering errors as details", async () => {
    const set = freshFlagSet();
    ok(await set.createFlag(checkoutFlag(), RPC_ADMIN));
    // @ts-expect-error a context that is not an object
    expect(await set.evaluate("new-checkout", "user-42", false)).toMatchObject({
      value: false,
      errorCode: "INVALID_CONTEXT",
    });
    // @ts-expect-error a key that is not a string
    expect(await set.evaluate(42, {}, false)).toMatchObject({ errorCode: "FLAG_NOT_FOUND" });
    // @ts-expect-error a context that is not an object
    expect((await set.evaluateAll(null)).flags["new-checkout"]).toMatchObject({
      errorCode: "INVALID_CONTEXT",
    });
  });
});
