// The event reactor's live page in a browser: open it from the index, wait for its WebSocket,
// post an event with a button, and see the state the reactor pushes change on the page, then
// the decision and the command the Queue consumer received. Sending the same event again
// changes nothing.
import { join } from "node:path";
import type { Page } from "playwright-core";

export default async function eventReactorPage(
  page: Page,
  baseUrl: string,
  outDir: string,
): Promise<void> {
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));

  // The index links the live page (for the "acme" brand); a fresh brand keeps reruns apart.
  await page.goto(`${baseUrl}/`);
  await page.locator('a[href="/event-reactor/live"]').first().waitFor();
  const brand = `browser-${Date.now()}`;
  await page.goto(`${baseUrl}/event-reactor/live?entity=${brand}`);
  await page.locator('#connection[data-state="open"]').waitFor();
  // The reactor sends its state as the socket opens.
  await page.locator("#updates:not([data-count='0'])").waitFor();
  const before = Number(await page.locator("#updates").getAttribute("data-count"));

  await page.click('button[data-event="publish"]');
  await page.waitForFunction(
    (count) => Number(document.querySelector("#updates")?.getAttribute("data-count")) > count,
    before,
  );
  await page.locator("#state", { hasText: '"published": 1' }).waitFor();
  await page.locator("#decisions li", { hasText: "schedule-engagement-check" }).waitFor();
  await page.locator("#received li", { hasText: "schedule-engagement-check" }).waitFor();

  // The same event again: deduplicated, so the state stays at one publish.
  await page.click('button[data-event="repeat"]');
  await page.click('button[data-event="research"]');
  await page.locator("#state", { hasText: '"topics": [' }).waitFor();
  const state = await page.locator("#state").textContent();
  if (!state?.includes('"published": 1'))
    throw new Error(`a repeated event counted twice: ${state}`);

  await page.screenshot({ path: join(outDir, "event-reactor.png"), fullPage: true });
  if (pageErrors.length > 0) throw new Error(`errors on the page: ${pageErrors.join("; ")}`);
}
