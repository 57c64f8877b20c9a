/** The HTML pages of the example Worker, for a person with a browser. */
import { html, raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";

/** A route that shows a pattern at work, e.g. `GET /demo/limited`. */
export interface Demo {
  route: string;
  summary: string;
}

/** One mounted pattern, as `GET /` lists it. */
export interface PatternEntry {
  name: string;
  summary: string;
  /** Where its routes and its page are mounted: `/<name>/`. */
  path: string;
  /** Where its README lives in the repo. */
  readme: string;
  routes: string[];
  demos: Demo[];
  /** Its live page, where one shows the pattern at work (e.g. `/adaptive-controller/live`). */
  live?: string;
}

type Page = HtmlEscapedString | Promise<HtmlEscapedString>;

// An inline icon, so browsers showing the page need no /favicon.ico round trip.
const ICON =
  "data:image/svg+xml," +
  encodeURIComponent(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#f38020"/><path d="M4 4h4a4 4 0 0 1 0 8H4z" fill="#fff"/></svg>`,
  );

/** The page frame every HTML page of the example shares; live pages add their own styles. */
export function layout(title: string, body: Page): Page {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title}</title>
        <link rel="icon" href="${ICON}" />
        <style>
          body {
            font:
              16px/1.5 system-ui,
              sans-serif;
            max-width: 52rem;
            margin: 2rem auto;
            padding: 0 1rem;
            color: #222;
          }
          a {
            color: #0b57d0;
          }
          code,
          pre {
            background: #f3f3f3;
            border-radius: 3px;
          }
          code {
            padding: 0 0.25rem;
          }
          pre {
            padding: 0.75rem;
            overflow-x: auto;
          }
          pre code {
            padding: 0;
          }
          table {
            border-collapse: collapse;
            display: block;
            overflow-x: auto;
          }
          th,
          td {
            border: 1px solid #ddd;
            padding: 0.25rem 0.5rem;
            vertical-align: top;
          }
          li {
            margin: 0.25rem 0;
          }
          .readme {
            border-top: 1px solid #ddd;
            margin-top: 2rem;
          }
        </style>
      </head>
      <body>
        ${body}
      </body>
    </html>`;
}

/**
 * A GET route is a link; any other method is shown as text (a browser cannot send it), and so is
 * a route with a parameter (`/:set/flags`), which names no page a browser could open.
 */
function routeItem(route: string, summary?: string): Page {
  const path =
    route.startsWith("GET ") && !route.includes("/:") ? route.slice("GET ".length) : undefined;
  const label =
    path === undefined
      ? html`<code>${route}</code>`
      : html`<a href="${path}"><code>${route}</code></a>`;
  return summary === undefined ? html`<li>${label}</li>` : html`<li>${label}: ${summary}</li>`;
}

function routesAndDemos(p: PatternEntry): Page {
  return html`<h3>Routes</h3>
    <ul>
      ${p.routes.map((r) => routeItem(r))}
    </ul>
    ${
      p.demos.length === 0
        ? ""
        : html`<h3>Demos</h3>
            <ul>
              ${p.demos.map((d) => routeItem(d.route, d.summary))}
            </ul>`
    }`;
}

/** `GET /`: every mounted pattern, linked to its page. */
export function renderIndexPage(patterns: PatternEntry[]): Page {
  return layout(
    "Durable Object patterns",
    html`<h1>Durable Object patterns</h1>
      <p>
        Every pattern of the catalog, mounted under <code>/&lt;pattern&gt;/</code>. Each pattern's
        page has its routes, demos and README, with <code>curl</code> examples that work against
        this Worker.
      </p>
      ${patterns.map(
        (p) =>
          html`<section>
            <h2><a href="${p.path}">${p.name}</a></h2>
            <p>
              ${p.summary}. <a href="${p.path}#readme">README</a>${
                p.live === undefined ? "" : html` · <a href="${p.live}">see it live</a>`
              }
            </p>
            ${routesAndDemos(p)}
          </section>`,
      )}`,
  );
}

/** `GET /<pattern>/`: the pattern's routes, demos and README. */
export function renderPatternPage(p: PatternEntry, readmeHtml: string): Page {
  return layout(
    `${p.name}: Durable Object patterns`,
    html`<p><a href="/">All patterns</a></p>
      <h1>${p.name}</h1>
      <p>
        ${p.summary}. Mounted at <code>${p.path}</code>; its README, below, is
        <code>${p.readme}</code>.
      </p>
      ${
        p.live === undefined
          ? ""
          : html`<p><a href="${p.live}">See it live</a>: a page that shows it working.</p>`
      }
      ${routesAndDemos(p)}
      <section id="readme" class="readme">${raw(readmeHtml)}</section>`,
  );
}
