#!/usr/bin/env node
// Smoke test and benchmark harness for the browser verification page (issue 6): serves
// interop/browser/page/ and the test files on 127.0.0.1, opens the page in Debian's headless
// Chromium through playwright-core, and there reads every C2PA vector with @contentauth/c2pa-web
// (and, when PROBE_PKG names a wasm-bindgen --target web output, with sig-share's own wasm build
// side by side), then a ~10 MB signed JPEG for the drop-to-verdict time. No request may leave
// 127.0.0.1: Chromium resolves no other host, and any request elsewhere fails the run.
//
//   interop/browser/install.sh                       # once: chromium, playwright-core, c2pa-web
//   node interop/browser/smoke.mjs                   # c2pa-web only
//   PROBE_PKG=DIR node interop/browser/smoke.mjs     # + DIR/probe_web.js, DIR/probe_web_bg.wasm
//
// Environment: SIG_SHARE_VECTORS (default ../shared/vectors beside the checkout; with CI=true
// missing vectors fail the run, else they are skipped loudly), SMOKE_OUT (default
// /tmp/sig-share-browser: the 10 MB JPEG, results.json), SMOKE_SCREENSHOT (default
// $SMOKE_OUT/smoke.png), SMOKE_RUNS (timed reads per file and reader, default 5), SMOKE_BIG (a
// JPEG to time instead of the generated one), SIG_SHARE_C2PA_PYTHON (the interpreter that signs
// the generated JPEG; default: the one interop/c2pa-python/venv.sh prints), CHROMIUM (default
// /usr/bin/chromium).
//
// Exit status: 0 when every reader ran, nothing left 127.0.0.1 and the probe (if given) agrees
// with ../shared/vectors/c2pa/EXPECTED.c2pa-0.90.22.tsv; 1 otherwise.
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const vectors = path.resolve(process.env.SIG_SHARE_VECTORS ?? path.join(repo, '../shared/vectors'));
const out = path.resolve(process.env.SMOKE_OUT ?? path.join(tmpdir(), 'sig-share-browser'));
const screenshot = path.resolve(process.env.SMOKE_SCREENSHOT ?? path.join(out, 'smoke.png'));
const runs = Number(process.env.SMOKE_RUNS ?? 5);
const probePkg = process.env.PROBE_PKG ? path.resolve(process.env.PROBE_PKG) : null;
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
mkdirSync(out, { recursive: true });

const c2paDir = path.join(vectors, 'c2pa');
const expectedFile = path.join(c2paDir, 'EXPECTED.c2pa-0.90.22.tsv');
if (!existsSync(expectedFile)) {
  const msg = `C2PA vectors not found at ${c2paDir} (set SIG_SHARE_VECTORS)`;
  if (process.env.CI === 'true') { console.error(`FAIL: ${msg}`); process.exit(1); }
  console.error(`SKIPPING the vector reads: ${msg}`);
}

// ---- the server: a few read-only mounts and one upload route, 127.0.0.1 only ----
const mounts = [
  ['/node_modules/', path.join(here, 'node_modules')],
  ['/vectors/', vectors],
  ['/out/', out],
  ...(probePkg ? [['/probe/', probePkg]] : []),
  ['/', path.join(here, 'page')],
];
const types = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json',
  '.wasm': 'application/wasm', '.css': 'text/css', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png',
  '.pem': 'application/x-pem-file', '.txt': 'text/plain',
};
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  const pathname = decodeURIComponent(url.pathname);
  if (req.method === 'POST' && pathname.startsWith('/upload/')) {
    const name = pathname.slice('/upload/'.length);
    if (!/^[\w.-]+$/.test(name)) { res.writeHead(400).end(); return; }
    const file = createWriteStream(path.join(out, name));
    req.pipe(file).on('finish', () => res.writeHead(204).end());
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') { res.writeHead(405).end(); return; }
  for (const [prefix, dir] of mounts) {
    if (!pathname.startsWith(prefix)) continue;
    const file = path.resolve(dir, '.' + pathname.slice(prefix.length - 1));
    if (file !== dir && !file.startsWith(dir + path.sep)) break;
    let target = file;
    try { if (statSync(target).isDirectory()) target = path.join(target, 'index.html'); } catch { break; }
    if (!existsSync(target)) break;
    res.writeHead(200, { 'content-type': types[path.extname(target).toLowerCase()] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    if (req.method === 'HEAD') { res.end(); return; }
    createReadStream(target).pipe(res);
    return;
  }
  res.writeHead(404).end();
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${server.address().port}`;

// ---- the browser ----
const userDataDir = mkdtempSync(path.join(tmpdir(), 'sig-share-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  headless: true,
  viewport: { width: 1280, height: 900 },
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    // Nothing but the harness resolves: a request to any other host fails at once.
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
  ],
});
const offsite = [];
context.on('request', (r) => {
  const u = r.url();
  if (!(u.startsWith(origin + '/') || u.startsWith('blob:') || u.startsWith('data:'))) offsite.push(u);
});
let failed = false;
const fail = (msg) => { failed = true; console.error(`FAIL: ${msg}`); };

try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => { if (m.type() === 'error') console.error(`[page] ${m.text()}`); });
  page.on('pageerror', (e) => fail(`page error: ${e.message}`));
  await page.goto(`${origin}/index.html`);
  await page.waitForFunction(() => window.harnessReady === true);
  console.log(`chromium ${context.browser()?.version() ?? '(persistent context)'}; harness at ${origin}`);

  const init = { 'c2pa-web': await page.evaluate(() => window.harness.initC2paWeb()) };
  const readers = ['c2pa-web'];
  if (probePkg) {
    init.probe = await page.evaluate(() => window.harness.initProbe());
    readers.push('probe');
  }
  for (const [r, v] of Object.entries(init)) console.log(`init ${r}: ${v.ms} ms (wasm fetch + compile + instantiate${r === 'c2pa-web' ? ' + worker start' : ''})`);

  const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; return Math.round(m * 100) / 100; };
  const mimeOf = (f) => ({
    jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', tif: 'image/tiff', mov: 'video/quicktime', mp4: 'video/mp4',
    avif: 'image/avif', gif: 'image/gif', mp3: 'audio/mpeg', wav: 'audio/wav', webp: 'image/webp', svg: 'image/svg+xml',
  })[path.extname(f).slice(1).toLowerCase()];
  // Codes shown once each (c2pa repeats a code per manifest); results.json keeps them all.
  const verdictText = (v) => (v ? `${v.state}${v.codes?.length ? ' ' + JSON.stringify([...new Set(v.codes)]) : ''}${v.error ? ' (' + v.error + ')' : ''}` : '-');
  // EXPECTED tsv: "state=Valid ... status=[...]" or "ERROR no JUMBF data found" (= no manifest).
  const expectedOf = (line) => {
    const [, rest] = line.split('\t');
    if (rest.startsWith('ERROR no JUMBF')) return { state: 'none', codes: [] };
    if (rest.startsWith('ERROR')) return { state: 'error', codes: [] };
    const state = /state=(\w+)/.exec(line)[1];
    const codes = JSON.parse(/status=(\[.*\])/.exec(line)[1]);
    return { state, codes };
  };
  const same = (v, e) => v && v.state === e.state && (e.state === 'error' || JSON.stringify([...new Set(v.codes)].sort()) === JSON.stringify([...new Set(e.codes)].sort()));

  const results = { chromium: context.browser()?.version(), init, files: [], big: null, offsite };
  const header = ['file', 'bytes', 'expected (0.90.22, trust off)', ...readers.flatMap((r) => [`${r} verdict`, `${r} median ms`, `${r} first ms`]), ...readers.map((r) => `${r} w/ C2PA trust list`)];
  const rows = [];
  if (existsSync(expectedFile)) {
    const trustList = readFileSync(path.join(c2paDir, 'trust-lists/C2PA-TRUST-LIST.pem'), 'utf8');
    for (const line of readFileSync(expectedFile, 'utf8').split('\n').filter(Boolean)) {
      const rel = line.split('\t')[0];
      const expected = expectedOf(line);
      const r = await page.evaluate(([u, m, n, rs]) => window.harness.read(u, m, { verifyTrust: false }, n, rs), [`/vectors/c2pa/${rel}`, mimeOf(rel), runs, readers]);
      const trusted = await page.evaluate(([u, m, a, rs]) => window.harness.read(u, m, { verifyTrust: true, anchors: a }, 1, rs), [`/vectors/c2pa/${rel}`, mimeOf(rel), trustList, readers]);
      const row = [rel, r.bytes, verdictText(expected)];
      const rec = { file: rel, bytes: r.bytes, expected };
      for (const rd of readers) {
        const v = r[rd];
        row.push(verdictText(v) + (same(v, expected) ? '' : '  <- differs'), median(v.times.slice(1).length ? v.times.slice(1) : v.times), v.times[0]);
        rec[rd] = { ...v, median_ms: median(v.times.slice(1).length ? v.times.slice(1) : v.times), agrees: same(v, expected), with_c2pa_trust_list: trusted[rd] };
        if (rd === 'probe' && !same(v, expected)) fail(`probe on ${rel}: ${verdictText(v)}, expected ${verdictText(expected)}`);
      }
      for (const rd of readers) row.push(verdictText(trusted[rd]));
      rows.push(row);
      results.files.push(rec);
    }
  }

  // ---- the ~10 MB JPEG: generated by Chromium's JPEG encoder, signed by c2pa-python ----
  let big = process.env.SMOKE_BIG ? path.resolve(process.env.SMOKE_BIG) : path.join(out, 'big-10mb.signed.jpg');
  let bigAnchors = existsSync(big + '.ca.pem') ? readFileSync(big + '.ca.pem', 'utf8') : null;
  if (!existsSync(big)) {
    const made = await page.evaluate(() => window.harness.makeNoiseJpeg(10_000_000, 'big-10mb.unsigned.jpg'));
    console.log(`made big-10mb.unsigned.jpg: ${made.width}x${made.height} noise, ${made.bytes} bytes (Chromium's JPEG encoder, quality 0.9)`);
    try {
      const py = process.env.SIG_SHARE_C2PA_PYTHON ?? execFileSync(path.join(repo, 'interop/c2pa-python/venv.sh'), { cwd: repo, encoding: 'utf8' }).trim();
      execFileSync(py, [path.join(here, 'sign-jpeg.py'), path.join(out, 'big-10mb.unsigned.jpg'), big], { stdio: 'inherit' });
      bigAnchors = readFileSync(big + '.ca.pem', 'utf8');
    } catch (e) {
      console.error(`could not sign the big JPEG (${e.message}); timing the unsigned one (no manifest: not a drop-to-verdict figure)`);
      big = path.join(out, 'big-10mb.unsigned.jpg');
    }
  }
  const bigUrl = big.startsWith(out + path.sep) ? `/out/${path.relative(out, big)}` : null;
  if (!bigUrl) fail(`SMOKE_BIG must be under SMOKE_OUT (${out})`);
  else {
    const settings = bigAnchors ? { verifyTrust: true, anchors: bigAnchors } : { verifyTrust: false };
    const r = await page.evaluate(([u, s, n, rs]) => window.harness.read(u, 'image/jpeg', s, n, rs), [bigUrl, settings, runs, readers]);
    const row = [path.basename(big) + (bigAnchors ? ' (its CA as anchor)' : ''), r.bytes, bigAnchors ? 'Trusted' : '-'];
    results.big = { file: big, bytes: r.bytes };
    for (const rd of readers) {
      const v = r[rd];
      const med = median(v.times.slice(1).length ? v.times.slice(1) : v.times);
      row.push(verdictText(v), med, v.times[0]);
      results.big[rd] = { ...v, median_ms: med };
      if (v.state === 'error') fail(`${rd} on the big JPEG: ${v.error}`);
    }
    for (const rd of readers) row.push('');
    rows.push(row);
  }

  // ---- the probe's sig-share-verify side: a trusted root and a conformance bundle ----
  if (probePkg && existsSync(path.join(vectors, 'sigstore-conformance'))) {
    results.verify = {
      trusted_root: await page.evaluate(() => window.harness.probeTrustedRoot('/vectors/sigstore-conformance/trust/public-good.trusted_root.json')),
      bundle: await page.evaluate(() => window.harness.probeVerifyBundle(
        '/vectors/sigstore-conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json',
        '/vectors/sigstore-conformance/bundle-verify/a.txt',
        '/vectors/sigstore-conformance/trust/public-good.trusted_root.json',
        'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main',
        'https://token.actions.githubusercontent.com')),
    };
    console.log(`probe sig-share-verify: trusted root ${JSON.stringify(results.verify.trusted_root)}; happy-path-v0.3 bundle ${JSON.stringify(results.verify.bundle)}`);
    if (results.verify.trusted_root.error || !results.verify.bundle.verified) fail('probe: sig-share-verify did not verify the conformance happy path');
  }

  if (offsite.length) fail(`requests left 127.0.0.1: ${offsite.join(', ')}`);
  const status = `${results.files.length} vectors, ${runs} runs each; init ${Object.entries(init).map(([r, v]) => `${r} ${v.ms} ms`).join(', ')}; requests off 127.0.0.1: ${offsite.length}`;
  await page.evaluate(([rs, h, s]) => window.harness.show(rs, h, s), [rows, header, status]);
  await page.screenshot({ path: screenshot, fullPage: true });

  const widths = header.map((h, i) => Math.min(60, Math.max(h.length, ...rows.map((r) => String(r[i]).length))));
  const fmt = (r) => r.map((c, i) => String(c).slice(0, 60).padEnd(widths[i])).join('  ');
  console.log(fmt(header));
  for (const r of rows) console.log(fmt(r));
  console.log(status);
  writeFileSync(path.join(out, 'results.json'), JSON.stringify(results, null, 2));
  console.log(`screenshot: ${screenshot}\nresults: ${path.join(out, 'results.json')}`);
} catch (e) {
  fail(e.stack ?? String(e));
} finally {
  await context.close();
  server.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
console.log(failed ? 'smoke: FAILED' : 'smoke: ok');
process.exit(failed ? 1 : 0);
