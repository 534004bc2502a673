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
