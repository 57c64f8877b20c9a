import { describe, expect, it } from "vitest";
import { isSessionId, newSessionId, SESSION_ID_BYTES, userObjectName } from "../src/index";

describe("session ids", () => {
  it("are 32 URL- and cookie-safe characters carrying 192 random bits", () => {
    const id = newSessionId();
    expect(id).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const bytes = atob(id.replaceAll("-", "+").replaceAll("_", "/"));
    expect(bytes.length).toBe(SESSION_ID_BYTES);
    expect(SESSION_ID_BYTES * 8).toBeGreaterThanOrEqual(128);
    expect(encodeURIComponent(id)).toBe(id);
  });

  it("do not repeat, and use the whole alphabet", () => {
    const ids = Array.from({ length: 10_000 }, newSessionId);
    expect(new Set(ids).size).toBe(ids.length);
    const alphabet = new Set(ids.join(""));
    expect(alphabet.size).toBe(64);
  });

  it("are told apart from anything else without a call", () => {
    expect(isSessionId(newSessionId())).toBe(true);
    for (const bad of [
      "",
      "short",
      `${newSessionId()}x`,
      `${newSessionId().slice(0, 31)}=`,
      `${newSessionId().slice(0, 31)}+`,
      userObjectName("alice"),
      42,
      null,
      undefined,
    ]) {
      expect(isSessionId(bad)).toBe(false);
    }
  });

  it("cannot name a user's index object, whatever the user id", () => {
    expect(isSessionId(userObjectName("A".repeat(27)))).toBe(false);
  });
});
