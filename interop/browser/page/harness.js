// The page side of smoke.mjs: reads files served by the harness with @contentauth/c2pa-web and,
// when one is served under /probe/, with sig-share's own wasm probe; smoke.mjs drives it.
// Timing is drop-to-verdict: from a Blob already in memory (what a drop or a file input gives)
// to the validation state, excluding the HTTP fetch that stands in for the drop.
import { createC2pa } from '/node_modules/@contentauth/c2pa-web/dist/index.js';

let c2paWeb = null;
let probe = null;

function ms(t0) { return Math.round((performance.now() - t0) * 100) / 100; }

async function blobOf(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return await r.blob();
}

// c2pa-web's Settings are camelCase and turned into c2pa-rs' snake_case keys; a trust-anchor
// string that does not start with "http" is taken as PEM text (no fetch).
function webSettings(s) {
  const out = { verify: { verifyTrust: s.verifyTrust, remoteManifestFetch: false, ocspFetch: false } };
  if (s.anchors) out.trust = { trustAnchors: s.anchors };
  return out;
}
function rustSettings(s) {
  const out = { verify: { verify_trust: s.verifyTrust, remote_manifest_fetch: false, ocsp_fetch: false } };
  if (s.anchors) out.trust = { trust_anchors: s.anchors };
  return JSON.stringify(out);
}

function codesOf(store) {
  const codes = [];
  for (const s of store?.validation_status ?? []) codes.push(s.code);
  return codes;
}

window.harness = {
  async initC2paWeb() {
    const t0 = performance.now();
    c2paWeb = await createC2pa({ wasmSrc: '/node_modules/@contentauth/c2pa-web/dist/resources/c2pa_bg.wasm' });
    return { ms: ms(t0) };
  },

  async initProbe() {
    const t0 = performance.now();
    const mod = await import('/probe/probe_web.js');
    await mod.default({ module_or_path: '/probe/probe_web_bg.wasm' });
    probe = mod;
    return { ms: ms(t0) };
  },

  // One read of url with each reader `runs` times; returns the verdicts and every timing.
  async read(url, mime, settings, runs, readers) {
    const blob = await blobOf(url);
    const out = { url, bytes: blob.size };
    if (readers.includes('c2pa-web')) {
      const times = [];
      let verdict;
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        try {
          const reader = await c2paWeb.reader.fromBlob(mime, blob, webSettings(settings));
          if (reader === null) {
            verdict = { state: 'none', codes: [], manifests: 0 };
          } else {
            const store = await reader.manifestStore();
            verdict = { state: store.validation_state, codes: codesOf(store), manifests: Object.keys(store.manifests ?? {}).length };
            await reader.free();
          }
        } catch (e) {
          verdict = { state: 'error', error: String(e?.message ?? e) };
        }
        times.push(ms(t0));
      }
      out['c2pa-web'] = { ...verdict, times };
    }
    if (readers.includes('probe') && probe) {
      const times = [];
      let verdict;
      const settingsJson = rustSettings(settings);
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        const bytes = new Uint8Array(await blob.arrayBuffer());
        const r = JSON.parse(probe.read_c2pa(mime, bytes, settingsJson));
        times.push(ms(t0));
        if (r.error !== undefined) {
          verdict = /no JUMBF data found|JumbfNotFound/i.test(r.error) ? { state: 'none', codes: [], manifests: 0 } : { state: 'error', error: r.error };
        } else {
          verdict = { state: r.state, codes: r.status, manifests: r.manifests };
        }
      }
      out.probe = { ...verdict, times };
    }
    return out;
  },

  async probeTrustedRoot(url) {
    const text = await (await fetch(url)).text();
    return JSON.parse(probe.trusted_root_summary(text));
  },

  async probeVerifyBundle(bundleUrl, artifactUrl, rootUrl, identity, issuer) {
    const [b, a, r] = await Promise.all([bundleUrl, artifactUrl, rootUrl].map((u) => fetch(u)));
    const t0 = performance.now();
    const res = JSON.parse(probe.verify_bundle(new Uint8Array(await b.arrayBuffer()), new Uint8Array(await a.arrayBuffer()),
      await r.text(), identity, issuer, BigInt(Math.floor(Date.now() / 1000))));
    return { ...res, ms: ms(t0) };
  },

  // A JPEG of about targetBytes: random noise drawn on a canvas, encoded by Chromium, posted back
  // to the harness's server (which saves it under the output directory).
  async makeNoiseJpeg(targetBytes, name) {
    const encode = async (w, h) => {
      const c = new OffscreenCanvas(w, h);
      const ctx = c.getContext('2d');
      const img = ctx.createImageData(w, h);
      for (let off = 0; off < img.data.length; off += 65536) crypto.getRandomValues(img.data.subarray(off, Math.min(off + 65536, img.data.length)));
      for (let i = 3; i < img.data.length; i += 4) img.data[i] = 255;
      ctx.putImageData(img, 0, 0);
      return await c.convertToBlob({ type: 'image/jpeg', quality: 0.9 });
    };
    const sample = await encode(1000, 750);
    const perPixel = sample.size / (1000 * 750);
    let w = Math.round(Math.sqrt(targetBytes / perPixel * 4 / 3));
    let h = Math.round(w * 3 / 4);
    const blob = await encode(w, h);
    const r = await fetch(`/upload/${encodeURIComponent(name)}`, { method: 'POST', body: blob });
    if (!r.ok) throw new Error(`upload: ${r.status}`);
    return { width: w, height: h, bytes: blob.size };
  },

  show(rows, header, status) {
    document.getElementById('status').textContent = status;
    const thead = document.querySelector('#results thead');
    const tbody = document.querySelector('#results tbody');
    thead.replaceChildren();
    tbody.replaceChildren();
    const hr = document.createElement('tr');
    for (const h of header) { const th = document.createElement('th'); th.textContent = h; hr.append(th); }
    thead.append(hr);
    for (const row of rows) {
      const tr = document.createElement('tr');
      for (const cell of row) {
        const td = document.createElement('td');
        td.textContent = String(cell);
        if (typeof cell === 'number') td.className = 'num';
        else if (/^(Valid|Trusted|Invalid|none|error)/.test(String(cell))) td.className = String(cell).split(/[ (]/)[0];
        tr.append(td);
      }
      tbody.append(tr);
    }
  },
};

document.getElementById('status').textContent = 'ready';
window.harnessReady = true;
