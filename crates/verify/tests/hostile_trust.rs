//! Hostile trust material (issue 14 #5): a trusted root or signing config is anyone's JSON
//! (`sig-share trust pin` fetches it from a server), so every one-place mutation of a real one
//! must be refused with an error or verify as before, never panic. Before the fix a non-ASCII
//! `validFor` time was accepted on load and panicked every verification after it.

use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::Value;
use sha2::{Digest, Sha256};
use sig_share_verify::bundle::Bundle;
use sig_share_verify::policy::{Matcher, Policy};
use sig_share_verify::trust::{ClientTrustConfig, SigningConfig, TrustedRoot};
use sig_share_verify::verdict::{self, Artifact};

const IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";
const NOW: i64 = 1_800_000_000;

/// Strings put in place of each string of the material: multi-byte characters where ASCII is
/// expected, times out of range, base64 and DER that are almost right, one long string.
fn hostile_strings(original: &str) -> Vec<String> {
    let mut out: Vec<String> = [
        "",
        "é",
        "€",
        "\u{0}",
        "2021-03-07T03:20:2é",
        "2é21-03-07T03:20:29Z",
        "2021-03-07T03:20:29.é",
        "2021-03-07T03:20:29+é1:00",
        "9999-12-31T23:59:60Z",
        "0000-00-00T00:00:00Z",
        "2021-03-07T03:20:29+99:99",
        "-",
        "A",
        "====",
        "AAAA",
        "MAA=",
        "MIAAAA==",
        "http://",
        "https://[",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    out.push("A".repeat(100_000));
    // The original with a multi-byte character at its start, middle and end, and in place of
    // each of its first 25 characters (every position of an RFC 3339 time).
    let chars: Vec<char> = original.chars().collect();
    for at in [0, chars.len() / 2, chars.len()] {
        let mut c = chars.clone();
        c.insert(at, 'é');
        out.push(c.into_iter().collect());
    }
    for at in 0..chars.len().min(25) {
        let mut c = chars.clone();
        c[at] = '€';
        out.push(c.into_iter().collect());
    }
    out
}

/// Every one-place mutation of `value`: each string replaced by each hostile string, each
/// number by hostile numbers, each array emptied or its first element replaced, each key of
/// each object removed. With the JSON pointer of the place.
fn mutations(value: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    walk(value, "", &mut |pointer, v| {
        let mut replacements: Vec<Value> = match v {
            Value::String(s) => hostile_strings(s).into_iter().map(Value::String).collect(),
            Value::Number(_) => vec![Value::from(-1), Value::from(u64::MAX), Value::from(1e300), Value::from("1")],
            Value::Array(a) => {
                let mut r = vec![Value::Array(vec![])];
                if !a.is_empty() {
                    for first in [Value::Null, Value::from("x"), serde_json::json!({})] {
                        let mut b = a.clone();
                        b[0] = first;
                        r.push(Value::Array(b));
                    }
                }
                r
            }
            Value::Object(o) => o
                .keys()
                .map(|k| {
                    let mut o = o.clone();
                    o.remove(k);
                    Value::Object(o)
                })
                .collect(),
            _ => vec![],
        };
        replacements.push(Value::Null);
        for r in replacements {
            let mut whole = value.clone();
            *whole.pointer_mut(pointer).expect("the walk's own pointer") = r;
            out.push((pointer.to_owned(), whole));
        }
    });
    out
}

fn walk(v: &Value, pointer: &str, f: &mut dyn FnMut(&str, &Value)) {
    f(pointer, v);
    match v {
        Value::Object(o) => {
            o.iter().for_each(|(k, c)| walk(c, &format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1")), f))
        }
        Value::Array(a) => a.iter().enumerate().for_each(|(i, c)| walk(c, &format!("{pointer}/{i}"), f)),
        _ => {}
    }
}

/// Runs `f`, quietly; `Err` with the panic's message if it panicked.
fn no_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default()
    })
}

struct Case {
    bundle: Bundle,
    root: Value,
    sha256: [u8; 32],
    policy: Policy,
}

fn case(name: &str) -> Option<Case> {
    let base = sig_share_testdata::vectors("sigstore-conformance")?;
    let dir = base.join("bundle-verify").join(name);
    let root_path = if dir.join("trusted_root.json").exists() {
        dir.join("trusted_root.json")
    } else {
        base.join("trust/public-good.trusted_root.json")
    };
    let root = serde_json::from_str(&std::fs::read_to_string(root_path).unwrap()).unwrap();
    let bundle = Bundle::from_json(&std::fs::read(dir.join("bundle.sigstore.json")).unwrap()).unwrap();
    let sha256 = Sha256::digest(std::fs::read(base.join("a.txt")).unwrap()).into();
    let policy = match std::fs::read_to_string(dir.join("key.pub")) {
        Ok(pem) => Policy::key_from_pem(&pem).unwrap(),
        Err(_) => Policy::Identity { identity: Matcher::Exact(IDENTITY.into()), issuer: Matcher::Exact(ISSUER.into()) },
    };
    Some(Case { bundle, root, sha256, policy })
}

/// Every one-place mutation of the trusted roots of a Rekor v2 bundle (time stamp), a Rekor v1
/// one (integrated time, SET) and a managed-key one: loading and then verifying never panics.
#[test]
fn no_mutation_of_a_trusted_root_panics_loading_or_verifying() {
    let mut tried = 0;
    let mut panics = Vec::new();
    for name in ["rekor2-timestamp-with-embedded-cert", "happy-path-v0.3", "managed-key-and-trusted-root"] {
        let Some(c) = case(name) else { return };
        let before = TrustedRoot::from_json(&c.root.to_string()).unwrap();
        verdict::verify(&c.bundle, &Artifact::from_sha256(c.sha256), &c.policy, &before, NOW)
            .unwrap_or_else(|e| panic!("{name} verifies unmutated: {e}"));
        for (pointer, mutated) in mutations(&c.root) {
            tried += 1;
            let text = mutated.to_string();
            let outcome = no_panic(|| {
                let Ok(root) = TrustedRoot::from_json(&text) else { return };
                let _ = verdict::verify(&c.bundle, &Artifact::from_sha256(c.sha256), &c.policy, &root, NOW);
            });
            if let Err(message) = outcome {
                panics.push(format!("{name} {pointer}: {message}"));
            }
        }
    }
    eprintln!("{tried} mutated trusted roots loaded and verified with");
    assert!(tried > 1_000, "{tried}");
    assert!(
        panics.is_empty(),
        "{} of {tried} panicked, e.g.:\n{}",
        panics.len(),
        panics[..panics.len().min(20)].join("\n")
    );
}

/// A non-ASCII or malformed time anywhere in trust material is refused when it is loaded,
/// naming where, so `trust pin` saves nothing and no verification meets it.
#[test]
fn bad_times_are_refused_on_load_naming_the_place() {
    let Some(c) = case("rekor2-timestamp-with-embedded-cert") else { return };
    let places = [
        "/tlogs/0/publicKey/validFor/start",
        "/ctlogs/0/publicKey/validFor/start",
        "/certificateAuthorities/0/validFor/start",
        "/timestampAuthorities/0/validFor/start",
    ];
    for place in places {
        for bad in ["2021-03-07T03:20:2é", "2é21-03-07T03:20:29Z", "not a time"] {
            let mut root = c.root.clone();
            *root.pointer_mut(place).unwrap_or_else(|| panic!("{place}")) = Value::from(bad);
            let err =
                no_panic(|| TrustedRoot::from_json(&root.to_string())).expect("no panic").unwrap_err().to_string();
            assert!(err.contains("validFor") && err.contains("RFC 3339"), "{place} {bad:?}: {err}");
        }
    }
}

/// The same for a whole ClientTrustConfig (public-good's trusted root and signing config):
/// every one-place mutation loads or is refused, never panics; a bad service time is refused.
#[test]
fn no_mutation_of_a_client_trust_config_panics() {
    let Some(base) = sig_share_testdata::vectors("sigstore-conformance") else { return };
    let read = |f: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(base.join("trust").join(f)).unwrap()).unwrap()
    };
    let config = serde_json::json!({
        "mediaType": sig_share_verify::trust::CLIENT_TRUST_CONFIG_MEDIA_TYPE,
        "trustedRoot": read("public-good.trusted_root.json"),
        "signingConfig": read("public-good.signing_config.v0.2.json"),
    });
    ClientTrustConfig::from_json(&config.to_string()).expect("public-good's config loads");
    let mut panics = Vec::new();
    let all = mutations(&config);
    for (pointer, mutated) in &all {
        if let Err(message) = no_panic(|| ClientTrustConfig::from_json(&mutated.to_string())) {
            panics.push(format!("{pointer}: {message}"));
        }
    }
    assert!(
        panics.is_empty(),
        "{} of {} panicked, e.g.:\n{}",
        panics.len(),
        all.len(),
        panics[..panics.len().min(20)].join("\n")
    );

    let mut signing = read("public-good.signing_config.v0.2.json");
    signing["caUrls"][0]["validFor"]["start"] = Value::from("2021-03-07T03:20:2é");
    let err = SigningConfig::from_json(&signing.to_string()).unwrap_err().to_string();
    assert!(err.contains("caUrls") && err.contains("validFor"), "{err}");
    signing = read("public-good.signing_config.v0.2.json");
    signing["tsaUrls"][0]["url"] = Value::from("file:///etc/passwd");
    let err = SigningConfig::from_json(&signing.to_string()).unwrap_err().to_string();
    assert!(err.contains("http(s)"), "{err}");
}
