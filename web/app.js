// The verification page. The verdict comes from sig-share's own verifier compiled to
// WebAssembly (crates/web), which judges the file exactly as `sig-share provenance --json` does,
// against this deployment's published trust config. The page only renders what it says, and
// only with textContent: a manifest is written by whoever made the file, so nothing it says is
// ever parsed as HTML.
//
// The verifier runs in a Web Worker with a time budget (web/verifier-worker.js): a file built to
// stall a C2PA reader ends as "took too long to check", and the page stays responsive meanwhile.
// `?budget=SECONDS` sets the base budget (default 10 s, plus 1 s per 8 MiB).

import { WorkerVerifier, TooLong, budgetMs, fetchTrust } from "/web/verifier-worker.js";
import { readPages, verifiedFirst } from "/web/log.js";

const $ = (id) => document.getElementById(id);

const TITLES = {
  green: ["✔", "Verified"],
  amber: ["!", "Verified, with caveats"],
  red: ["✖", "Not verified"],
  grey: ["?", "No provenance found"],
};
const NOT_CHECKED = ["⏱", "Not checked: it took too long"];

const BASE_SECONDS = (() => {
  const asked = Number(new URLSearchParams(location.search).get("budget"));
  return Number.isFinite(asked) && asked > 0 ? asked : undefined;
})();

// The page works before the module arrives: a file chosen early waits for it.
const verifier = (async () => {
  const { config, policy } = await fetchTrust(new URL("/", location.href));
  const v = new WorkerVerifier(config, { policy });
  await v.start();
  return v;
})();
verifier.then(
  () => status("Ready. Nothing is uploaded: the check runs on this device."),
  (e) => status(`The verifier could not start: ${e.message ?? e}`),
);

function status(text) {
  $("status").textContent = text;
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function fact(label, value) {
  if (value === undefined || value === null || value === "") return;
  $("facts").append(el("dt", label), el("dd", value));
}

/// The last word of an IPTC digital source type URI, as people say it.
function sourceType(uri) {
  if (!uri) return null;
  const name = String(uri).split("/").pop();
  return name.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
}

function render(report, logFindings) {
  const colour = report.verdict ?? "red";
  const [icon, title] = report.unchecked ? NOT_CHECKED : (TITLES[colour] ?? TITLES.red);
  const verdict = $("verdict");
  verdict.className = `verdict ${colour}`;
  verdict.dataset.verdict = colour;
  if (report.unchecked) verdict.dataset.state = "too-long";
  else delete verdict.dataset.state;
  $("verdict-icon").textContent = icon;
  $("verdict-title").textContent = title;
  const reason = report.reason ?? (report.caveats?.length ? report.caveats.join("; ") : "Every step checks out.");
  $("verdict-reason").textContent = reason;

  $("facts").replaceChildren();
  const steps = report.steps ?? [];
  const newest = steps[0];
  if (newest) {
    fact("Signed by", newest.signer);
    fact("Identity issuer", newest.issuer);
    fact("Creator", newest.creator);
    fact("Device", newest.device);
    fact("Trusted time", newest.signed_at);
    fact("Source", sourceType(newest.digital_source_type));
  }
  if (report.c2pa) fact("C2PA validation", report.c2pa.state);

  const timeline = $("timeline");
  timeline.replaceChildren();
  for (const step of steps) {
    const item = el("li");
    item.dataset.signer = step.signer ?? "";
    // Only the verifier's data URLs (a JPEG, PNG or WebP it read from the claim) become images.
    if (typeof step.thumbnail === "string" && /^data:image\/(jpeg|png|webp);base64,/.test(step.thumbnail)) {
      const img = el("img", null, "thumb");
      img.src = step.thumbnail;
      img.alt = `thumbnail recorded by step ${step.manifest ?? ""}`;
      item.append(img);
    }
    const actions = (step.actions ?? []).join(", ") || "no actions recorded";
    item.append(el("div", `${actions}, by ${step.signer ?? "an unknown signer"}`, "what"));
    const meta = [step.signed_at ? `at ${step.signed_at}` : "time unknown"];
    if (step.title) meta.push(`file ${step.title}`);
    if (step.tool) meta.push(`with ${step.tool}`);
    if (step.device) meta.push(`device ${step.device}`);
    if (step.creator) meta.push(`creator ${step.creator}`);
    item.append(el("div", meta.join(" · "), "meta"));
    if (step.log_index !== undefined && step.log_index !== null) {
      const where = step.found_in === "log" ? "not in the file: found in the log" : "in the file";
      const witnessed = step.witnessed ? `, ${step.witnessed}` : "";
      item.append(el("div", `log entry ${step.log_index}, inclusion proof checked against a signed checkpoint${witnessed} (${where})`, "meta"));
    }
    if (step.problem) item.append(el("div", `Problem: ${step.problem}`, "problem"));
    timeline.append(item);
  }
  $("timeline-title").hidden = steps.length === 0;

  const found = logFindings ?? [];
  $("log-found").hidden = found.length === 0;
  const items = found.map((f) => {
    if (!f.verified) return el("li", `An entry that does not verify: ${f.reason}`, "problem");
    const what = f.statement ? (f.statement.predicate?.actions ?? []).join(", ") : "signed these bytes";
    return el("li", `Log entry ${f.log_index}: ${what}, by ${f.identity} at ${f.signed_at}`);
  });
  if (found.partial) {
    const more = el("li", "Partial: the log lists more entries for these bytes than were read.", "meta");
    more.dataset.partial = "true";
    items.push(more);
  }
  $("log-entries").replaceChildren(...items);

  $("raw").textContent = JSON.stringify({ report, log: found }, null, 2);
  $("result").hidden = false;
  verdict.focus();
}

/// For a file without a manifest: what the log knows about its exact bytes. Only the digest
/// leaves the device, and every answer is checked before it is shown. The lookups are paged
/// (anyone can log junk under a digest), so every page is read up to a budget, the entries
/// that verify are shown first, and a list cut short says so.
async function askTheLog(v, bytes, budget) {
  const digest = await v.call("sha256_hex", [bytes], budget);
  const now = Date.now() / 1000;
  const [index, statements] = await Promise.all([
    readPages(`/api/v1/index/sha256:${digest}`),
    readPages(`/api/v1/statements/subject/sha256:${digest}`),
  ]);
  const check = async (method, args) => JSON.parse(await v.call(method, args, budget));
  const entries = await Promise.all(index.entries.map((e) => check("check_entry", [JSON.stringify(e), digest, now])));
  const kept = await Promise.all(statements.entries.map((s) => check("check_statement", [JSON.stringify(s), now])));
  const found = verifiedFirst([...kept, ...entries]);
  found.partial = index.partial || statements.partial;
  return found;
}

async function check(file) {
  $("result").hidden = true;
  status(`Checking ${file.name}…`);
  const started = performance.now();
  const v = await verifier;
  const bytes = new Uint8Array(await file.arrayBuffer());
  const budget = budgetMs(bytes.length, BASE_SECONDS);
  let report;
  let log = [];
  try {
    report = JSON.parse(await v.call("judge", [file.name, bytes, Date.now() / 1000], budget));
    if (report.verdict === "grey") {
      status(`No manifest in ${file.name}: asking the log about its digest…`);
      log = await askTheLog(v, bytes, budget);
    }
  } catch (e) {
    if (!(e instanceof TooLong)) throw e;
    report ??= { file: file.name, verified: false, verdict: "grey", steps: [] };
    report.unchecked = true;
    report.verdict = "grey";
    report.reason = `${e.message[0].toUpperCase()}${e.message.slice(1)}: a file built to stall a verifier does this. Nothing about its provenance is known.`;
  }
  const ms = Math.round(performance.now() - started);
  render(report, log);
  document.body.dataset.checked = file.name;
  document.body.dataset.ms = String(ms);
  status(
    report.unchecked
      ? `Stopped checking ${file.name} after ${ms} ms: it took too long.`
      : `Checked ${file.name} in ${ms} ms, on this device.`,
  );
}

function checkSafely(file) {
  check(file).catch((e) => status(`Could not check ${file.name}: ${e.message ?? e}`));
}

$("file").addEventListener("change", (e) => {
  const file = e.target.files?.[0];
  if (file) checkSafely(file);
});
const drop = $("drop");
drop.addEventListener("dragover", (e) => {
  e.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  const file = e.dataTransfer?.files?.[0];
  if (file) checkSafely(file);
});
