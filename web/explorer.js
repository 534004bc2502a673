// The log explorer: the current checkpoint, an entry by index, the entries and statements for a
// digest, and the certificates issued to an identity. Log answers are checked by the same
// WebAssembly verifier as the verification page before they are shown, and shown as text only.

import init, { Verifier } from "/web/pkg/sig_share_web.js";
import { readPages, verifiedFirst } from "/web/log.js";
import { fetchTrust } from "/web/verifier-worker.js";

const $ = (id) => document.getElementById(id);
const now = () => Date.now() / 1000;

const verifier = (async () => {
  const [, { config, policy }] = await Promise.all([init(), fetchTrust(new URL("/", location.href))]);
  return new Verifier(config, "", policy);
})();

function item(text, ok) {
  const li = document.createElement("li");
  li.textContent = text;
  if (ok === false) li.className = "problem";
  li.dataset.verified = String(ok);
  return li;
}

async function getJson(path) {
  const r = await fetch(path);
  const body = await r.json().catch(() => ({}));
  return { ok: r.ok, status: r.status, body };
}

function describe(checked) {
  if (!checked.verified) return `not verified: ${checked.reason}`;
  const what = checked.statement ? (checked.statement.predicate?.actions ?? []).join(", ") : `signed sha256:${checked.sha256 ?? "…"}`;
  return `entry ${checked.log_index}: ${what}, by ${checked.identity} (${checked.issuer}) at ${checked.signed_at}; inclusion proof checked`;
}

async function showCheckpoint() {
  const v = await verifier;
  const text = await fetch("/api/v2/checkpoint").then((r) => r.text());
  const c = JSON.parse(v.check_checkpoint(text, now()));
  const facts = $("checkpoint");
  facts.replaceChildren();
  const fact = (k, val) => {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = String(val);
    facts.append(dt, dd);
  };
  facts.dataset.verified = String(c.verified);
  if (!c.verified) {
    fact("Not verified", c.reason);
    return;
  }
  fact("Log", c.origin);
  fact("Entries", c.size);
  fact("Root hash", c.root);
  fact("Witnesses", c.witnessed ?? "none required by this deployment");
  $("checkpoint-signatures").replaceChildren(
    ...c.signatures.map((s) => item(`signed by ${s.name} (key ${s.key_id})${s.trusted ? ": the log's key, verified" : c.witnessed ? ": a cosignature, counted above if its witness is in the policy" : ": another signer, not checked"}`, s.trusted)),
  );
}

$("entry-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const index = $("entry-index").value.trim();
  const v = await verifier;
  const { ok, body } = await getJson(`/api/v1/log/entries/${encodeURIComponent(index)}`);
  if (!ok) {
    $("entry").replaceChildren(item(body.message ?? "not found", false));
    return;
  }
  const checked = JSON.parse(v.check_log_entry(JSON.stringify(body), now()));
  $("entry").replaceChildren(item(describe(checked), checked.verified));
});

$("digest-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const digest = $("digest").value.trim().toLowerCase();
  const v = await verifier;
  const [index, statements] = await Promise.all([
    readPages(`/api/v1/index/sha256:${digest}`),
    readPages(`/api/v1/statements/subject/sha256:${digest}`),
  ]);
  const checked = verifiedFirst([
    ...statements.entries.map((s) => JSON.parse(v.check_statement(JSON.stringify(s), now()))),
    ...index.entries.map((en) => ({ ...JSON.parse(v.check_entry(JSON.stringify(en), digest, now())), sha256: digest })),
  ]);
  const items = checked.length ? checked.map((c) => item(describe(c), c.verified)) : [item("the log knows nothing about these bytes", undefined)];
  if (index.partial || statements.partial) {
    const more = item("partial: the log lists more entries for these bytes than were read", undefined);
    more.dataset.partial = "true";
    items.push(more);
  }
  $("digest-entries").replaceChildren(...items);
});

$("identity-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const identity = $("identity").value.trim();
  const { ok, body } = await getJson(`/ctlog/api/v1/certificates?identity=${encodeURIComponent(identity)}`);
  if (!ok) {
    $("certificates").replaceChildren(item(body.message ?? "the certificate log refused the lookup", false));
    return;
  }
  const certs = body.certificates ?? [];
  $("certificates").replaceChildren(
    ...(certs.length
      ? certs.map((c) => item(`certificate-log entry ${c.logIndex}: ${c.identity} (${c.issuer}), serial ${c.serialNumber}, valid ${c.notBefore} to ${c.notAfter}`, undefined))
      : [item("no certificates issued to this identity", undefined)]),
  );
});

verifier
  .then(() => showCheckpoint())
  .then(() => $("status").textContent = "Ready.")
  .catch((e) => ($("status").textContent = `The verifier could not start: ${e.message ?? e}`));
