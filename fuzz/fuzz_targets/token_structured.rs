//! Identity tokens built from structured input (`arbitrary`): the header's `alg`, `kid` and
//! other parameters, the issuer, audience, times, subject, email and any other claim as any JSON
//! value, a duplicate key, and how it is signed. Every choice's first variant is the valid one,
//! so an input of zeros is a token the CA accepts, and each mutation moves one part away from it.
//!
//! Each token goes to two CAs: one that trusts keys nobody holds (it must refuse everything),
//! and one that trusts the fuzzers' own key for five issuers, one of each type. What the second
//! accepts must have been signed by that key over exactly its header and payload, and must
//! satisfy every claim rule (issuer configured, audience, exp/iat/nbf with the skew, a verified
//! email for email issuers); its principal (SAN, challenge) must be the one its claims imply.

#![no_main]

use arbitrary::Arbitrary;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Number, Value, json};
use sig_share_ca::config::IssuerType;
use sig_share_fuzz::{NOW_SECS, SIGNER_KID, check_refused, check_signed, sign, signer_issuers, signing_input};

#[derive(Arbitrary, Debug)]
struct Input {
    issuer: Issuer,
    alg: Alg,
    kid: Kid,
    signature: Signature,
    exp: Time,
    iat: Time,
    nbf: Time,
    aud: Aud,
    sub: Text,
    email: Text,
    email_verified: Verified,
    header_extra: Vec<(HeaderName, Json)>,
    set: Vec<(ClaimName, Json)>,
    drop: Vec<ClaimName>,
    duplicate: Option<(ClaimName, Json)>,
}

#[derive(Arbitrary, Debug)]
enum Issuer {
    Configured(u8),
    WildcardLabel(String),
    LookAlike(u8),
    Raw(String),
    Absent,
    NotString(Json),
}

#[derive(Arbitrary, Debug)]
enum Alg {
    EdDSA,
    RS256,
    ES256,
    PS256,
    ES384,
    HS256,
    None,
    Raw(String),
    Absent,
    NotString(Json),
}

#[derive(Arbitrary, Debug)]
enum Kid {
    Signer,
    Absent,
    Unknown,
    Raw(String),
    NotString(Json),
}

#[derive(Arbitrary, Debug)]
enum Signature {
    Signer,
    Garbage(Vec<u8>),
    Empty,
    FlipBit(u16),
    NotBase64(String),
    OverOtherBytes(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum Time {
    Default,
    Offset(i32),
    Absolute(u64),
    Float(f64),
    Other(Json),
    Absent,
}

#[derive(Arbitrary, Debug)]
enum Aud {
    Default,
    List(Vec<AudItem>),
    Raw(String),
    Absent,
    Other(Json),
}

#[derive(Arbitrary, Debug)]
enum AudItem {
    Default,
    Raw(String),
    Other(Json),
}

#[derive(Arbitrary, Debug)]
enum Text {
    Default,
    Pick(u8),
    Raw(String),
    Absent,
}

#[derive(Arbitrary, Debug)]
enum Verified {
    True,
    StringTrue,
    False,
    Absent,
    Other(Json),
}

#[derive(Arbitrary, Debug)]
enum HeaderName {
    Typ,
    Crit,
    Jku,
    Jwk,
    X5c,
    Cty,
    B64,
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum ClaimName {
    Known(u8),
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Text(u8),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn value(&self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Int(i) => json!(i),
            Json::UInt(u) => json!(u),
            Json::Float(f) => float(*f),
            Json::Str(s) => Value::String(s.clone()),
            Json::Text(i) => Value::String(pick(*i)),
            Json::Array(items) => Value::Array(items.iter().map(Json::value).collect()),
            Json::Object(fields) => Value::Object(fields.iter().map(|(k, v)| (k.clone(), v.value())).collect()),
        }
    }
}

fn float(f: f64) -> Value {
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// Look-alikes of the configured issuers.
const LOOK_ALIKES: &[&str] = &[
    "https://accounts.example.com/",
    "https://accounts.example.com.evil.example",
    "http://accounts.example.com",
    "HTTPS://accounts.example.com",
    "https://accounts.example.com:443",
    "https://oidc.a.b.example.com",
    "https://oidc..example.com",
    "https://oidc.evil.com/.example.com",
    "https://oidc.x.example.com.evil.com",
    "https://oidc.*.example.com",
    "https://token.actions.githubusercontent.com/",
    " https://git.example.org",
];

/// Values the claim checks and the principal treat differently.
fn pick(i: u8) -> String {
    const TEXTS: &[&str] = &[
        "",
        "alice@example.com",
        "a@b",
        "@example.com",
        "alice@.example.com",
        "alice@example.com.",
        "al ice@example.com",
        "alice\n@example.com",
        "ünï@example.com",
        "https://ci.example.com/pipelines/1",
        "https://evil.example/x",
        "https://ci.example.com@evil.example/x",
        "https://evil.example@ci.example.com/x",
        "https://ci.example.com:443/x",
        "https://ci.example.com.evil/x",
        "https://ci.example.com?x",
        "spiffe://ci.example.com/x",
        "no-scheme",
        ":x",
        "1http://x",
        "alice",
        "a!b",
        "a b",
        "repo:o/r:ref:refs/heads/main",
        "o/r/.github/workflows/x.yml@refs/heads/main",
        "true",
        "sigstore",
        "sig-share",
        "EdDSA",
        "signer-1",
    ];
    match TEXTS.get(usize::from(i)) {
        Some(t) => (*t).to_owned(),
        None if i % 2 == 0 => "x".repeat(1024),
        None => "x".repeat(1025),
    }
}

/// Claims the CA or the principal read.
const CLAIMS: &[&str] = &[
    "iss",
    "aud",
    "exp",
    "iat",
    "nbf",
    "sub",
    "email",
    "email_verified",
    "preferred_username",
    "job_workflow_ref",
    "job_workflow_sha",
    "runner_environment",
    "repository",
    "sha",
    "ref",
    "repository_id",
    "repository_owner",
    "repository_owner_id",
    "workflow_ref",
    "workflow_sha",
    "event_name",
    "run_id",
    "run_attempt",
    "repository_visibility",
    "workflow",
    "environment",
];

impl ClaimName {
    fn name(&self) -> String {
        match self {
            ClaimName::Known(i) => CLAIMS[usize::from(*i) % CLAIMS.len()].to_owned(),
            ClaimName::Raw(s) => s.clone(),
        }
    }
}

/// A GitHub Actions token's claims.
fn github_claims() -> Map<String, Value> {
    let wf = "o/r/.github/workflows/x.yml@refs/heads/main";
    let v = json!({
        "job_workflow_ref": wf, "job_workflow_sha": "abc", "runner_environment": "github-hosted",
        "repository": "o/r", "sha": "abc", "ref": "refs/heads/main", "repository_id": "1",
        "repository_owner": "o", "repository_owner_id": "2", "workflow_ref": wf, "workflow_sha": "abc",
        "event_name": "push", "run_id": "9", "run_attempt": "1", "repository_visibility": "public",
        "workflow": "x"
    });
    v.as_object().cloned().unwrap_or_default()
}

fn build(input: &Input) -> (String, bool) {
    let issuers = signer_issuers();
    let (iss, config) = match &input.issuer {
        Issuer::Configured(i) => {
            let (iss, c) = &issuers[usize::from(*i) % issuers.len()];
            (Some(Value::String((*iss).to_owned())), Some(c))
        }
        Issuer::WildcardLabel(label) => {
            (Some(Value::String(format!("https://oidc.{label}.example.com"))), Some(&issuers[1].1))
        }
        Issuer::LookAlike(i) => {
            (Some(Value::String(LOOK_ALIKES[usize::from(*i) % LOOK_ALIKES.len()].to_owned())), None)
        }
        Issuer::Raw(s) => (Some(Value::String(s.clone())), None),
        Issuer::Absent => (None, None),
        Issuer::NotString(j) => (Some(j.value()), None),
    };
    let issuer_type = config.map_or(IssuerType::Email, |c| c.issuer_type);
    let audience = config.map_or("sigstore", |c| c.audience.as_str());

    let mut header = Map::new();
    let alg = match &input.alg {
        Alg::EdDSA => Some(json!("EdDSA")),
        Alg::RS256 => Some(json!("RS256")),
        Alg::ES256 => Some(json!("ES256")),
        Alg::PS256 => Some(json!("PS256")),
        Alg::ES384 => Some(json!("ES384")),
        Alg::HS256 => Some(json!("HS256")),
        Alg::None => Some(json!("none")),
        Alg::Raw(s) => Some(json!(s)),
        Alg::Absent => None,
        Alg::NotString(j) => Some(j.value()),
    };
    header.extend(alg.map(|a| ("alg".to_owned(), a)));
    let kid = match &input.kid {
        Kid::Signer => Some(json!(SIGNER_KID)),
        Kid::Absent => None,
        Kid::Unknown => Some(json!("rsa-1")),
        Kid::Raw(s) => Some(json!(s)),
        Kid::NotString(j) => Some(j.value()),
    };
    header.extend(kid.map(|k| ("kid".to_owned(), k)));
    header.insert("typ".into(), json!("JWT"));
    for (name, value) in &input.header_extra {
        let name = match name {
            HeaderName::Typ => "typ".to_owned(),
            HeaderName::Crit => "crit".to_owned(),
            HeaderName::Jku => "jku".to_owned(),
            HeaderName::Jwk => "jwk".to_owned(),
            HeaderName::X5c => "x5c".to_owned(),
            HeaderName::Cty => "cty".to_owned(),
            HeaderName::B64 => "b64".to_owned(),
            HeaderName::Raw(s) => s.clone(),
        };
        header.insert(name, value.value());
    }

    let mut claims = Map::new();
    claims.extend(iss.map(|i| ("iss".to_owned(), i)));
    let aud = match &input.aud {
        Aud::Default => Some(json!(audience)),
        Aud::List(items) => Some(Value::Array(
            items
                .iter()
                .map(|i| match i {
                    AudItem::Default => json!(audience),
                    AudItem::Raw(s) => json!(s),
                    AudItem::Other(j) => j.value(),
                })
                .collect(),
        )),
        Aud::Raw(s) => Some(json!(s)),
        Aud::Absent => None,
        Aud::Other(j) => Some(j.value()),
    };
    claims.extend(aud.map(|a| ("aud".to_owned(), a)));
    let now = i64::try_from(NOW_SECS).unwrap_or(i64::MAX);
    for (name, time, default) in
        [("exp", &input.exp, Some(now + 600)), ("iat", &input.iat, Some(now - 5)), ("nbf", &input.nbf, None)]
    {
        let value = match time {
            Time::Default => default.map(|d| json!(d)),
            Time::Offset(o) => Some(json!(now + i64::from(*o))),
            Time::Absolute(t) => Some(json!(t)),
            Time::Float(f) => Some(float(*f)),
            Time::Other(j) => Some(j.value()),
            Time::Absent => None,
        };
        claims.extend(value.map(|v| (name.to_owned(), v)));
    }
    let default_sub = match (issuer_type, config.and_then(|c| c.subject_domain.as_deref())) {
        (IssuerType::Email, _) => "1234567890".to_owned(),
        (IssuerType::Uri, Some(domain)) => format!("https://{domain}/pipelines/42"),
        (IssuerType::Uri, None) => "spiffe://example.com/alice".to_owned(),
        (IssuerType::Username, _) => "alice".to_owned(),
        (IssuerType::GithubWorkflow, _) => "repo:o/r:ref:refs/heads/main".to_owned(),
    };
    for (name, text, default) in
        [("sub", &input.sub, default_sub), ("email", &input.email, "alice@example.com".to_owned())]
    {
        let value = match text {
            Text::Default => Some(default),
            Text::Pick(i) => Some(pick(*i)),
            Text::Raw(s) => Some(s.clone()),
            Text::Absent => None,
        };
        claims.extend(value.map(|v| (name.to_owned(), Value::String(v))));
    }
    let verified = match &input.email_verified {
        Verified::True => Some(json!(true)),
        Verified::StringTrue => Some(json!("true")),
        Verified::False => Some(json!(false)),
        Verified::Absent => None,
        Verified::Other(j) => Some(j.value()),
    };
    claims.extend(verified.map(|v| ("email_verified".to_owned(), v)));
    if issuer_type == IssuerType::GithubWorkflow {
        claims.extend(github_claims());
    }
    claims.insert("preferred_username".into(), json!("alice"));
    for (name, value) in &input.set {
        claims.insert(name.name(), value.value());
    }
    for name in &input.drop {
        claims.remove(&name.name());
    }

    let header = Value::Object(header).to_string();
    let mut payload = Value::Object(claims).to_string();
    if let Some((name, value)) = &input.duplicate {
        // A key the payload may already have, written again: JSON parsers disagree on these.
        payload.pop();
        if payload.len() > 1 {
            payload.push(',');
        }
        payload.push_str(&format!("{}:{}}}", Value::String(name.name()), value.value()));
    }

    let signed_part = signing_input(header.as_bytes(), payload.as_bytes());
    let (signature, by_signer) = match &input.signature {
        Signature::Signer => (sign(signed_part.as_bytes()), true),
        Signature::Garbage(bytes) => (B64URL.encode(bytes), false),
        Signature::Empty => (String::new(), false),
        Signature::FlipBit(bit) => {
            let mut raw = B64URL.decode(sign(signed_part.as_bytes())).unwrap_or_default();
            let bit = usize::from(*bit) % (raw.len() * 8).max(1);
            if let Some(b) = raw.get_mut(bit / 8) {
                *b ^= 1 << (bit % 8);
            }
            (B64URL.encode(raw), false)
        }
        Signature::NotBase64(s) => (s.clone(), false),
        Signature::OverOtherBytes(bytes) => (sign(bytes), bytes.as_slice() == signed_part.as_bytes()),
    };
    (format!("{signed_part}.{signature}"), by_signer)
}

fuzz_target!(|input: Input| {
    let (token, by_signer) = build(&input);
    check_refused(&token);
    check_signed(&token, by_signer);
});
