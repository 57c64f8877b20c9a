import { describe, expect, it } from "vitest";
import { renderReadme } from "../src/markdown";

const mounted = new Set(["rate-limiter", "session"]);

describe("renderReadme", () => {
  it("renders Markdown to HTML", () => {
    expect(renderReadme("# Title\n\nSome `code`.", "rate-limiter", mounted)).toBe(
      "<h1>Title</h1>\n<p>Some <code>code</code>.</p>\n",
    );
  });

  it("turns a link to another mounted pattern's README into a link to its page", () => {
    expect(renderReadme("[sessions](../session/README.md)", "rate-limiter", mounted)).toBe(
      '<p><a href="/session/">sessions</a></p>\n',
    );
  });

  it("shows other repo links as text with their repo path, since the Worker does not serve them", () => {
    expect(renderReadme("[the bench](../../bench/README.md)", "rate-limiter", mounted)).toBe(
      "<p>the bench (<code>bench/README.md</code>)</p>\n",
    );
    expect(
      renderReadme("[a pattern not mounted](../queue/README.md)", "rate-limiter", mounted),
    ).toBe("<p>a pattern not mounted (<code>packages/queue/README.md</code>)</p>\n");
  });

  it("keeps absolute links and in-page anchors", () => {
    expect(renderReadme("[draft](https://example.com/d) [up](#why)", "rate-limiter", mounted)).toBe(
      '<p><a href="https://example.com/d">draft</a> <a href="#why">up</a></p>\n',
    );
  });
});
