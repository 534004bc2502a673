// Debian's Chromium, headless, as every browser test here launches it: a fresh profile, nothing
// a closed network refuses (background networking, component updates, sync), and no host but
// 127.0.0.1 resolving, so a page that reaches off the machine fails at once.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

/// A browser context with the given viewport width (default $VIEWPORT_WIDTH, else 1024).
export function launchChromium(width = Number(process.env.VIEWPORT_WIDTH ?? 1024)) {
  return chromium.launchPersistentContext(mkdtempSync(path.join(tmpdir(), "sig-share-chromium-")), {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    viewport: { width, height: 800 },
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ],
  });
}

/// Runs `body` and ends the process as the browser scripts do: what `body` returns printed as
/// JSON, then exit 0; exit 1 when it threw (the error on stderr) or called the `fail` it is
/// given (after printing). The context is closed either way.
export async function report(context, body) {
  let ok = true;
  try {
    const out = await body(() => {
      ok = false;
    });
    console.log(JSON.stringify(out, null, 2));
  } catch (e) {
    ok = false;
    console.error(`FAIL: ${e.stack ?? e}`);
  } finally {
    await context.close();
  }
  process.exit(ok ? 0 : 1);
}
