//! Outstanding authorization codes and device codes, in memory and bounded.
//!
//! Entries stay for a grace period after they expire or are used, so a late or repeated request
//! is told "expired" or "already used" rather than "unknown". Sweeping happens on insertion
//! (there is no background task to forget): at most every few seconds, or whenever a map is
//! full. A full map first sheds entries that are expired or finished; if every entry is still
//! live, the new code is refused rather than an old one evicted, so a flood cannot silently
//! cancel a login in progress.
//!
//! Each client address may hold at most `per_client` live codes of each kind (issue 14 #7), so
//! one client cannot take the whole table and lock everybody else out of logging in.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

/// How often, in clock time, stale entries are swept when nothing forces it.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// An authorization code and what it was issued for.
#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub nonce: Option<String>,
    pub email: String,
    pub auth_time: SystemTime,
    pub expires: SystemTime,
    /// How long after `expires` the entry is kept.
    pub grace: Duration,
    pub used: bool,
    /// The address of the client that asked for it.
    pub client: IpAddr,
}

impl AuthCode {
    fn live(&self, now: SystemTime) -> bool {
        !self.used && self.expires > now
    }
}

impl DeviceGrant {
    fn live(&self, now: SystemTime) -> bool {
        self.expires > now && matches!(self.state, DeviceState::Pending | DeviceState::Approved { .. })
    }
}

/// Where a device authorization stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeviceState {
    /// Waiting for the user.
    Pending,
    /// The user approved as `email`.
    Approved { email: String, auth_time: SystemTime },
    /// The user denied it.
    Denied,
    /// A token was issued; the code is spent.
    Redeemed,
}

/// A device authorization (RFC 8628).
#[derive(Debug, Clone)]
pub(crate) struct DeviceGrant {
    pub client_id: String,
    pub user_code: String,
    pub expires: SystemTime,
    pub grace: Duration,
    /// The current least time between polls; `slow_down` adds 5 s (RFC 8628 §3.5).
    pub interval: Duration,
    pub last_poll: Option<SystemTime>,
    pub state: DeviceState,
    /// The address of the client that asked for it.
    pub client: IpAddr,
}

/// Why a code was not filed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Full {
    /// The map is full of live entries.
    Total,
    /// This client holds its most live entries; the first expires after `retry_after`.
    Client { retry_after: Duration },
}

/// The wait until the first of a client's live entries expires.
fn first_expiry(expiries: impl Iterator<Item = SystemTime>, now: SystemTime) -> Duration {
    expiries.min().and_then(|e| e.duration_since(now).ok()).unwrap_or(Duration::from_secs(1))
}

/// The outstanding codes.
#[derive(Debug)]
pub(crate) struct Store {
    max: usize,
    per_client: usize,
    codes: HashMap<String, AuthCode>,
    devices: HashMap<String, DeviceGrant>,
    /// User code (normalised) → device code.
    user_codes: HashMap<String, String>,
    last_sweep: SystemTime,
}

impl Store {
    pub(crate) fn new(max: usize, per_client: usize, now: SystemTime) -> Store {
        Store {
            max,
            per_client,
            codes: HashMap::new(),
            devices: HashMap::new(),
            user_codes: HashMap::new(),
            last_sweep: now,
        }
    }

    /// Files an authorization code, unless `max` live codes are outstanding, or `per_client`
    /// of its client's. (Counting a client's codes walks the table: it holds at most `max`.)
    pub(crate) fn insert_code(&mut self, code: String, entry: AuthCode, now: SystemTime) -> Result<(), Full> {
        self.maybe_sweep(now);
        let mine = self.codes.values().filter(|c| c.client == entry.client && c.live(now));
        if mine.clone().count() >= self.per_client {
            return Err(Full::Client { retry_after: first_expiry(mine.map(|c| c.expires), now) });
        }
        if self.codes.len() >= self.max {
            self.codes.retain(|_, c| c.live(now));
            if self.codes.len() >= self.max {
                return Err(Full::Total);
            }
        }
        self.codes.insert(code, entry);
        Ok(())
    }

    pub(crate) fn code_mut(&mut self, code: &str) -> Option<&mut AuthCode> {
        self.codes.get_mut(code)
    }

    /// Whether a user code is taken by an entry still filed.
    pub(crate) fn user_code_taken(&self, user_code: &str) -> bool {
        self.user_codes.contains_key(user_code)
    }

    /// Files a device authorization, unless `max` live ones are outstanding.
    pub(crate) fn insert_device(
        &mut self,
        device_code: String,
        grant: DeviceGrant,
        now: SystemTime,
    ) -> Result<(), Full> {
        self.maybe_sweep(now);
        let mine = self.devices.values().filter(|d| d.client == grant.client && d.live(now));
        if mine.clone().count() >= self.per_client {
            return Err(Full::Client { retry_after: first_expiry(mine.map(|d| d.expires), now) });
        }
        if self.devices.len() >= self.max {
            self.retain_devices(|d| d.live(now));
            if self.devices.len() >= self.max {
                return Err(Full::Total);
            }
        }
        self.user_codes.insert(grant.user_code.clone(), device_code.clone());
        self.devices.insert(device_code, grant);
        Ok(())
    }

    pub(crate) fn device_mut(&mut self, device_code: &str) -> Option<&mut DeviceGrant> {
        self.devices.get_mut(device_code)
    }

    /// The device authorization a user code names.
    pub(crate) fn device_by_user_code(&mut self, user_code: &str) -> Option<&mut DeviceGrant> {
        let device_code = self.user_codes.get(user_code)?;
        self.devices.get_mut(device_code)
    }

    fn maybe_sweep(&mut self, now: SystemTime) {
        let due = now.duration_since(self.last_sweep).is_ok_and(|d| d >= SWEEP_EVERY)
            || self.codes.len() >= self.max
            || self.devices.len() >= self.max;
        if !due {
            return;
        }
        self.last_sweep = now;
        self.codes.retain(|_, c| c.expires + c.grace > now);
        self.retain_devices(|d| d.expires + d.grace > now);
    }

    fn retain_devices(&mut self, keep: impl Fn(&DeviceGrant) -> bool) {
        let user_codes = &mut self.user_codes;
        self.devices.retain(|_, d| {
            let k = keep(d);
            if !k {
                user_codes.remove(&d.user_code);
            }
            k
        });
    }

    #[cfg(test)]
    fn len(&self) -> (usize, usize, usize) {
        (self.codes.len(), self.devices.len(), self.user_codes.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(now: SystemTime) -> AuthCode {
        AuthCode {
            client_id: "c".into(),
            redirect_uri: "http://127.0.0.1/".into(),
            code_challenge: String::new(),
            nonce: None,
            email: "a@b".into(),
            auth_time: now,
            expires: now + Duration::from_secs(60),
            grace: Duration::from_secs(60),
            used: false,
            client: [127, 0, 0, 1].into(),
        }
    }

    fn device(now: SystemTime, user_code: &str) -> DeviceGrant {
        DeviceGrant {
            client_id: "c".into(),
            user_code: user_code.into(),
            expires: now + Duration::from_secs(600),
            grace: Duration::from_secs(600),
            interval: Duration::from_secs(5),
            last_poll: None,
            state: DeviceState::Pending,
            client: [127, 0, 0, 1].into(),
        }
    }

    #[test]
    fn full_store_refuses_then_sheds_spent_and_expired_entries() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut s = Store::new(2, 100, t0);
        s.insert_code("a".into(), code(t0), t0).expect("a");
        s.insert_code("b".into(), code(t0), t0).expect("b");
        assert_eq!(s.insert_code("c".into(), code(t0), t0), Err(Full::Total), "live codes evicted");
        s.code_mut("a").expect("a").used = true;
        s.insert_code("c".into(), code(t0), t0).expect("a used code makes room");
        assert!(s.code_mut("a").is_none());
        let later = t0 + Duration::from_secs(61);
        s.insert_code("d".into(), code(later), later).expect("expired codes make room");
        assert_eq!(s.len().0, 1);

        s.insert_device("d1".into(), device(t0, "U1"), t0).expect("d1");
        s.insert_device("d2".into(), device(t0, "U2"), t0).expect("d2");
        assert_eq!(s.insert_device("d3".into(), device(t0, "U3"), t0), Err(Full::Total));
        s.device_mut("d1").expect("d1").state = DeviceState::Redeemed;
        s.insert_device("d3".into(), device(t0, "U3"), t0).expect("a redeemed device code makes room");
        assert!(!s.user_code_taken("U1"), "the user code of a dropped entry stays indexed");
        assert!(s.device_by_user_code("U3").is_some());
        assert_eq!(s.len(), (1, 2, 2));
    }

    #[test]
    fn one_client_holds_at_most_its_share() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut s = Store::new(100, 2, t0);
        s.insert_code("a".into(), code(t0), t0).expect("a");
        let t1 = t0 + Duration::from_secs(10);
        s.insert_code("b".into(), code(t1), t1).expect("b");
        // The third live code of one client is refused until its first expires (50 s on).
        assert_eq!(s.insert_code("c".into(), code(t1), t1), Err(Full::Client { retry_after: Duration::from_secs(50) }));
        let other = AuthCode { client: [127, 0, 0, 2].into(), ..code(t1) };
        s.insert_code("d".into(), other, t1).expect("another client is served");
        s.code_mut("a").expect("a").used = true;
        s.insert_code("c".into(), code(t1), t1).expect("a used code frees the client's share");

        s.insert_device("d1".into(), device(t0, "U1"), t0).expect("d1");
        s.insert_device("d2".into(), device(t0, "U2"), t0).expect("d2");
        assert!(matches!(s.insert_device("d3".into(), device(t0, "U3"), t0), Err(Full::Client { .. })));
        s.device_mut("d1").expect("d1").state = DeviceState::Denied;
        s.insert_device("d3".into(), device(t0, "U3"), t0).expect("a denied code frees the client's share");
    }

    #[test]
    fn sweep_keeps_entries_through_their_grace_period() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut s = Store::new(100, 100, t0);
        s.insert_code("a".into(), code(t0), t0).expect("a");
        s.insert_device("d".into(), device(t0, "U"), t0).expect("d");
        // Expired, but within grace: kept so a late request hears "expired".
        let t1 = t0 + Duration::from_secs(100);
        s.insert_code("b".into(), code(t1), t1).expect("b");
        assert!(s.code_mut("a").is_some());
        // Past grace: swept.
        let t2 = t0 + Duration::from_secs(1_300);
        s.insert_code("c".into(), code(t2), t2).expect("c");
        assert!(s.code_mut("a").is_none());
        assert!(s.device_mut("d").is_none());
        assert!(!s.user_code_taken("U"));
    }
}
