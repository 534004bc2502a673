#!/usr/bin/env node
// Times sig-share's verification page in Debian's headless Chromium: how soon the page is usable
// (its drop zone, before the verifier arrives), when the verifier is ready, how many bytes the
// verifier's download takes on the wire, and drop-to-verdict for FILE (median of RUNS after one
// warm-up, as the page measures it: from the file chosen to the verdict shown).
//
//   node interop/browser/bench-page.mjs BASE_URL FILE [RUNS]
//
// Prints one JSON object. Exit status 0 when every run gave a verdict.
import path from "node:path";
import { launchChromium, report } from "./chromium.mjs";

const [base, file, runsArg] = process.argv.slice(2);
if (!base || !file) {
  console.error("usage: bench-page.mjs BASE_URL FILE [RUNS]   |   bench-page.mjs --make-jpeg OUT BYTES");
  process.exit(2);
}
const runs = Number(runsArg ?? 9);
const context = await launchChromium();
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
if (base === "--make-jpeg") {
  // A JPEG of about BYTES bytes: random noise (incompressible) drawn on a canvas and encoded
  // by Chromium at quality 0.9, 4:3.
  const [out, bytes] = [file, Number(runsArg)];
  const page = context.pages()[0] ?? (await context.newPage());
  const b64 = await page.evaluate(async (target) => {
    const pixels = Math.round(target / 0.83);
    const w = Math.round(Math.sqrt((pixels * 4) / 3));
    const h = Math.round((w * 3) / 4);
    const canvas = new OffscreenCanvas(w, h);
    const ctx = canvas.getContext("2d");
    const img = ctx.createImageData(w, h);
    for (let i = 0; i < img.data.length; i += 65536) crypto.getRandomValues(img.data.subarray(i, Math.min(i + 65536, img.data.length)));
    for (let i = 3; i < img.data.length; i += 4) img.data[i] = 255;
    ctx.putImageData(img, 0, 0);
    const blob = await canvas.convertToBlob({ type: "image/jpeg", quality: 0.9 });
    const buf = new Uint8Array(await blob.arrayBuffer());
    let s = "";
    for (let i = 0; i < buf.length; i += 32768) s += String.fromCharCode(...buf.subarray(i, i + 32768));
    return btoa(s);
  }, bytes);
  (await import("node:fs")).writeFileSync(out, Buffer.from(b64, "base64"));
  await context.close();
  process.exit(0);
}
await report(context, async (fail) => {
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(`${base}/`, { waitUntil: "domcontentloaded" });
  await page.waitForSelector("#file");
  const timing = await page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    return { usable_ms: nav.domContentLoadedEventEnd };
  });
  await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("Ready"), null, { timeout: 120_000 });
  const loaded = await page.evaluate(() => {
    const wasm = performance.getEntriesByType("resource").find((r) => r.name.endsWith("sig_share_web_bg.wasm"));
    return {
      ready_ms: performance.now(),
      wasm_transfer_bytes: wasm?.transferSize ?? null,
      wasm_encoded_bytes: wasm?.encodedBodySize ?? null,
      wasm_decoded_bytes: wasm?.decodedBodySize ?? null,
    };
  });
  const name = path.basename(file);
  const times = [];
  let verdict = null;
  for (let i = 0; i <= runs; i++) {
    // A second choice of the same file fires no change event unless the input is cleared.
    await page.evaluate(() => { delete document.body.dataset.checked; document.getElementById("file").value = ""; });
    await page.setInputFiles("#file", file);
    await page.waitForFunction((n) => document.body.dataset.checked === n, name, { timeout: 120_000 });
    const seen = await page.evaluate(() => ({
      ms: Number(document.body.dataset.ms),
      verdict: document.getElementById("verdict").dataset.verdict,
    }));
    verdict = seen.verdict;
    if (i > 0) times.push(seen.ms); // the first run warms the module up
  }
  return { ...timing, ...loaded, file, verdict, runs: times.length, drop_to_verdict_ms: times, median_ms: median(times) };
});
