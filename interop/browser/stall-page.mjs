#!/usr/bin/env node
// Whether a file built to stall the verifier freezes the verification page: opens
// BASE_URL/?budget=SECONDS (the page's time budget per file), starts a timer on the page's main
// thread ticking every 20 ms, chooses each file in turn, and while it is checked clicks a button
// on the page (the technical details' summary) and measures how long the click took to be
// handled. Prints one JSON object: for each file the verdict a person sees (colour, title,
// reason, data-state), how long the check took, the longest gap between two ticks, and the
// click's delay; plus any page error.
//
//   node interop/browser/stall-page.mjs BASE_URL BUDGET_SECONDS FILE...
//
// Exit status: 0 when every file got a verdict, 1 otherwise.
import path from "node:path";
import { launchChromium, report } from "./chromium.mjs";

const [base, budget, ...files] = process.argv.slice(2);
if (!base || !budget || files.length === 0) {
  console.error("usage: stall-page.mjs BASE_URL BUDGET_SECONDS FILE...");
  process.exit(2);
}

const context = await launchChromium();
const errors = [];
await report(context, async (fail) => {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  await page.goto(`${base}/?budget=${encodeURIComponent(budget)}`);
  await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("Ready"), null, { timeout: 60_000 });
  const results = [];
  for (const file of files) {
    const name = path.basename(file);
    // The main thread's heartbeat: the longest gap between two ticks says how long it was busy.
    await page.evaluate(() => {
      clearInterval(window.__tick);
      window.__last = performance.now();
      window.__gap = 0;
      window.__tick = setInterval(() => {
        const now = performance.now();
        window.__gap = Math.max(window.__gap, now - window.__last);
        window.__last = now;
      }, 20);
      window.__clicks = [];
      const summary = document.querySelector("#raw-details summary");
      summary.onclick = (e) => window.__clicks.push(performance.now() - e.timeStamp);
    });
    const started = Date.now();
    await page.setInputFiles("#file", file);
    // While it is checked: a click on the page, handled at once or not.
    await page.waitForTimeout(100);
    const clickStarted = Date.now();
    await page.evaluate(() => document.querySelector("#raw-details summary").dispatchEvent(new MouseEvent("click", { bubbles: true })));
    const clickMs = Date.now() - clickStarted;
    try {
      await page.waitForFunction((n) => document.body.dataset.checked === n, name, { timeout: 120_000 });
    } catch (e) {
      fail();
      results.push({ file, error: `no verdict: ${(await page.textContent("#status")) ?? e.message}` });
      continue;
    }
    const tookMs = Date.now() - started;
    await page.waitForTimeout(100);
    const seen = await page.evaluate(() => ({
      verdict: document.getElementById("verdict").dataset.verdict,
      state: document.getElementById("verdict").dataset.state ?? null,
      title: document.getElementById("verdict-title").textContent,
      reason: document.getElementById("verdict-reason").textContent,
      status: document.getElementById("status").textContent,
      max_tick_gap_ms: Math.round(window.__gap),
      clicks: window.__clicks.length,
    }));
    results.push({ file, ...seen, took_ms: tookMs, click_ms: clickMs });
  }
  return { results, errors };
});
