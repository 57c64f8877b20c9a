// The adaptive controller's live page in a browser: start the demo loop from the page, turn the
// simulated data plane's failure rate up with the slider and watch the breaker shown on the page
// open; turn it down and watch it close again.
import { join } from "node:path";
import type { Page } from "playwright-core";

/** Waits until the page shows the breaker in `state` (the page re-fetches its panel every second). */
async function breakerShows(page: Page, state: string, timeoutMs: number): Promise<void> {
  await page.waitForSelector(`#breaker[data-state="${state}"]`, { timeout: timeoutMs });
}

export default async function adaptiveControllerPage(
  page: Page,
  baseUrl: string,
  outDir: string,
): Promise<void> {
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));

  // The index links the live page.
  await page.goto(`${baseUrl}/`);
  await page.click('a[href="/adaptive-controller/live"]');
  await page.waitForURL(`${baseUrl}/adaptive-controller/live`);

  // A clean loop, started from the page.
  await page.click("#reset");
  await page.waitForSelector("#loop-status:text-is('idle')");
  await page.click("#start");
  await page.waitForSelector("#loop-status:text-is('running')");
  await breakerShows(page, "closed", 15_000);
  await page.waitForFunction(() => Number(document.querySelector("#tick")?.textContent) >= 2);
  await page.screenshot({ path: join(outDir, "adaptive-controller-healthy.png"), fullPage: true });

  // Every item fails: 3 failed batches in a row open the breaker.
  await page.locator("#failure-rate").fill("100");
  await breakerShows(page, "open", 30_000);
  await page.screenshot({ path: join(outDir, "adaptive-controller-open.png"), fullPage: true });

  // Healthy again: after the cool-down a probe succeeds and the breaker closes.
  await page.locator("#failure-rate").fill("0");
  await breakerShows(page, "closed", 40_000);
  const decisions = await page.locator("#decisions").innerText();
  for (const expected of [
    "breaker: closed → open",
    "breaker: open → half-open",
    "breaker: half-open → closed",
  ]) {
    if (!decisions.includes(expected))
      throw new Error(`the decision log does not show "${expected}":\n${decisions}`);
  }
  await page.screenshot({
    path: join(outDir, "adaptive-controller-recovered.png"),
    fullPage: true,
  });

  await page.click("#pause");
  await page.waitForSelector("#loop-status:text-is('paused')");
  if (pageErrors.length > 0) throw new Error(`the page's script failed: ${pageErrors.join("; ")}`);
}
