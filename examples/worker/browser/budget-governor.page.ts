// The budget governor's live page in a browser: open it from the index, start a fresh cycle,
// slow the simulated data plane down and run the cycle from the page: the open reservations
// appear while the runs work, then spend shows per processor. Then make every call fail and
// run again: errors show and the holds are released. Last, hold a reservation by hand.
import { join } from "node:path";
import type { Page } from "playwright-core";

/** The number in `selector`'s `attribute`, as the page shows it now. */
async function numberAt(page: Page, selector: string, attribute: string): Promise<number> {
  return Number(await page.locator(selector).getAttribute(attribute));
}

/** Sets a range input's value and fires the events the page listens to. */
async function setRange(page: Page, selector: string, value: string): Promise<void> {
  await page.locator(selector).fill(value);
  await page.locator(selector).dispatchEvent("change");
}

export default async function budgetGovernorPage(
  page: Page,
  baseUrl: string,
  outDir: string,
): Promise<void> {
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));

  // The index links the live page.
  await page.goto(`${baseUrl}/`);
  await page.click('a[href="/budget-governor/live"]');
  await page.waitForURL(`${baseUrl}/budget-governor/live`);

  // A fresh cycle: nothing spent yet.
  await setRange(page, "#failure-rate", "0");
  const before = Number(await page.locator("#cycle-id").textContent());
  await page.click("#new-cycle");
  await page.waitForFunction(
    (previous) => Number(document.querySelector("#cycle-id")?.textContent) > previous,
    before,
  );
  await page.waitForSelector('#spent-total[data-value="0"]');

  // A slow data plane: the runs hold their budgets as open reservations while they work.
  await setRange(page, "#latency", "1500");
  await page.waitForFunction(
    () => document.querySelector("#latency-value")?.textContent === "1500 ms",
  );
  await page.click("#run");
  await page.waitForFunction(
    () => Number(document.querySelector("#open-count")?.getAttribute("data-count")) > 0,
    undefined,
    { timeout: 10_000 },
  );
  const held = await numberAt(page, "#reserved-total", "data-value");
  if (held <= 0) throw new Error(`open reservations show but hold ${held}`);
  await page.screenshot({ path: join(outDir, "budget-governor-holding.png"), fullPage: true });

  // Every phase done: spend per processor, nothing held any more.
  await page.waitForFunction(
    () =>
      Number(document.querySelector("#spent-total")?.getAttribute("data-value")) > 0 &&
      Number(document.querySelector("#open-count")?.getAttribute("data-count")) === 0 &&
      document.querySelector("#message")?.textContent?.startsWith("Cycle"),
    undefined,
    { timeout: 30_000 },
  );
  for (const processor of ["crawl", "keywords", "enrich", "summarize"]) {
    const committed = await numberAt(page, `tr[data-processor="${processor}"]`, "data-committed");
    if (committed <= 0) throw new Error(`${processor} shows no spend after the run`);
  }
  await page.screenshot({ path: join(outDir, "budget-governor-spent.png"), fullPage: true });

  // The data plane fails every call: the runs fail, their holds are released, errors counted.
  await setRange(page, "#latency", "200");
  await setRange(page, "#failure-rate", "100");
  await page.waitForFunction(() => document.body.textContent?.includes("100% failing"));
  const spentBefore = await numberAt(page, "#spent-total", "data-value");
  await page.click("#run");
  await page.waitForFunction(
    () => Number(document.querySelector("#errors-total")?.getAttribute("data-value")) > 0,
    undefined,
    { timeout: 20_000 },
  );
  await page.waitForSelector("#message:has-text('failed (holds released)')");
  if ((await numberAt(page, "#spent-total", "data-value")) !== spentBefore) {
    throw new Error("failed runs changed the spend");
  }
  await setRange(page, "#failure-rate", "0");

  // A hold by hand, in a fresh cycle (the runs above may have left too little for 10% of a
  // processor's allocation): it shows among the open reservations until its 30 s TTL.
  const spentCycle = Number(await page.locator("#cycle-id").textContent());
  await page.click("#new-cycle");
  await page.waitForFunction(
    (previous) => Number(document.querySelector("#cycle-id")?.textContent) > previous,
    spentCycle,
  );
  await page.selectOption("#reserve-processor", "enrich");
  await page.click("#reserve");
  await page.waitForSelector("#reservations td:text-is('enrich')");
  await page.screenshot({ path: join(outDir, "budget-governor-reserved.png"), fullPage: true });

  if (pageErrors.length > 0) throw new Error(`the page's script failed: ${pageErrors.join("; ")}`);
}
