/** The HTML version of `GET /`, for a person with a browser. */
import { html } from "hono/html";

export interface IndexEntry {
  name: string;
  summary: string;
  path: string;
  readme: string;
  routes: string[];
}

export function renderIndexPage(
  patterns: IndexEntry[],
  demos: { route: string; summary: string }[],
) {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>Durable Object patterns</title>
        <style>
          body {
            font:
              16px/1.5 system-ui,
              sans-serif;
            max-width: 48rem;
            margin: 2rem auto;
            padding: 0 1rem;
          }
          code {
            background: #f3f3f3;
            padding: 0 0.25rem;
            border-radius: 3px;
          }
          li {
            margin: 0.25rem 0;
          }
        </style>
      </head>
      <body>
        <h1>Durable Object patterns</h1>
        <p>
          Every pattern of the catalog, mounted under <code>/&lt;pattern&gt;/</code>. Each package's
          README has curl examples.
        </p>
        ${patterns.map(
          (p) =>
            html`<section>
              <h2><code>${p.path}</code> ${p.name}</h2>
              <p>${p.summary}. See <code>${p.readme}</code>.</p>
              <ul>
                ${p.routes.map((r) => html`<li><code>${r}</code></li>`)}
              </ul>
            </section>`,
        )}
        <h2>Demos</h2>
        <ul>
          ${demos.map((d) => html`<li><code>${d.route}</code>: ${d.summary}</li>`)}
        </ul>
      </body>
    </html>`;
}
