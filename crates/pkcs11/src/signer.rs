//! [`Pkcs11Signer`]: finding the key, logging in, and signing through a small pool of sessions.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::{Slot, TokenInfo};
use cryptoki::types::AuthPin;
use secrecy::SecretString;
use sig_share_pki::{KeyAlgorithm, PkiError, Signer};

use crate::{Pkcs11Error, Pkcs11Uri, ecdsa, module};

/// How many sessions a signer opens at most, unless [`Pkcs11Signer::with_max_sessions`] says
/// otherwise.
///
/// A PKCS#11 session runs one operation at a time and must not be used from two threads at once,
/// so each signature borrows a session from the pool for its duration. With one session, signing
/// is serialised: throughput is one token round trip at a time, whatever the number of callers.
/// Four lets a multi-core host (or an HSM with several crypto engines) overlap signatures, while
/// staying far below the session limits of real tokens (smart cards allow a handful; network
/// HSMs count sessions against a licence).
pub const DEFAULT_MAX_SESSIONS: usize = 4;

/// What is signed and verified when a key is opened, to prove the public key found is the private
/// key's partner before anything is certified with it.
const SELF_CHECK_MESSAGE: &[u8] = b"sig-share PKCS#11 key self-check";

/// An ECDSA P-256 or P-384 private key held in a PKCS#11 token.
///
/// The key never leaves the token: signing hashes the message here (SHA-256 or SHA-384) and asks
/// the token for `CKM_ECDSA` over the digest. The signer is `Send + Sync`; concurrent signatures
/// each take a session from a pool of at most [`DEFAULT_MAX_SESSIONS`] (see there for why), and
/// wait for one when all are busy.
///
/// PKCS#11 login state belongs to the process, not the session: the signer keeps the session it
/// logged in with open for its whole life, so the pool's sessions are logged in too, and it keeps
/// no copy of the PIN. A second signer on a token this process is already logged in to does not
/// have its PIN checked (the token answers `CKR_USER_ALREADY_LOGGED_IN` before looking at it).
pub struct Pkcs11Signer {
    module: PathBuf,
    token: String,
    key_label: String,
    algorithm: KeyAlgorithm,
    spki: Vec<u8>,
    key: ObjectHandle,
    pool: SessionPool,
}

/// What names the key: the token by label (and, from a URI, manufacturer, model, serial), the key
/// by label (and, from a URI or after generation, `CKA_ID`).
struct KeySelector<'a> {
    token: &'a str,
    manufacturer: Option<&'a str>,
    model: Option<&'a str>,
    serial: Option<&'a str>,
    label: &'a str,
    id: Option<&'a [u8]>,
}

impl<'a> KeySelector<'a> {
    fn labels(token: &'a str, label: &'a str) -> Self {
        Self { token, manufacturer: None, model: None, serial: None, label, id: None }
    }

    fn matches(&self, info: &TokenInfo) -> bool {
        info.label() == self.token
            && self.manufacturer.is_none_or(|m| info.manufacturer_id() == m)
            && self.model.is_none_or(|m| info.model() == m)
            && self.serial.is_none_or(|s| info.serial_number() == s)
    }

    fn constraints(&self) -> Vec<String> {
        [("manufacturer", self.manufacturer), ("model", self.model), ("serial", self.serial)]
            .into_iter()
            .filter_map(|(name, v)| v.map(|v| format!("{name} {v:?}")))
            .collect()
    }
}

impl Pkcs11Signer {
    /// Opens the private key labelled `key_label` in the token labelled `token_label`, through
    /// the PKCS#11 module at `module`, logging in as the user with `pin`.
    ///
    /// The key must be EC on P-256 or P-384 and allowed to sign, and its public key must be
    /// readable (a public key object sharing its `CKA_ID` or label, or `CKA_EC_POINT` on the
    /// private key). One signature is made and verified before this returns, so a token that
    /// pairs the wrong public key, or will not sign, fails here rather than in the first
    /// certificate. Errors name what was found instead: the token labels, the key labels.
    pub fn open(module: &Path, token_label: &str, pin: &str, key_label: &str) -> Result<Self, Pkcs11Error> {
        let pin = AuthPin::from(pin);
        Self::connect(module, &KeySelector::labels(token_label, key_label), &pin, None)
    }

    /// Opens the key an RFC 7512 URI names (see [`Pkcs11Uri`]). The PIN comes from the URI
    /// (`pin-value` or `pin-source`) or from `pin`; giving both, or neither, is an error.
    pub fn open_uri(uri: &Pkcs11Uri, pin: Option<&str>) -> Result<Self, Pkcs11Error> {
        let pin = uri_pin(uri, pin)?;
        let selector = KeySelector {
            token: uri.token(),
            manufacturer: uri.manufacturer(),
            model: uri.model(),
            serial: uri.serial(),
            label: uri.object(),
            id: uri.id(),
        };
        Self::connect(uri.module_path(), &selector, &pin, None)
    }

    /// [`Pkcs11Signer::generate`] for the token and object an RFC 7512 URI names, with the PIN
    /// from the URI or `pin` as in [`Pkcs11Signer::open_uri`]. Only the token label and object
    /// label select; other URI attributes narrow nothing here.
    pub fn generate_uri(uri: &Pkcs11Uri, pin: Option<&str>, algorithm: KeyAlgorithm) -> Result<Self, Pkcs11Error> {
        let pin = uri_pin(uri, pin)?;
        Self::generate(
            uri.module_path(),
            uri.token(),
            secrecy::ExposeSecret::expose_secret(&pin),
            uri.object(),
            algorithm,
        )
    }

    /// Generates a new key pair in the token and opens it: `CKM_EC_KEY_PAIR_GEN` on `algorithm`'s
    /// curve, both halves token objects labelled `key_label` and sharing a random 16-byte
    /// `CKA_ID`; the private half sensitive, not extractable, signing only.
    ///
    /// Refuses a label some key in the token already has, so the new key can always be opened by
    /// label alone. This is provisioning (tests, `sig-share device enroll`); a CA's production
    /// key is better generated with the HSM vendor's tools under its key ceremony.
    pub fn generate(
        module: &Path,
        token_label: &str,
        pin: &str,
        key_label: &str,
        algorithm: KeyAlgorithm,
    ) -> Result<Self, Pkcs11Error> {
        let unsupported = |reason: &str| Pkcs11Error::UnsupportedKey { label: key_label.into(), reason: reason.into() };
        if key_label.is_empty() {
            return Err(unsupported("an empty label cannot name a key"));
        }
        let pin = AuthPin::from(pin);
        let selector = KeySelector::labels(token_label, key_label);
        let ctx = module::load(module)?;
        let slot = find_slot(&ctx, &selector)?;
        let session = ctx.open_rw_session(slot).map_err(Pkcs11Error::token("C_OpenSession"))?;
        login(&session, &pin, token_label)?;

        for class in [ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY] {
            let template = [Attribute::Class(class), Attribute::Label(key_label.as_bytes().to_vec())];
            if !session.find_objects(&template).map_err(Pkcs11Error::token("C_FindObjects"))?.is_empty() {
                return Err(Pkcs11Error::KeyExists { token: token_label.into(), label: key_label.into() });
            }
        }
        let mut id = [0u8; 16];
        aws_lc_rs::rand::fill(&mut id).map_err(|_| unsupported("no randomness for the key id"))?;
        let params = ecdsa::ec_params(algorithm).map_err(|e| unsupported(&e.to_string()))?;
        let public = [
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(params),
            Attribute::Label(key_label.as_bytes().to_vec()),
            Attribute::Id(id.to_vec()),
        ];
        let private = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Derive(false),
            Attribute::Label(key_label.as_bytes().to_vec()),
            Attribute::Id(id.to_vec()),
        ];
        session
            .generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private)
            .map_err(Pkcs11Error::token("C_GenerateKeyPair"))?;
        tracing::info!(token = token_label, key = key_label, ?algorithm, "generated a key pair in the PKCS#11 token");
        // Opened while `session` still holds the login, so the PIN is sent once.
        let selector = KeySelector { id: Some(&id), ..selector };
        Self::connect(module, &selector, &pin, Some(session))
    }

    /// Lets the signer open up to `max` sessions for concurrent signatures (see
    /// [`DEFAULT_MAX_SESSIONS`]). Sessions are opened when first needed, so a large limit costs
    /// nothing until there are that many concurrent callers.
    pub fn with_max_sessions(mut self, max: NonZeroUsize) -> Self {
        self.pool.max = max.get();
        self
    }

    /// The module file the key was opened through.
    pub fn module(&self) -> &Path {
        &self.module
    }

    /// The label of the token holding the key.
    pub fn token_label(&self) -> &str {
        &self.token
    }

    /// The key's label (`CKA_LABEL`).
    pub fn key_label(&self) -> &str {
        &self.key_label
    }

    /// Everything after the module is loaded: find the token, log in (unless `logged_in` is a
    /// session that already did), find the key and its public half, check they pair.
    fn connect(
        module: &Path,
        selector: &KeySelector<'_>,
        pin: &AuthPin,
        logged_in: Option<Session>,
    ) -> Result<Self, Pkcs11Error> {
        let ctx = module::load(module)?;
        let slot = find_slot(&ctx, selector)?;
        let anchor = match logged_in {
            Some(session) => session,
            None => {
                let session = ctx.open_ro_session(slot).map_err(Pkcs11Error::token("C_OpenSession"))?;
                login(&session, pin, selector.token)?;
                session
            }
        };
        let found = find_key(&anchor, selector)?;
        let signer = Self {
            module: module.to_owned(),
            token: selector.token.to_owned(),
            key_label: selector.label.to_owned(),
            algorithm: found.algorithm,
            spki: found.spki,
            key: found.handle,
            pool: SessionPool {
                ctx,
                slot,
                max: DEFAULT_MAX_SESSIONS,
                state: Mutex::new(PoolState { idle: Vec::new(), open: 0 }),
                returned: Condvar::new(),
                _anchor: Mutex::new(anchor),
            },
        };
        signer.self_check()?;
        tracing::info!(
            module = %module.display(),
            token = selector.token,
            key = selector.label,
            algorithm = ?signer.algorithm,
            "opened a PKCS#11 signing key"
        );
        Ok(signer)
    }

    /// Signs and verifies [`SELF_CHECK_MESSAGE`] with the public key found.
    fn self_check(&self) -> Result<(), Pkcs11Error> {
        let digest = self.algorithm.digest(SELF_CHECK_MESSAGE);
        let raw = self.sign_digest(&digest).map_err(|e| match e {
            Error::Pkcs11(RvError::MechanismInvalid, _) => Pkcs11Error::UnsupportedKey {
                label: self.key_label.clone(),
                reason: "the token does not offer CKM_ECDSA".into(),
            },
            other => Pkcs11Error::Token { operation: "C_Sign (key check)", source: other },
        })?;
        let mismatch = |reason: String| Pkcs11Error::KeyMismatch { label: self.key_label.clone(), reason };
        let der = ecdsa::raw_to_der(&raw, self.algorithm).map_err(mismatch)?;
        let alg = sig_share_pki::signature_algorithm(self.algorithm);
        sig_share_pki::verify_signature(&self.spki, SELF_CHECK_MESSAGE, &der, &alg)
            .map_err(|e| mismatch(format!("its signature does not verify with the public key ({e})")))
    }

    /// `CKM_ECDSA` over a digest, on a pooled session. A session whose operation failed is closed
    /// rather than reused: after most errors its state is unknown (an operation may be left
    /// active, the handle may be dead), and a fresh one costs one call.
    fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, Error> {
        let mut lease = self.pool.get()?;
        let result = lease.session().sign(&Mechanism::Ecdsa, self.key, digest);
        if result.is_err() {
            lease.discard();
        }
        result
    }
}

impl Signer for Pkcs11Signer {
    fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    fn public_key_der(&self) -> &[u8] {
        &self.spki
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, PkiError> {
        self.sign_prehashed(&self.algorithm.digest(message))
    }

    fn sign_prehashed(&self, digest: &[u8]) -> Result<Vec<u8>, PkiError> {
        let raw = self.sign_digest(digest).map_err(|e| {
            tracing::warn!(token = %self.token, key = %self.key_label, error = %e, "PKCS#11 signing failed");
            PkiError::Signing(format!("PKCS#11 token {:?}, key {:?}: {e}", self.token, self.key_label))
        })?;
        ecdsa::raw_to_der(&raw, self.algorithm).map_err(PkiError::Signing)
    }
}

impl std::fmt::Debug for Pkcs11Signer {
    /// Where the key is and which it is; there is no secret here to print (the PIN is not kept).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let key_id = sig_share_pki::key_id(&self.spki)
            .map(|id| id.iter().map(|b| format!("{b:02x}")).collect::<String>())
            .unwrap_or_default();
        f.debug_struct("Pkcs11Signer")
            .field("module", &self.module)
            .field("token", &self.token)
            .field("key_label", &self.key_label)
            .field("algorithm", &self.algorithm)
            .field("key_id", &key_id)
            .field("max_sessions", &self.pool.max)
            .finish_non_exhaustive()
    }
}

/// The one initialised token matching the selector.
fn find_slot(ctx: &Pkcs11, selector: &KeySelector<'_>) -> Result<Slot, Pkcs11Error> {
    let slots = ctx.get_slots_with_token().map_err(Pkcs11Error::token("C_GetSlotList"))?;
    let mut found = Vec::new();
    let mut matching = Vec::new();
    for slot in slots {
        let info = match ctx.get_token_info(slot) {
            Ok(info) => info,
            // A token pulled out between the two calls is simply not there.
            Err(e) => {
                tracing::debug!(%slot, error = %e, "skipping a slot whose token cannot be read");
                continue;
            }
        };
        // SoftHSM2 (and readers with a blank card) show a slot with an uninitialised token: it
        // has no label and holds no keys.
        if !info.token_initialized() {
            continue;
        }
        found.push(info.label().to_owned());
        if selector.matches(&info) {
            matching.push((slot, info.serial_number().to_owned()));
        }
    }
    match matching.len() {
        1 => Ok(matching[0].0),
        0 => {
            Err(Pkcs11Error::TokenNotFound { label: selector.token.into(), constraints: selector.constraints(), found })
        }
        count => Err(Pkcs11Error::AmbiguousToken {
            label: selector.token.into(),
            count,
            serials: matching.into_iter().map(|(_, serial)| serial).collect(),
        }),
    }
}

/// Logs the user in; the process being logged in already counts as success (see
/// [`Pkcs11Signer`]).
fn login(session: &Session, pin: &AuthPin, token: &str) -> Result<(), Pkcs11Error> {
    match session.login(UserType::User, Some(pin)) {
        Ok(()) => Ok(()),
        Err(Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {
            tracing::debug!(token, "this process is already logged in to the PKCS#11 token");
            Ok(())
        }
        Err(Error::Pkcs11(RvError::PinIncorrect | RvError::PinInvalid | RvError::PinLenRange, _)) => {
            Err(Pkcs11Error::WrongPin { token: token.into() })
        }
        Err(Error::Pkcs11(RvError::PinLocked, _)) => Err(Pkcs11Error::PinLocked { token: token.into() }),
        Err(e) => Err(Pkcs11Error::token("C_Login")(e)),
    }
}

struct FoundKey {
    handle: ObjectHandle,
    algorithm: KeyAlgorithm,
    spki: Vec<u8>,
}

/// The attributes of one object this crate reads, by type.
#[derive(Default)]
struct KeyAttributes {
    key_type: Option<KeyType>,
    id: Option<Vec<u8>>,
    ec_params: Option<Vec<u8>>,
    ec_point: Option<Vec<u8>>,
    sign: Option<bool>,
    always_authenticate: Option<bool>,
}

fn read_attributes(session: &Session, object: ObjectHandle) -> Result<KeyAttributes, Pkcs11Error> {
    let wanted = [
        AttributeType::KeyType,
        AttributeType::Id,
        AttributeType::EcParams,
        AttributeType::EcPoint,
        AttributeType::Sign,
        AttributeType::AlwaysAuthenticate,
    ];
    // cryptoki leaves out attributes the object does not have (or will not reveal).
    let attrs = session.get_attributes(object, &wanted).map_err(Pkcs11Error::token("C_GetAttributeValue"))?;
    let mut out = KeyAttributes::default();
    for attr in attrs {
        match attr {
            Attribute::KeyType(t) => out.key_type = Some(t),
            Attribute::Id(id) => out.id = Some(id),
            Attribute::EcParams(p) => out.ec_params = Some(p),
            Attribute::EcPoint(p) => out.ec_point = Some(p),
            Attribute::Sign(s) => out.sign = Some(s),
            Attribute::AlwaysAuthenticate(a) => out.always_authenticate = Some(a),
            _ => {}
        }
    }
    Ok(out)
}

fn find_objects(session: &Session, template: &[Attribute]) -> Result<Vec<ObjectHandle>, Pkcs11Error> {
    session.find_objects(template).map_err(Pkcs11Error::token("C_FindObjects"))
}

/// The labels of the token's private keys, for a "key not found" error.
fn private_key_labels(session: &Session) -> Result<Vec<String>, Pkcs11Error> {
    let mut labels = Vec::new();
    for key in find_objects(session, &[Attribute::Class(ObjectClass::PRIVATE_KEY)])? {
        let attrs =
            session.get_attributes(key, &[AttributeType::Label]).map_err(Pkcs11Error::token("C_GetAttributeValue"))?;
        for attr in attrs {
            if let Attribute::Label(label) = attr {
                labels.push(String::from_utf8_lossy(&label).into_owned());
            }
        }
    }
    labels.sort();
    Ok(labels)
}

/// The private key the selector names, its curve, and its public key as SPKI DER.
fn find_key(session: &Session, selector: &KeySelector<'_>) -> Result<FoundKey, Pkcs11Error> {
    let token = selector.token;
    let label = selector.label;
    let unsupported = |reason: String| Pkcs11Error::UnsupportedKey { label: label.into(), reason };
    let label_attr = Attribute::Label(label.as_bytes().to_vec());

    let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY), label_attr.clone()];
    if let Some(id) = selector.id {
        template.push(Attribute::Id(id.to_vec()));
    }
    let keys = find_objects(session, &template)?;
    let handle = match keys[..] {
        [key] => key,
        [] => {
            return Err(Pkcs11Error::KeyNotFound {
                token: token.into(),
                label: label.into(),
                id_constrained: selector.id.is_some(),
                found: private_key_labels(session)?,
            });
        }
        _ => return Err(Pkcs11Error::AmbiguousKey { token: token.into(), label: label.into(), count: keys.len() }),
    };

    let private = read_attributes(session, handle)?;
    match private.key_type {
        Some(KeyType::EC) => {}
        Some(other) => return Err(unsupported(format!("a {other} key; only EC keys (P-256, P-384) are supported"))),
        None => return Err(unsupported("the token does not say what type of key it is".into())),
    }
    if private.sign == Some(false) {
        return Err(unsupported("the token does not allow it to sign (CKA_SIGN is false)".into()));
    }
    if private.always_authenticate == Some(true) {
        return Err(unsupported(
            "it needs the PIN again for every signature (CKA_ALWAYS_AUTHENTICATE), which this signer does not keep"
                .into(),
        ));
    }

    // The public half: by CKA_ID (how PKCS#11 tools pair the halves), narrowed by label if the id
    // is shared, else by label alone. The self-check at open proves whichever is found pairs.
    let public_key = |reason: String| Pkcs11Error::PublicKey { token: token.into(), label: label.into(), reason };
    let mut templates = Vec::new();
    let public_class = [Attribute::Class(ObjectClass::PUBLIC_KEY), Attribute::KeyType(KeyType::EC)];
    if let Some(id) = private.id.as_ref().filter(|id| !id.is_empty()) {
        templates.push([&public_class[..], &[Attribute::Id(id.clone()), label_attr.clone()]].concat());
        templates.push([&public_class[..], &[Attribute::Id(id.clone())]].concat());
    }
    templates.push([&public_class[..], std::slice::from_ref(&label_attr)].concat());
    let mut public = None;
    for template in &templates {
        match find_objects(session, template)?[..] {
            [] => continue,
            [one] => {
                public = Some(read_attributes(session, one)?);
                break;
            }
            ref many => {
                return Err(public_key(format!("{} public keys match it; cannot tell which is its own", many.len())));
            }
        }
    }

    let ec_params = private
        .ec_params
        .as_ref()
        .or(public.as_ref().and_then(|p| p.ec_params.as_ref()))
        .ok_or_else(|| unsupported("the token gives no CKA_EC_PARAMS for it".into()))?;
    let algorithm = ecdsa::algorithm_from_ec_params(ec_params).map_err(unsupported)?;
    if let Some(public_params) = public.as_ref().and_then(|p| p.ec_params.as_ref())
        && public_params != ec_params
    {
        return Err(Pkcs11Error::KeyMismatch {
            label: label.into(),
            reason: "its public key object is on another curve".into(),
        });
    }
    // Some tokens put CKA_EC_POINT on the private key too; use it when there is no public object.
    let ec_point =
        public.as_ref().and_then(|p| p.ec_point.as_ref()).or(private.ec_point.as_ref()).ok_or_else(|| {
            public_key("no public key object shares its CKA_ID or label, and it has no CKA_EC_POINT".into())
        })?;
    let point = ecdsa::uncompressed_point(ec_point, algorithm).map_err(public_key)?;
    let spki = ecdsa::spki_der(point, algorithm).map_err(|e| public_key(e.to_string()))?;
    Ok(FoundKey { handle, algorithm, spki })
}

/// Sessions for signing, opened on demand up to `max`, each used by one thread at a time.
struct SessionPool {
    ctx: Pkcs11,
    slot: Slot,
    max: usize,
    state: Mutex<PoolState>,
    /// Signalled when a session goes back to the pool or an open slot frees up.
    returned: Condvar,
    /// The session the signer logged in with, never used to sign: while it is open the process
    /// stays logged in, whatever happens to the signing sessions (closing a token's last session
    /// logs the process out). In a Mutex only because `Session` is not `Sync`.
    _anchor: Mutex<Session>,
}

struct PoolState {
    idle: Vec<Session>,
    /// Sessions open for signing: idle plus lent out.
    open: usize,
}

impl SessionPool {
    fn lock(&self) -> MutexGuard<'_, PoolState> {
        // Nothing panics while holding the lock, and the state is valid between statements anyway.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An idle session, a new one if fewer than `max` are open, else the next one returned.
    fn get(&self) -> Result<Lease<'_>, Error> {
        let mut state = self.lock();
        loop {
            if let Some(session) = state.idle.pop() {
                return Ok(Lease { pool: self, session: Some(session), discard: false });
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return match self.ctx.open_ro_session(self.slot) {
                    Ok(session) => {
                        tracing::debug!(slot = %self.slot, "opened a PKCS#11 signing session");
                        Ok(Lease { pool: self, session: Some(session), discard: false })
                    }
                    Err(e) => {
                        self.lock().open -= 1;
                        self.returned.notify_one();
                        Err(e)
                    }
                };
            }
            state = self.returned.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// A session lent out of the pool; it goes back (or, discarded, is closed) on drop.
struct Lease<'a> {
    pool: &'a SessionPool,
    session: Option<Session>,
    discard: bool,
}

impl Lease<'_> {
    fn session(&self) -> &Session {
        // Some from construction until drop.
        self.session.as_ref().unwrap_or_else(|| unreachable!("a lease holds its session until dropped"))
    }

    fn discard(&mut self) {
        self.discard = true;
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let Some(session) = self.session.take() else { return };
        if self.discard {
            // Closed outside the lock: C_CloseSession may take a token round trip.
            drop(session);
            self.pool.lock().open -= 1;
        } else {
            self.pool.lock().idle.push(session);
        }
        self.pool.returned.notify_one();
    }
}

/// The PIN for a URI: from the URI (`pin-value` or `pin-source`) or from `pin`, never both.
fn uri_pin(uri: &Pkcs11Uri, pin: Option<&str>) -> Result<SecretString, Pkcs11Error> {
    match (uri.resolve_pin()?, pin) {
        (Some(_), Some(_)) => Err(Pkcs11Error::Pin("the URI has a PIN and another was given".into())),
        (Some(p), None) => Ok(p),
        (None, Some(p)) => Ok(SecretString::from(p)),
        (None, None) => Err(Pkcs11Error::Pin(format!("no PIN for {uri}: add pin-source or pass one"))),
    }
}
