/** Renders a package README for its page in the example Worker. */
import { Marked, type Tokens } from "marked";

/**
 * Renders `markdown`, the README of the package at `packages/<pattern>/`, to HTML.
 *
 * The README is this repo's own file, bundled at build time, so its HTML is trusted and not
 * sanitised. Its relative links point into the repo, which the Worker does not serve: a link to
 * another mounted pattern's README becomes a link to that pattern's page, any other becomes its
 * text with the repo path beside it, so the page has no dead links.
 *
 * @example
 * renderReadme("See [the bench](../../bench/README.md).", "rate-limiter", new Set(["rate-limiter"]))
 * // <p>See the bench (<code>bench/README.md</code>).</p>
 */
export function renderReadme(markdown: string, pattern: string, mounted: Set<string>): string {
  const marked = new Marked({
    async: false,
    gfm: true,
    renderer: {
      link(token: Tokens.Link): string | false {
        const repoPath = repoPathOf(token.href, pattern);
        // false hands absolute links and in-page anchors back to the default renderer.
        if (repoPath === undefined) return false;
        const text = this.parser.parseInline(token.tokens);
        const linked = /^packages\/([a-z0-9-]+)\/README\.md$/.exec(repoPath)?.[1];
        if (linked !== undefined && mounted.has(linked)) return `<a href="/${linked}/">${text}</a>`;
        return `${text} (<code>${escapeHtml(repoPath)}</code>)`;
      },
    },
  });
  return marked.parse(markdown, { async: false });
}

/** The repo path a relative link in `packages/<pattern>/README.md` points at, or undefined. */
function repoPathOf(href: string, pattern: string): string | undefined {
  if (href === "" || href.startsWith("#") || /^[a-z][a-z0-9+.-]*:/i.test(href)) return undefined;
  // A fake origin resolves "../" the way a repo browser would, without touching the network.
  const base = new URL(`https://repo.invalid/packages/${pattern}/README.md`);
  const resolved = new URL(href, base);
  return `${resolved.pathname.slice(1)}${resolved.hash}`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
