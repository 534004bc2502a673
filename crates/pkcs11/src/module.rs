//! One loaded, initialised module per path, for the whole process.
//!
//! PKCS#11 state is process-global: `C_Initialize` may run once per process (a second call fails
//! with `CKR_CRYPTOKI_ALREADY_INITIALIZED`), `C_Finalize` ends every session of every user of the
//! module, and the login state is shared by all sessions the process has with a token. So two
//! signers on the same module (the CA's key and the TSA's, say) must share one context, and no
//! signer may finalise it when dropped. The registry below hands out that shared context; it is
//! never finalised (the operating system reclaims it at exit, as for any loaded library).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};

use crate::Pkcs11Error;

static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();

/// The initialised context for the module at `path`, loading it on first use.
pub(crate) fn load(path: &Path) -> Result<Pkcs11, Pkcs11Error> {
    let fail = |reason: String| Pkcs11Error::Module { module: path.to_owned(), reason };
    // Canonical, so `./lib.so` and `/abs/lib.so` share one context, as dlopen would share one
    // library. A bare name is refused here rather than searched for in the loader's path: the
    // configuration must say which library holds the key.
    let canonical = std::fs::canonicalize(path).map_err(|e| fail(format!("cannot find the module file: {e}")))?;
    // A panic while the lock was held cannot leave the map half-updated (insert is the last step).
    let mut modules = MODULES.get_or_init(Default::default).lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(ctx) = modules.get(&canonical) {
        return Ok(ctx.clone());
    }
    let ctx = Pkcs11::new(&canonical).map_err(|e| match e {
        Error::LibraryLoading(e) => fail(format!("cannot load the library: {e}")),
        Error::MissingSymbol(sym) => fail(format!("not a PKCS#11 module (no {sym})")),
        other => fail(other.to_string()),
    })?;
    // OS locking: the module may be called from several threads (one session each).
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) => tracing::debug!(module = %canonical.display(), "PKCS#11 module initialised"),
        // Another part of this process initialised the same library through its own handle:
        // dlopen returned the same library, so its state is ours to share.
        Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {
            tracing::debug!(module = %canonical.display(), "PKCS#11 module already initialised in this process")
        }
        Err(e) => return Err(fail(format!("C_Initialize failed: {e}"))),
    }
    modules.insert(canonical, ctx.clone());
    Ok(ctx)
}
