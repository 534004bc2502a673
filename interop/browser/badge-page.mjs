#!/usr/bin/env node
// Drives sig-share's embeddable badge (web/badge.js) in Debian's headless Chromium
// (playwright-core) on pages of other origins than the deployment's.
//
//   node interop/browser/badge-page.mjs DEPLOYMENT_URL ARTIFACTS_DIR NAME=FILE...
//
// It serves, on 127.0.0.1 ports of its own (so other origins than DEPLOYMENT_URL):
// - a host page with a strict Content-Security-Policy and hostile CSS (every element's font,
//   colour and buttons overridden), `<img data-sig-share src="/img/NAME">` for each file, the
//   first file again from a third origin with CORS (`cors`) and without (`nocors`), once inside
//   a link (`linked`), and once without the attribute (`plain`, which must get no badge); and
//   the one tag `<script type="module" src="DEPLOYMENT_URL/web/badge.js">`;
// - a second page (`/lazy.html`) with no such image at first, to see the verifier is not loaded
//   until one appears (an existing image gaining the attribute, then one added).
//
// Then, for every badge: its verdict (data-verdict), words (aria-label), tooltip, where the pin
// sits against its image; and its card opened and closed, each time another way (click and
// Escape, Enter and the close button, Space and a click beside the card), with what it says.
// Prints one JSON object; screenshots go to ARTIFACTS_DIR. Exit status 0 when every badge came
// to a verdict and every card opened and closed, 1 otherwise.
import { mkdirSync, readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { launchChromium } from "./chromium.mjs";

const [deployment, artifacts, ...pairs] = process.argv.slice(2);
if (!deployment || !artifacts || pairs.length === 0 || pairs.some((p) => !p.includes("="))) {
  console.error("usage: badge-page.mjs DEPLOYMENT_URL ARTIFACTS_DIR NAME=FILE...");
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });
const files = new Map(pairs.map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)]));
const names = [...files.keys()];
const deploymentOrigin = new URL(deployment).origin;
const idOf = (name) => name.replace(/\.[^.]*$/, "").replace(/[^\w-]/g, "_");

const TYPES = { ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp" };
function image(res, name, extra = {}) {
  const file = files.get(name);
  if (!file) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "content-type": TYPES[path.extname(name).toLowerCase()] ?? "application/octet-stream", ...extra });
  res.end(readFileSync(file));
}

function listen(handler) {
  return new Promise((resolve) => {
    const server = http.createServer(handler);
    server.listen(0, "127.0.0.1", () => resolve({ server, origin: `http://127.0.0.1:${server.address().port}` }));
  });
}

// The images' third origin: with CORS under /cors/, without under /plain/.
const cdn = await listen((req, res) => {
  const [, kind, name] = decodeURIComponent(new URL(req.url, "http://x").pathname).split("/");
  if (kind === "cors") image(res, name, { "access-control-allow-origin": "*" });
  else if (kind === "plain") image(res, name);
  else res.writeHead(404).end();
});

let hostOrigin;
const csp = () =>
  [
    "default-src 'none'",
    `script-src ${deploymentOrigin} 'wasm-unsafe-eval'`,
    // The badge's verifier runs in a worker started from a blob: that imports the deployment's
    // worker script (a page may not start a worker from another origin directly).
    "worker-src blob:",
    `connect-src 'self' ${deploymentOrigin} ${cdn.origin}`,
    `img-src 'self' ${cdn.origin}`,
    "style-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
const HOSTILE_CSS = `
* { font: italic 31px/3 serif !important; color: hotpink !important; letter-spacing: 3px !important;
    text-transform: uppercase !important; box-sizing: content-box !important; }
button, dialog, h2, p, dl, ol, a[target] { display: none !important; }
div, span { background: yellow !important; }
body { display: flex; flex-wrap: wrap; gap: 16px; margin: 8px; }
figure { margin: 0; }
/* Some images sit in a positioned box, some do not: the pin finds its corner either way. */
figure:nth-of-type(odd) { position: relative; }
img { display: block; width: 220px; height: auto; border: 3px solid black; }
`;
const badgeTag = `<script type="module" src="${deployment}/web/badge.js"></script>`;
const page = (body) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp()}">
<title>A page elsewhere</title>
<link rel="stylesheet" href="/host.css">
${badgeTag}
</head><body>
${body}
</body></html>`;
const figure = (id, src, caption, attr = " data-sig-share") =>
  `<figure><img id="${id}"${attr} src="${src}" alt="${caption}"><figcaption>${caption}</figcaption></figure>`;
const first = names[0];
const host = await listen((req, res) => {
  const url = decodeURIComponent(new URL(req.url, "http://x").pathname);
  const html = (body) => res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page(body));
  if (url === "/") {
    html(
      [
        ...names.map((n) => figure(idOf(n), `/img/${encodeURIComponent(n)}`, n)),
        figure("cors", `${cdn.origin}/cors/${encodeURIComponent(first)}`, `${first}, another origin with CORS`),
        figure("nocors", `${cdn.origin}/plain/${encodeURIComponent(first)}`, `${first}, another origin without CORS`),
        `<figure><a href="/elsewhere"><img id="linked" data-sig-share src="/img/${encodeURIComponent(first)}" alt="linked"></a><figcaption>in a link</figcaption></figure>`,
        figure("plain", `/img/${encodeURIComponent(first)}`, "no data-sig-share", ""),
      ].join("\n"),
    );
  } else if (url === "/lazy.html") {
    html(figure("later", `/img/${encodeURIComponent(first)}`, "gains data-sig-share later", ""));
  } else if (url === "/favicon.ico") {
    res.writeHead(204).end();
  } else if (url === "/host.css") {
    res.writeHead(200, { "content-type": "text/css" }).end(HOSTILE_CSS);
  } else if (url.startsWith("/img/")) {
    image(res, url.slice(5));
  } else {
    res.writeHead(404).end();
  }
});
hostOrigin = host.origin;

const context = await launchChromium();
await context.addInitScript(() => {
  window.__violations = [];
  document.addEventListener("securitypolicyviolation", (e) =>
    window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`),
  );
});
const offsite = [];
const errors = [];
const consoleErrors = [];
const requests = [];
context.on("request", (r) => {
  const u = r.url();
  requests.push({ url: u, page: r.frame()?.url() ?? null });
  if (u.startsWith("blob:") || u.startsWith("data:")) return;
  if (new URL(u).hostname !== "127.0.0.1") offsite.push(u);
});

// What a person and a screen reader get from each badge on the page.
const readBadges = (p) =>
  p.evaluate(() =>
    [...document.querySelectorAll("img")].map((img) => {
      const badge = img.nextElementSibling?.localName === "sig-share-badge" ? img.nextElementSibling : null;
      const pin = badge?.shadowRoot?.querySelector(".pin");
      img.scrollIntoView({ block: "center", behavior: "instant" });
      const box = (e) => {
        const r = e.getBoundingClientRect();
        return { left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width, height: r.height };
      };
      return {
        id: img.id,
        src: img.currentSrc || img.src,
        badge: badge !== null,
        verdict: badge?.dataset.verdict ?? null,
        state: badge?.dataset.state ?? null,
        label: pin?.getAttribute("aria-label") ?? null,
        tooltip: pin?.title ?? null,
        img: box(img),
        pin: pin ? box(pin) : null,
        pinFont: pin ? getComputedStyle(pin).fontSize : null,
        pinDisplay: pin ? getComputedStyle(pin).display : null,
        // The element a click at the pin's centre lands on is the badge (nothing covers it).
        onTop: pin
          ? (() => {
              const r = pin.getBoundingClientRect();
              return document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2) === badge;
            })()
          : null,
      };
    }),
  );
const settled = (p) =>
  p.waitForFunction(
    () =>
      [...document.querySelectorAll("img[data-sig-share]")].every((img) => {
        const b = img.nextElementSibling;
        return b?.localName === "sig-share-badge" && b.dataset.verdict && b.dataset.verdict !== "pending";
      }),
    null,
    { timeout: 90_000 },
  );

// The open card of the badge after image `id`, as text.
const readCard = (p, id) =>
  p.evaluate((id) => {
    const root = document.getElementById(id).nextElementSibling.shadowRoot;
    const dialog = root.querySelector("dialog");
    if (!dialog?.open) return null;
    const r = dialog.getBoundingClientRect();
    return {
      title: root.querySelector("h2")?.textContent,
      reason: root.querySelector(".reason")?.textContent,
      facts: Object.fromEntries([...root.querySelectorAll("dt")].map((dt) => [dt.textContent, dt.nextElementSibling?.textContent])),
      signers: [...root.querySelectorAll("li")].map((li) => li.dataset.signer),
      steps: [...root.querySelectorAll("li")].map((li) => li.textContent.slice(0, 300)),
      link: root.querySelector("a")?.href ?? null,
      linkText: root.querySelector("a")?.textContent ?? null,
      labelledBy: root.getElementById(dialog.getAttribute("aria-labelledby"))?.textContent ?? null,
      titleFont: getComputedStyle(root.querySelector("h2")).fontSize,
      titleDisplay: getComputedStyle(root.querySelector("h2")).display,
      focused: root.activeElement?.className ?? null,
      box: { left: r.left, top: r.top, right: r.right, bottom: r.bottom },
      viewport: { width: innerWidth, height: innerHeight },
      scrollWidth: dialog.scrollWidth,
      clientWidth: dialog.clientWidth,
    };
  }, id);
const pinFocused = (p, id) =>
  p.evaluate((id) => {
    const badge = document.getElementById(id).nextElementSibling;
    return document.activeElement === badge && badge.shadowRoot.activeElement?.classList.contains("pin");
  }, id);
const cardOpen = (p, id) =>
  p.evaluate((id) => Boolean(document.getElementById(id).nextElementSibling.shadowRoot.querySelector("dialog[open]")), id);

const result = { host: hostOrigin, cdn: cdn.origin, deployment: deploymentOrigin };
let ok = true;
try {
  const p = context.pages()[0] ?? (await context.newPage());
  p.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  p.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  p.on("dialog", (d) => {
    errors.push(`a dialog opened: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  const started = Date.now();
  await p.goto(`${hostOrigin}/`);
  await settled(p);
  result.settled_ms = Date.now() - started;
  result.badges = await readBadges(p);
  await p.screenshot({ path: path.join(artifacts, "page.png"), fullPage: true });

  // The pins are in the tab order: the first Tab lands on the first one.
  await p.keyboard.press("Tab");
  result.first_tab = await p.evaluate(() => document.activeElement?.previousElementSibling?.id ?? null);

  // Each card, opened and closed another way each time.
  result.cards = [];
  const ways = [
    ["click", "Escape"],
    ["Enter", "close button"],
    ["Space", "backdrop"],
  ];
  const judged = result.badges.filter((b) => b.badge);
  for (const [i, b] of judged.entries()) {
    // The image inside a link is clicked: the pin must not follow the link.
    const [how, close] = b.id === "linked" ? ways[0] : ways[i % ways.length];
    const pin = p.locator(`#${b.id} + sig-share-badge .pin`);
    await pin.scrollIntoViewIfNeeded();
    if (how === "click") await pin.click();
    else {
      await pin.focus();
      await p.keyboard.press(how);
    }
    let card = null;
    try {
      await p.waitForFunction((id) => document.getElementById(id).nextElementSibling.shadowRoot.querySelector("dialog[open]"), b.id, { timeout: 5_000 });
      card = await readCard(p, b.id);
      await p.screenshot({ path: path.join(artifacts, `card-${String(i).padStart(2, "0")}-${b.id}.png`) });
    } catch (e) {
      ok = false;
      result.cards.push({ id: b.id, how, error: `the card did not open: ${e.message}` });
      continue;
    }
    if (close === "Escape") await p.keyboard.press("Escape");
    else if (close === "close button") await p.locator(`#${b.id} + sig-share-badge .close`).click();
    else await p.mouse.click(3, 3);
    await p.waitForTimeout(50);
    const closed = !(await cardOpen(p, b.id));
    if (!closed) ok = false;
    result.cards.push({ id: b.id, how, close, ...card, closed, focus_back: await pinFocused(p, b.id), url: p.url() });
  }
  result.violations = await p.evaluate(() => window.__violations);
  result.pwned = await p.evaluate(() => document.body.dataset.pwned ?? window.pwned ?? null);

  // The lazy page: nothing from the deployment but the script until an image asks for it.
  const lazy = await context.newPage();
  lazy.on("pageerror", (e) => errors.push(`page error (lazy): ${e.message}`));
  const before = requests.length;
  await lazy.goto(`${hostOrigin}/lazy.html`);
  await lazy.waitForLoadState("networkidle");
  await lazy.waitForTimeout(500);
  result.lazy = {
    before: requests.slice(before).filter((r) => r.url.startsWith(deploymentOrigin)).map((r) => r.url),
  };
  const second = names[1] ?? first;
  await lazy.evaluate((src) => {
    document.getElementById("later").setAttribute("data-sig-share", "");
    const img = document.createElement("img");
    img.id = "added";
    img.dataset.sigShare = "";
    img.src = src;
    document.body.append(img);
  }, `/img/${encodeURIComponent(second)}`);
  await settled(lazy);
  result.lazy.badges = await readBadges(lazy);
  result.lazy.after = requests.slice(before).filter((r) => r.url.startsWith(deploymentOrigin)).map((r) => r.url);
  await lazy.screenshot({ path: path.join(artifacts, "lazy.png"), fullPage: true });
  // An image that shows another file is judged again.
  await lazy.evaluate((src) => {
    document.getElementById("later").src = src;
  }, `/img/${encodeURIComponent(second)}`);
  try {
    await lazy.waitForFunction(
      (src) => {
        const b = document.getElementById("later").nextElementSibling;
        return b.dataset.state === "judged" && b.dataset.src.endsWith(src);
      },
      `/img/${encodeURIComponent(second)}`,
      { timeout: 30_000 },
    );
    result.lazy.changed = await lazy.evaluate(() => document.getElementById("later").nextElementSibling.dataset.verdict);
  } catch (e) {
    result.lazy.changed = `not judged again: ${e.message}`;
  }
  // An image that leaves the page takes its badge with it.
  result.lazy.removed = await lazy.evaluate(() => {
    document.getElementById("added").remove();
    return new Promise((resolve) =>
      requestAnimationFrame(() => resolve(document.querySelectorAll("sig-share-badge").length)),
    );
  });
  result.lazy.violations = await lazy.evaluate(() => window.__violations);
} catch (e) {
  ok = false;
  console.error(`FAIL: ${e.stack ?? e}`);
} finally {
  await context.close();
  host.server.close();
  cdn.server.close();
}
result.offsite = offsite;
result.errors = errors;
result.console_errors = consoleErrors;
console.log(JSON.stringify(result, null, 2));
process.exit(ok ? 0 : 1);
