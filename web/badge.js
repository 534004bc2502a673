// The embeddable badge. One tag, on a page of any origin:
//
//   <script type="module" src="https://DEPLOYMENT/web/badge.js"></script>
//
// gives every <img data-sig-share> on the page (also those added later) a small provenance pin
// over its top right corner, coloured as the verification page colours its verdict; the pin
// (a button: click, Enter or Space) opens a card with the details, and a link to check the file
// on the deployment's own page.
//
// Each image's bytes are fetched again (from the browser's cache, usually) and judged here, by
// sig-share's verifier compiled to WebAssembly, against the deployment's published trust config:
// the same verdict `sig-share provenance --json` gives. Nothing is sent anywhere but to the
// deployment (the verifier and its trust config, loaded only once the page has such an image)
// and to the images' own hosts. An image on another origin than the page can only be read when
// its host allows it (Access-Control-Allow-Origin); otherwise its pin is grey and says so.
//
// A manifest is written by whoever made the file: everything it says is shown with textContent,
// never parsed as HTML. The pin and the card live in a shadow root with their own style sheet,
// so the page's CSS does not reach them and theirs does not leak into the page. The element
// that holds them, <sig-share-badge>, is placed right after its image and carries the verdict
// in data-verdict (pending, green, amber, red or grey) for scripts and tests, with the address
// it judged in data-src, and in data-state how: judged, or unreadable, no-verifier, too-long or
// error (then grey, and the pin says why).

const ROOT = new URL("../", import.meta.url); // the deployment: this file is ROOT/web/badge.js
const VERIFIER_JS = new URL("web/pkg/sig_share_web.js", ROOT);
const VERIFIER_WASM = new URL("web/pkg/sig_share_web_bg.wasm", ROOT);
const VERIFIER_WORKER_JS = new URL("web/verifier-worker.js", ROOT);
const SELECTOR = "img[data-sig-share]";

const TITLES = {
  green: ["✔", "Verified"],
  amber: ["!", "Verified, with caveats"],
  red: ["✖", "Not verified"],
  grey: ["?", "No provenance found"],
};
const PIN = 26; // px: a touch target, and small over a photo
const INSET = 6; // px from the image's corner

const STYLE = `
.pin {
  all: initial; box-sizing: border-box; position: absolute; left: 0; top: 0; display: block;
  width: ${PIN}px; height: ${PIN}px; border-radius: 50%; border: 2px solid #fff;
  box-shadow: 0 1px 4px rgba(0, 0, 0, 0.5); cursor: pointer; color: #fff; text-align: center;
  font: 700 14px/22px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  background: #5f6368; pointer-events: auto; user-select: none;
}
.pin:focus-visible { outline: 3px solid #1a73e8; outline-offset: 2px; }
.pin.pending { opacity: 0.75; }
.green { background: #1b7f3b; } .amber { background: #a35c00; }
.red { background: #b3261e; } .grey { background: #5f6368; }
dialog {
  box-sizing: border-box; padding: 0; border: 1px solid #dadce0; border-radius: 12px;
  width: min(480px, calc(100vw - 32px)); max-width: calc(100vw - 32px); max-height: min(640px, calc(100vh - 32px));
  overflow: auto; background: #fff; color: #1f1f1f; box-shadow: 0 8px 32px rgba(0, 0, 0, 0.35);
  pointer-events: auto; visibility: visible; /* the badge's element takes no clicks of its own */
}
dialog::backdrop { background: rgba(0, 0, 0, 0.35); pointer-events: auto; }
.card {
  all: initial; box-sizing: border-box; display: block; padding: 16px; color: #1f1f1f;
  font: 400 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; text-align: start;
  overflow-wrap: anywhere;
}
.card * { box-sizing: border-box; overflow-wrap: anywhere; }
.verdict { display: flex; gap: 12px; align-items: flex-start; border-radius: 8px; padding: 10px 12px; color: #fff; }
.verdict .icon { font-size: 26px; line-height: 1; }
.verdict .words { flex: 1; min-width: 0; }
.verdict h2 { margin: 0; font-size: 18px; font-weight: 700; }
.verdict p { margin: 3px 0 0; max-height: 12em; overflow: auto; }
.close {
  all: initial; box-sizing: border-box; flex: none; width: 32px; height: 32px; border-radius: 50%;
  color: #fff; font: 400 20px/32px system-ui, sans-serif; text-align: center; cursor: pointer;
}
.close:hover { background: rgba(255, 255, 255, 0.2); }
.close:focus-visible, a:focus-visible { outline: 3px solid #1a73e8; outline-offset: 2px; }
dl { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 3px 12px; margin: 12px 0; }
dt { color: #5f6368; }
dd { margin: 0; max-height: 6em; overflow: auto; }
h3 { font-size: 15px; margin: 12px 0 4px; }
ol { margin: 0; padding-left: 22px; }
li { margin-bottom: 8px; max-height: 10em; overflow: auto; }
.what { font-weight: 600; }
.meta { color: #5f6368; font-size: 13px; }
.problem { color: #b3261e; }
a { color: #1a5fb4; display: inline-block; margin-top: 12px; }
@media (max-width: 420px) { dl { grid-template-columns: minmax(0, 1fr); } dd { margin-bottom: 6px; } }
`;

let sheet;
function styles() {
  // A constructed style sheet: allowed by a page whose CSP forbids inline styles.
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(STYLE);
  }
  return sheet;
}

let verifier;
/// The verifier, loaded from the deployment the first time an image needs it: in a Web Worker
/// with a time budget per image (web/verifier-worker.js), so an image built to stall a C2PA
/// reader cannot freeze the page; on the page itself only when the page forbids such a worker
/// (its Content-Security-Policy), where sig-share's structural caps still refuse the known
/// stalling shapes at once. `judge` answers a promise of the verifier's JSON text.
function loadVerifier() {
  verifier ??= (async () => {
    const client = await import(VERIFIER_WORKER_JS.href);
    const { config, policy } = await client.fetchTrust(ROOT, { credentials: "omit" });
    try {
      const worker = new client.WorkerVerifier(config, { worker: VERIFIER_WORKER_JS.href, pkg: VERIFIER_JS.href, policy });
      await worker.start();
      return {
        judge: (name, bytes, now) => worker.call("judge", [name, bytes, now], client.budgetMs(bytes.length)),
        TooLong: client.TooLong,
      };
    } catch (e) {
      if (e instanceof client.TooLong) throw e;
      const wasm = await import(VERIFIER_JS.href);
      await wasm.default({ module_or_path: VERIFIER_WASM });
      const v = new wasm.Verifier(config, "", policy);
      return { judge: async (name, bytes, now) => v.judge(name, bytes, now), TooLong: client.TooLong };
    }
  })();
  return verifier;
}

let turn = Promise.resolve();
/// Runs `task` after the tasks before it, letting the page breathe between two: judging an
/// image takes the main thread for a moment, and a page may have many.
function inTurn(task) {
  const done = turn.then(task);
  turn = done.catch(() => {}).then(() => new Promise((resolve) => setTimeout(resolve, 0)));
  return done;
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

/// The name the verifier reads the type from: the URL's last segment, with the extension the
/// served content type says when there is one.
const EXTENSIONS = {
  "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/avif": "avif", "image/gif": "gif",
  "image/heic": "heic", "image/heif": "heif", "image/tiff": "tif", "image/svg+xml": "svg",
};
function fileName(url, contentType) {
  let last = "image";
  try {
    const u = new URL(url);
    if (u.protocol === "http:" || u.protocol === "https:") last = decodeURIComponent(u.pathname.split("/").pop()) || last;
  } catch {
    // keep "image"
  }
  const ext = EXTENSIONS[String(contentType ?? "").split(";")[0].trim().toLowerCase()];
  if (!ext) return last;
  const dot = last.lastIndexOf(".");
  const stem = dot > 0 ? last.slice(0, dot) : last;
  return `${stem}.${ext}`;
}

/// Why the verdict is what it is, in the verifier's words.
function reasonOf(report) {
  return report.reason ?? (report.caveats?.length ? report.caveats.join("; ") : "Every step checks out.");
}

function clip(text, length) {
  const s = String(text).replace(/[.\s]+$/, "");
  return s.length > length ? `${s.slice(0, length - 1)}…` : s;
}

/// Why an image could not be read, in words.
function unreadable(url, error) {
  let other = false;
  try {
    // A refused cross-origin read is a TypeError, as a network failure is; a status is not.
    other = error instanceof TypeError && new URL(url).origin !== location.origin;
  } catch {
    // a URL we cannot parse: say it plainly
  }
  if (other) {
    return `Could not be checked: this image's server (${new URL(url).host}) does not let other sites read it (it would have to send Access-Control-Allow-Origin).`;
  }
  return `Could not be checked: the image could not be read (${error?.message ?? error}).`;
}

/// One image's badge: the element after the image, its shadow root, the pin.
class Badge {
  constructor(img) {
    this.img = img;
    this.report = null;
    this.url = null;
    this.generation = 0;
    this.host = document.createElement("sig-share-badge");
    const important = (name, value) => this.host.style.setProperty(name, value, "important");
    for (const [name, value] of Object.entries({
      position: "absolute", display: "block", left: "0px", top: "0px", width: "0px", height: "0px",
      margin: "0px", padding: "0px", border: "0px none", overflow: "visible", float: "none",
      transform: "none", opacity: "1", visibility: "visible", "pointer-events": "none",
      "min-width": "0px", "min-height": "0px", "max-width": "none", "max-height": "none",
      contain: "none", filter: "none", clip: "auto", "clip-path": "none",
    })) {
      important(name, value);
    }
    this.important = important;
    this.shadow = this.host.attachShadow({ mode: "open" });
    this.shadow.adoptedStyleSheets = [styles()];
    this.pin = el("button", "…", "pin pending");
    this.pin.type = "button";
    this.pin.setAttribute("aria-haspopup", "dialog");
    this.pin.addEventListener("click", (e) => {
      e.preventDefault();
      this.open();
    });
    this.shadow.append(this.pin);
    // The page's own handlers (a link round the image, a lightbox, key shortcuts) do not see
    // what happens in the badge; clicks in it do not follow a link the image sits in.
    for (const type of ["click", "keydown", "keyup", "pointerdown", "mousedown"]) {
      this.shadow.addEventListener(type, (e) => {
        e.stopPropagation();
        if (type === "click" && !e.target.closest?.("a[href]")) e.preventDefault();
      });
    }
    this.show("pending", "Checking this image's provenance…");
  }

  /// Where the badge goes: after its image (again, if the page moved it) and over its top
  /// right corner. Measures only, and returns what to change, so that a layout of many badges
  /// reads them all before writing any.
  measure() {
    const { img, host } = this;
    if (!img.isConnected) return null;
    if (img.nextSibling !== host) img.after(host);
    const box = img.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) return () => this.important("display", "none");
    if (host.style.display === "none") this.important("display", "block");
    const at = host.getBoundingClientRect();
    const z = Number.parseInt(getComputedStyle(img).zIndex, 10);
    const left = (Number.parseFloat(host.style.left) || 0) + box.right - Math.min(INSET, box.width / 4) - PIN - at.left;
    const top = (Number.parseFloat(host.style.top) || 0) + box.top + Math.min(INSET, box.height / 4) - at.top;
    return () => {
      this.important("z-index", String(Number.isFinite(z) ? z + 1 : 1));
      this.important("left", `${Math.round(left)}px`);
      this.important("top", `${Math.round(top)}px`);
    };
  }

  /// Shows a state on the pin: its colour, icon, words for screen readers and a tooltip.
  show(state, tooltip, label) {
    const [icon, title] = TITLES[state] ?? ["…", "Checking"];
    this.host.dataset.verdict = state;
    this.pin.className = `pin ${state}`;
    this.pin.textContent = state === "pending" ? "…" : icon;
    this.pin.setAttribute("aria-label", label ?? (state === "pending" ? "Provenance: checking" : `Provenance: ${title}. Show details`));
    this.pin.title = tooltip;
  }

  /// Fetches the image's bytes and judges them.
  async check() {
    const url = this.img.currentSrc || this.img.src;
    if (!url || url === this.url) return;
    // A lazy image is not fetched before the page would fetch it: it is checked once loaded.
    if (this.img.loading === "lazy" && !this.img.complete) return;
    this.url = url;
    this.host.dataset.src = url;
    const generation = ++this.generation;
    this.report = null;
    delete this.host.dataset.state;
    this.show("pending", "Checking this image's provenance…");
    let bytes;
    let name;
    try {
      const response = await fetch(url, { credentials: new URL(url).origin === location.origin ? "same-origin" : "omit" });
      if (!response.ok) throw new Error(`its server answered ${response.status}`);
      name = fileName(url, response.headers.get("content-type"));
      bytes = new Uint8Array(await response.arrayBuffer());
    } catch (e) {
      if (generation !== this.generation) return;
      return this.fail("unreadable", unreadable(url, e));
    }
    let v;
    try {
      v = await loadVerifier();
    } catch (e) {
      if (generation !== this.generation) return;
      return this.fail("no-verifier", `Could not be checked: the provenance verifier did not start (${e?.message ?? e}).`);
    }
    let report;
    try {
      report = await inTurn(async () =>
        generation === this.generation ? JSON.parse(await v.judge(name, bytes, Date.now() / 1000)) : null,
      );
    } catch (e) {
      if (generation !== this.generation) return;
      if (e instanceof v.TooLong) return this.fail("too-long", `Could not be checked: ${e.message}.`);
      return this.fail("error", `Could not be checked: the verifier failed on this image (${e?.message ?? e}).`);
    }
    if (generation !== this.generation || !report) return;
    this.report = report;
    const colour = TITLES[report.verdict] ? report.verdict : "red";
    report.verdict = colour;
    const signer = report.steps?.[0]?.signer;
    const [, title] = TITLES[colour];
    const why = colour === "green" && signer ? `signed by ${signer}` : reasonOf(report);
    this.host.dataset.state = "judged";
    this.show(colour, `${title}: ${clip(why, 200)}. Click for details.`);
  }

  fail(state, why) {
    this.report = { verdict: "grey", reason: why, steps: [], unchecked: true };
    this.host.dataset.state = state;
    this.show("grey", why, `Provenance: ${why}`);
  }

  /// The details card, as a modal dialog (in the top layer: no page element covers it).
  open() {
    this.card?.remove();
    const report = this.report;
    const dialog = el("dialog");
    const card = el("div", null, "card");
    dialog.append(card);
    const colour = report?.verdict ?? "grey";
    const [icon, title] = report?.unchecked
      ? ["?", "Not checked"]
      : report
        ? TITLES[colour]
        : ["…", "Still checking"];
    const head = el("div", null, `verdict ${report ? colour : "grey"}`);
    const words = el("div", null, "words");
    const heading = el("h2", title);
    heading.id = "title";
    dialog.setAttribute("aria-labelledby", "title");
    const reason = report ? reasonOf(report) : "This image's provenance is being checked.";
    words.append(heading, el("p", reason, "reason"));
    const close = el("button", "×", "close");
    close.type = "button";
    close.setAttribute("aria-label", "Close");
    close.addEventListener("click", () => dialog.close());
    head.append(el("span", icon, "icon"), words, close);
    head.firstChild.setAttribute("aria-hidden", "true");
    card.append(head);

    const steps = report?.steps ?? [];
    const newest = steps[0];
    const facts = el("dl", null, "facts");
    const fact = (label, value) => {
      if (value === undefined || value === null || value === "") return;
      facts.append(el("dt", label), el("dd", value));
    };
    if (newest) {
      fact("Signed by", newest.signer);
      fact("Identity issuer", newest.issuer);
      fact("Creator", newest.creator);
      fact("Device", newest.device);
      fact("Trusted time", newest.signed_at);
    }
    if (facts.childElementCount) card.append(facts);
    if (steps.length) {
      card.append(el("h3", "From capture to this file"));
      const timeline = el("ol", null, "timeline");
      timeline.reversed = true;
      for (const step of steps) {
        const item = el("li");
        item.dataset.signer = step.signer ?? "";
        const actions = (step.actions ?? []).join(", ") || "no actions recorded";
        item.append(el("div", `${actions}, by ${step.signer ?? "an unknown signer"}`, "what"));
        const meta = [step.signed_at ? `at ${step.signed_at}` : "time unknown"];
        if (step.title) meta.push(`file ${step.title}`);
        if (step.tool) meta.push(`with ${step.tool}`);
        if (step.device) meta.push(`device ${step.device}`);
        if (step.creator) meta.push(`creator ${step.creator}`);
        if (step.log_index !== undefined && step.log_index !== null) meta.push(`log entry ${step.log_index}`);
        item.append(el("div", meta.join(" · "), "meta"));
        if (step.problem) item.append(el("div", `Problem: ${step.problem}`, "problem"));
        timeline.append(item);
      }
      card.append(timeline);
    }
    const link = el("a", "Check it yourself");
    link.href = ROOT.href;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    card.append(link);

    dialog.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.preventDefault();
        dialog.close();
      }
    });
    // A click on the backdrop (the dialog itself, outside the card) closes it.
    dialog.addEventListener("click", (e) => {
      if (e.target === dialog) dialog.close();
    });
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (this.card === dialog) this.card = null;
      this.pin.focus({ preventScroll: true });
    });
    this.card = dialog;
    this.shadow.append(dialog);
    dialog.showModal();
    close.focus({ preventScroll: true });
  }

  remove() {
    this.generation++;
    this.card?.close();
    this.host.remove();
  }
}

const badges = new Map();

function track(img) {
  let badge = badges.get(img);
  if (!badge) {
    badge = new Badge(img);
    badges.set(img, badge);
    resizes.observe(img);
    // A lazy or responsive image says which file it shows once it has loaded. (Placed with
    // the others, in the next frame: before it is painted.)
    img.addEventListener("load", () => {
      if (badges.get(img) === badge) {
        badge.check();
        layout();
      }
    });
  }
  badge.check();
}

function untrack(img) {
  const badge = badges.get(img);
  if (!badge) return;
  badges.delete(img);
  resizes.unobserve(img);
  badge.remove();
}

let scheduled = false;
/// Puts every pin back over its image's corner, once a frame at most.
function layout() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    const moves = [...badges.values()].map((badge) => badge.measure());
    for (const move of moves) move?.();
  });
}

const resizes = new ResizeObserver(layout);

/// Tracks what the page has now: new images, images that gained or lost the attribute, images
/// that changed their source, and images that went away.
function scan() {
  for (const img of document.querySelectorAll(SELECTOR)) track(img);
  for (const img of [...badges.keys()]) {
    if (!img.isConnected || !img.matches(SELECTOR)) untrack(img);
  }
}

let pending = false;
new MutationObserver((records) => {
  // Our own badges coming and going change nothing.
  const ours = (n) => n.nodeName === "SIG-SHARE-BADGE";
  const relevant = records.some(
    (r) =>
      r.type === "attributes" ||
      [...r.addedNodes, ...r.removedNodes].some((n) => n.nodeType === Node.ELEMENT_NODE && !ours(n)),
  );
  if (!relevant || pending) return;
  pending = true;
  queueMicrotask(() => {
    pending = false;
    scan();
    layout();
  });
}).observe(document.documentElement, {
  childList: true,
  subtree: true,
  attributes: true,
  attributeFilter: ["data-sig-share", "src", "srcset"],
});
addEventListener("resize", layout);
addEventListener("load", layout);
// The page scrolling moves images and pins together; a box scrolling inside it may not.
addEventListener("scroll", (e) => e.target !== document && layout(), { capture: true, passive: true });
scan();
layout();
