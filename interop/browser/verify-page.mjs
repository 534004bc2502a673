#!/usr/bin/env node
// Drives sig-share's verification page in Debian's headless Chromium (playwright-core): opens
// BASE_URL/, chooses each file in turn with the page's own file input, waits for its verdict,
// and prints one JSON object: for each file what a person sees (verdict colour, title, reason,
// the facts, the timeline's signers) and how long it took; plus any request that left the
// page's origin, any dialog or page error, and whether a hostile manifest ran script
// (document.body.dataset.pwned). Screenshots of each verdict go to ARTIFACTS_DIR.
//
//   node interop/browser/verify-page.mjs BASE_URL ARTIFACTS_DIR FILE...
//
// Exit status: 0 when every file was judged (whatever the verdict), 1 otherwise.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { launchChromium, report } from "./chromium.mjs";

const [base, artifacts, ...files] = process.argv.slice(2);
if (!base || !artifacts || files.length === 0) {
  console.error("usage: verify-page.mjs BASE_URL ARTIFACTS_DIR FILE...");
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });
const origin = new URL(base).origin;

const context = await launchChromium();
const offsite = [];
const errors = [];
context.on("request", (r) => {
  const u = r.url();
  if (!(u.startsWith(origin + "/") || u.startsWith("blob:") || u.startsWith("data:"))) offsite.push(u);
});
const results = [];
await report(context, async (fail) => {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  page.on("dialog", (d) => {
    errors.push(`a dialog opened: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  const loadStart = Date.now();
  await page.goto(`${base}/`);
  const usableMs = Date.now() - loadStart; // the drop zone is there before the verifier
  await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("Ready"), null, { timeout: 60_000 });
  const readyMs = Date.now() - loadStart;

  for (const [i, file] of files.entries()) {
    const name = path.basename(file);
    await page.setInputFiles("#file", file);
    try {
      await page.waitForFunction((n) => document.body.dataset.checked === n, name, { timeout: 60_000 });
    } catch (e) {
      fail();
      results.push({ file, error: `no verdict: ${(await page.textContent("#status")) ?? e.message}` });
      continue;
    }
    const seen = await page.evaluate(() => ({
      verdict: document.getElementById("verdict").dataset.verdict,
      title: document.getElementById("verdict-title").textContent,
      reason: document.getElementById("verdict-reason").textContent,
      facts: Object.fromEntries(
        [...document.querySelectorAll("#facts dt")].map((dt) => [dt.textContent, dt.nextElementSibling?.textContent]),
      ),
      signers: [...document.querySelectorAll("#timeline li")].map((li) => li.dataset.signer),
      steps: [...document.querySelectorAll("#timeline li")].map((li) => li.textContent),
      thumbnails: [...document.querySelectorAll("#timeline img")].filter((img) => img.complete && img.naturalWidth > 0).length,
      log: [...document.querySelectorAll("#log-entries li")].map((li) => li.textContent),
      ms: Number(document.body.dataset.ms),
      pwned: document.body.dataset.pwned ?? null,
      scripts: document.scripts.length,
      width: document.documentElement.scrollWidth,
      viewport: window.innerWidth,
    }));
    const shot = path.join(artifacts, `${String(i).padStart(2, "0")}-${name.replace(/[^\w.-]/g, "_").slice(0, 60)}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    results.push({ file, ...seen, screenshot: shot });
  }
  return { usable_ms: usableMs, ready_ms: readyMs, results, offsite, errors };
});
