#!/usr/bin/env node
// Drives sig-share's log explorer (BASE_URL/explorer) in Debian's headless Chromium: reads the
// checked checkpoint, then looks up an entry by INDEX, the bytes with SHA-256 DIGEST and the
// certificates of IDENTITY with the page's own forms, and prints what a person sees as JSON
// (each line's text and whether the page's verifier accepted it), with a screenshot.
//
//   node interop/browser/explorer-page.mjs BASE_URL ARTIFACTS_DIR INDEX DIGEST IDENTITY
import { mkdirSync } from "node:fs";
import path from "node:path";
import { launchChromium, report } from "./chromium.mjs";

const [base, artifacts, index, digest, identity] = process.argv.slice(2);
mkdirSync(artifacts, { recursive: true });
const origin = new URL(base).origin;
const context = await launchChromium();
const offsite = [];
const errors = [];
context.on("request", (r) => {
  if (!r.url().startsWith(origin + "/")) offsite.push(r.url());
});
await report(context, async (fail) => {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${base}/explorer`);
  await page.waitForFunction(() => document.getElementById("status").textContent === "Ready.", null, { timeout: 60_000 });
  const lines = (id) =>
    page.evaluate((id) => [...document.querySelectorAll(`#${id} li`)].map((li) => ({ text: li.textContent, verified: li.dataset.verified })), id);
  const checkpoint = await page.evaluate(() => ({
    verified: document.getElementById("checkpoint").dataset.verified,
    facts: Object.fromEntries([...document.querySelectorAll("#checkpoint dt")].map((dt) => [dt.textContent, dt.nextElementSibling.textContent])),
    signatures: [...document.querySelectorAll("#checkpoint-signatures li")].map((li) => ({ text: li.textContent, verified: li.dataset.verified })),
  }));
  const submit = async (input, value, list) => {
    await page.evaluate((list) => document.getElementById(list).replaceChildren(), list);
    await page.fill(`#${input}`, value);
    await page.press(`#${input}`, "Enter"); // the keyboard alone works the forms
    await page.waitForFunction((list) => document.querySelectorAll(`#${list} li`).length > 0, list, { timeout: 30_000 });
    return lines(list);
  };
  const entry = await submit("entry-index", index, "entry");
  const beyond = await submit("entry-index", "999999", "entry");
  const bytes = await submit("digest", digest, "digest-entries");
  const certificates = await submit("identity", identity, "certificates");
  const nobody = await submit("identity", "nobody@example.com", "certificates");
  await page.screenshot({ path: path.join(artifacts, "explorer.png"), fullPage: true });
  return { checkpoint, entry, beyond, bytes, certificates, nobody, offsite, errors };
});
