// Reading the log's lookups by digest, which answer a page at a time in log order: anyone can log
// entries under any digest with a throwaway key, so a genuine one may sit behind pages of junk.
// Reads on up to a budget and says when the list was longer than what was read.

/// The items of a paged lookup (`path`, e.g. `/api/v1/index/sha256:…`), at most `budget`:
/// `{ entries, partial }`, where `partial` says the log had more, or a later page could not be
/// read.
export async function readPages(path, budget = 1000) {
  const entries = [];
  let after = null;
  for (;;) {
    const url = after === null ? path : `${path}?after=${encodeURIComponent(after)}`;
    const r = await fetch(url).catch(() => null);
    if (!r || !r.ok) return { entries, partial: after !== null };
    const page = await r.json().catch(() => ({}));
    const items = page.entries ?? [];
    const room = budget - entries.length;
    entries.push(...items.slice(0, room));
    // A cursor must move forward, or a hostile log could keep the page here forever.
    const next = page.next ?? null;
    const forward = next !== null && items.length > 0 && (after === null || BigInt(next) > BigInt(after));
    if (items.length > room) return { entries, partial: true };
    if (!forward) return { entries, partial: false };
    if (entries.length >= budget) return { entries, partial: true };
    after = next;
  }
}

/// Verified first, keeping log order within each: what a throwaway key logged never hides a
/// genuine signer.
export function verifiedFirst(checked) {
  return [...checked.filter((c) => c.verified), ...checked.filter((c) => !c.verified)];
}
