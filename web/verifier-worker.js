// The verifier off the main thread. A C2PA reader cannot be interrupted, and a file built to
// stall it (sig-share refuses the shapes known to, but there may be others) would freeze the
// visitor's tab: so the page and the badge run the verifier (crates/web, WebAssembly) in a Web
// Worker, give every call a time budget, and terminate the worker when it runs out. The next call
// starts a fresh one.
//
// This one file is both sides: loaded as a worker it answers calls; imported by a page it
// exports WorkerVerifier, the page's handle on such a worker.

/// The verifier's methods a page may call (Verifier's, and sha256_hex).
const METHODS = ["judge", "check_entry", "check_statement", "check_checkpoint", "check_log_entry", "sha256_hex"];

/// Time for starting a worker: fetching and compiling the verifier, reading the trust config.
const START_MS = 60_000;

/// The budget for checking a file of `size` bytes: `baseSeconds` (10 unless the page says
/// otherwise: a real photo takes well under one, a slow phone several) plus one second per
/// 8 MiB, since reading hashes every byte.
export function budgetMs(size, baseSeconds = 10) {
  return Math.round(baseSeconds * 1000 + (size / (8 * 1024 * 1024)) * 1000);
}

/// A call that ran out of time; `ms` is the budget it had.
export class TooLong extends Error {
  constructor(ms) {
    super(`this file took too long to check (over ${(ms / 1000).toFixed(1)} s), so the check was stopped`);
    this.name = "TooLong";
    this.ms = ms;
  }
}

/// The trust material of the deployment at `root` (its URL, ending in "/"): its trust config
/// (JSON text) and its witness policy (C2SP tlog-policy text; "" when it publishes none, a 404).
/// Any other failure fails: a policy that exists must never be skipped because it did not load.
export async function fetchTrust(root, init = {}) {
  const get = async (path, what, absentOk) => {
    const r = await fetch(new URL(path, root), init);
    if (absentOk && r.status === 404) return "";
    if (!r.ok) throw new Error(`${what} could not be fetched (${r.status})`);
    return r.text();
  };
  const [config, policy] = await Promise.all([
    get(".well-known/sig-share/trust-config.json", "the trust config", false),
    get("api/v1/witness-policy", "the witness policy", true),
  ]);
  return { config, policy };
}

/// A verifier in a worker, started on first use and again after a call that ran out of time.
export class WorkerVerifier {
  /// `config`: the deployment's trust config (JSON text); `policy`: its witness policy ("" for none).
  constructor(config, { worker = import.meta.url, pkg = new URL("pkg/sig_share_web.js", import.meta.url).href, policy = "" } = {}) {
    this.config = config;
    this.policy = policy;
    this.workerUrl = String(worker);
    this.pkg = String(pkg);
    this.worker = null;
    this.started = null;
    this.next = 0;
    this.waiting = new Map();
  }

  /// Starts the worker (if it is not running) and waits until its verifier is ready.
  start() {
    if (this.started) return this.started;
    this.worker = spawn(this.workerUrl);
    this.worker.onmessage = ({ data }) => {
      const call = this.waiting.get(data?.id);
      if (!call) return;
      this.waiting.delete(data.id);
      clearTimeout(call.timer);
      if ("error" in data) call.reject(new Error(data.error));
      else call.resolve(data.result);
    };
    this.worker.onerror = (e) => {
      e.preventDefault?.();
      this.stop(new Error(`the verifier stopped: ${e.message ?? "an error"}`));
    };
    this.started = this.send("start", [this.config, this.pkg, this.policy], START_MS);
    this.started.catch(() => this.stop());
    return this.started;
  }

  /// Calls `method` with `args` in the worker, giving up (and ending the worker) after `ms`.
  async call(method, args, ms) {
    await this.start();
    return this.send(method, args, ms);
  }

  send(method, args, ms) {
    const id = ++this.next;
    const worker = this.worker;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        // The only way to stop a computation in a worker is to end the worker.
        if (this.worker === worker) this.stop(new TooLong(ms));
        reject(new TooLong(ms));
      }, ms);
      this.waiting.set(id, { resolve, reject, timer });
      worker.postMessage({ id, method, args });
    });
  }

  /// Ends the worker, failing the calls still waiting with `why`.
  stop(why = new Error("the verifier was stopped")) {
    this.worker?.terminate();
    this.worker = null;
    this.started = null;
    for (const [id, call] of this.waiting) {
      clearTimeout(call.timer);
      call.reject(why);
      this.waiting.delete(id);
    }
  }
}

/// A module worker running `url`. A worker's script must have the page's origin, so one from
/// elsewhere (the badge's deployment, on a page of another origin) is started from a same-origin
/// blob that imports it (the deployment serves it with Access-Control-Allow-Origin).
function spawn(url) {
  if (new URL(url).origin === location.origin) return new Worker(url, { type: "module" });
  const blob = new Blob([`import ${JSON.stringify(url)};\n`], { type: "text/javascript" });
  const local = URL.createObjectURL(blob);
  try {
    return new Worker(local, { type: "module" });
  } finally {
    // The worker has its own reference once created.
    setTimeout(() => URL.revokeObjectURL(local), 60_000);
  }
}

// The worker's side: answers {id, method, args} with {id, result} or {id, error}.
if (typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope) {
  let verifier = null;
  let sha256 = null;
  self.onmessage = async ({ data }) => {
    const { id, method, args } = data ?? {};
    try {
      let result = null;
      if (method === "start") {
        const [config, pkg, policy] = args;
        const wasm = await import(pkg);
        await wasm.default({ module_or_path: new URL("sig_share_web_bg.wasm", pkg) });
        verifier = new wasm.Verifier(config, "", policy ?? "");
        sha256 = wasm.sha256_hex;
      } else if (!METHODS.includes(method)) {
        throw new Error(`no such method: ${method}`);
      } else if (!verifier) {
        throw new Error("the verifier has not started");
      } else {
        result = method === "sha256_hex" ? sha256(...args) : verifier[method](...args);
      }
      self.postMessage({ id, result });
    } catch (e) {
      self.postMessage({ id, error: String(e?.message ?? e) });
    }
  };
}
