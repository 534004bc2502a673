//! RFC 7512 PKCS#11 URIs: one string naming the module, the token, the key and where the PIN is,
//! the form `p11tool`, OpenSSL's pkcs11 provider and p11-kit print and accept.
//!
//! Only what names exactly one key is accepted. A URI is a filter in RFC 7512, and a loose filter
//! (no token, no object, an attribute this crate would have to ignore) could select a different
//! key tomorrow than today; a CA must never sign with a key it was not pointed at. So `token`,
//! `object` and `module-path` are required, `type` may only be `private`, the token may further be
//! pinned by `manufacturer`, `model` and `serial` and the key by `id`, and anything else (slot and
//! library attributes, `module-name`, vendor `x-` attributes, a repeated attribute, both
//! `pin-value` and `pin-source`) is refused with the reason.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use secrecy::{ExposeSecret, SecretString};

use crate::Pkcs11Error;

/// A parsed `pkcs11:` URI naming one private key.
///
/// `Display` writes it back without `pin-value`, so it can be logged; `Debug` redacts the PIN.
#[derive(Clone)]
pub struct Pkcs11Uri {
    module_path: PathBuf,
    token: String,
    manufacturer: Option<String>,
    model: Option<String>,
    serial: Option<String>,
    object: String,
    id: Option<Vec<u8>>,
    pin: Option<UriPin>,
}

#[derive(Clone)]
enum UriPin {
    Value(SecretString),
    Source(PathBuf),
}

impl Pkcs11Uri {
    /// The module (`module-path`).
    pub fn module_path(&self) -> &Path {
        &self.module_path
    }

    /// The token's label (`token`).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The token's manufacturer, if the URI pins it (`manufacturer`).
    pub fn manufacturer(&self) -> Option<&str> {
        self.manufacturer.as_deref()
    }

    /// The token's model, if the URI pins it (`model`).
    pub fn model(&self) -> Option<&str> {
        self.model.as_deref()
    }

    /// The token's serial number, if the URI pins it (`serial`).
    pub fn serial(&self) -> Option<&str> {
        self.serial.as_deref()
    }

    /// The key's label (`object`).
    pub fn object(&self) -> &str {
        &self.object
    }

    /// The key's `CKA_ID`, if the URI pins it (`id`).
    pub fn id(&self) -> Option<&[u8]> {
        self.id.as_deref()
    }

    /// Whether the URI carries a PIN (`pin-value` or `pin-source`).
    pub fn has_pin(&self) -> bool {
        self.pin.is_some()
    }

    /// The PIN the URI gives: `pin-value` as is, or `pin-source`'s file contents with one trailing
    /// newline removed (so `echo 1234 > pin` works).
    pub(crate) fn resolve_pin(&self) -> Result<Option<SecretString>, Pkcs11Error> {
        match &self.pin {
            None => Ok(None),
            Some(UriPin::Value(pin)) => Ok(Some(pin.clone())),
            Some(UriPin::Source(path)) => {
                let bytes = std::fs::read(path)
                    .map_err(|e| Pkcs11Error::Pin(format!("cannot read pin-source {}: {e}", path.display())))?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| Pkcs11Error::Pin(format!("pin-source {} is not UTF-8", path.display())))?;
                let text = SecretString::from(text);
                let pin = text.expose_secret();
                let pin = pin.strip_suffix('\n').map(|p| p.strip_suffix('\r').unwrap_or(p)).unwrap_or(pin);
                Ok(Some(SecretString::from(pin)))
            }
        }
    }
}

impl fmt::Debug for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Uri")
            .field("module_path", &self.module_path)
            .field("token", &self.token)
            .field("manufacturer", &self.manufacturer)
            .field("model", &self.model)
            .field("serial", &self.serial)
            .field("object", &self.object)
            .field("id", &self.id)
            .field(
                "pin",
                &match &self.pin {
                    None => "none".to_owned(),
                    Some(UriPin::Value(_)) => "pin-value (redacted)".to_owned(),
                    Some(UriPin::Source(p)) => format!("pin-source {}", p.display()),
                },
            )
            .finish()
    }
}

impl fmt::Display for Pkcs11Uri {
    /// The canonical URI, minus `pin-value`: what a log line or an error message may show.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pkcs11:token={}", encode(self.token.as_bytes(), PATH_EXTRA))?;
        for (name, value) in [("manufacturer", &self.manufacturer), ("model", &self.model), ("serial", &self.serial)] {
            if let Some(value) = value {
                write!(f, ";{name}={}", encode(value.as_bytes(), PATH_EXTRA))?;
            }
        }
        write!(f, ";object={}", encode(self.object.as_bytes(), PATH_EXTRA))?;
        if let Some(id) = &self.id {
            // Every byte escaped, as p11tool prints ids: they are binary.
            f.write_str(";id=")?;
            for b in id {
                write!(f, "%{b:02X}")?;
            }
        }
        let path = self.module_path.to_string_lossy();
        write!(f, ";type=private?module-path={}", encode(path.as_bytes(), QUERY_EXTRA))?;
        if let Some(UriPin::Source(p)) = &self.pin {
            write!(f, "&pin-source={}", encode(p.to_string_lossy().as_bytes(), QUERY_EXTRA))?;
        }
        Ok(())
    }
}

/// Characters besides RFC 3986 unreserved ones that RFC 7512 lets stand unescaped in a path
/// attribute value (`pk11-res-avail`).
const PATH_EXTRA: &str = ":[]@!$'()*+,=";
/// The same for a query attribute value (`pk11-res-avail-ex`).
const QUERY_EXTRA: &str = ":[]@!$'()*+,=/?|";

fn is_unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~')
}

fn encode(bytes: &[u8], extra: &str) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if is_unreserved(b) || extra.as_bytes().contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-decodes `value`, refusing characters RFC 7512 does not allow unescaped there and
/// malformed escapes.
fn decode(name: &str, value: &str, extra: &str) -> Result<Vec<u8>, Pkcs11Error> {
    let bad = |what: String| Pkcs11Error::Uri(format!("attribute {name}: {what}"));
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&c) = bytes.get(i) {
        if c == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            let byte = hex
                .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| bad(format!("malformed percent escape at byte {i}")))?;
            out.push(byte);
            i += 3;
        } else if is_unreserved(c) || extra.as_bytes().contains(&c) {
            out.push(c);
            i += 1;
        } else {
            return Err(bad(format!("character {:?} must be percent-encoded", char::from(c))));
        }
    }
    Ok(out)
}

fn text(name: &str, bytes: Vec<u8>) -> Result<String, Pkcs11Error> {
    String::from_utf8(bytes).map_err(|_| Pkcs11Error::Uri(format!("attribute {name} is not UTF-8")))
}

fn set<T>(slot: &mut Option<T>, name: &str, value: T) -> Result<(), Pkcs11Error> {
    if slot.is_some() {
        return Err(Pkcs11Error::Uri(format!("attribute {name} appears twice")));
    }
    *slot = Some(value);
    Ok(())
}

/// Splits `attr` at its first `=`.
fn name_value(attr: &str) -> Result<(&str, &str), Pkcs11Error> {
    match attr.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name, value)),
        _ => Err(Pkcs11Error::Uri(format!("{attr:?} is not name=value"))),
    }
}

impl FromStr for Pkcs11Uri {
    type Err = Pkcs11Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case("pkcs11:"))
            .and_then(|_| s.get(7..))
            .ok_or_else(|| Pkcs11Error::Uri("must start with pkcs11:".into()))?;
        if rest.contains('#') {
            return Err(Pkcs11Error::Uri("a PKCS#11 URI has no fragment ('#' must be percent-encoded)".into()));
        }
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));

        let (mut token, mut manufacturer, mut model, mut serial) = (None, None, None, None);
        let (mut object, mut id, mut kind) = (None, None, None);
        for attr in path.split(';').filter(|_| !path.is_empty()) {
            let (name, raw) = name_value(attr)?;
            let value = decode(name, raw, PATH_EXTRA)?;
            match name {
                "token" => set(&mut token, name, text(name, value)?)?,
                "manufacturer" => set(&mut manufacturer, name, text(name, value)?)?,
                "model" => set(&mut model, name, text(name, value)?)?,
                "serial" => set(&mut serial, name, text(name, value)?)?,
                "object" => set(&mut object, name, text(name, value)?)?,
                "id" => set(&mut id, name, value)?,
                "type" => set(&mut kind, name, text(name, value)?)?,
                "library-manufacturer"
                | "library-description"
                | "library-version"
                | "slot-description"
                | "slot-manufacturer"
                | "slot-id" => {
                    return Err(Pkcs11Error::Uri(format!(
                        "attribute {name} is not supported: name the token by token, manufacturer, model and serial"
                    )));
                }
                other if other.starts_with("x-") => {
                    return Err(Pkcs11Error::Uri(format!("vendor attribute {other} is not supported")));
                }
                other => return Err(Pkcs11Error::Uri(format!("unknown path attribute {other}"))),
            }
        }

        let (mut module_path, mut pin_value, mut pin_source) = (None, None, None);
        for attr in query.split('&').filter(|_| !query.is_empty()) {
            let (name, raw) = name_value(attr)?;
            let value = decode(name, raw, QUERY_EXTRA)?;
            match name {
                "module-path" => set(&mut module_path, name, PathBuf::from(text(name, value)?))?,
                "pin-value" => set(&mut pin_value, name, SecretString::from(text(name, value)?))?,
                "pin-source" => {
                    let source = text(name, value)?;
                    // RFC 7512 gives `file:` URIs as the example; a bare absolute path is what
                    // p11-kit accepts too. Either way the file is read when the key is opened.
                    let path = source
                        .strip_prefix("file://")
                        .or_else(|| source.strip_prefix("file:"))
                        .unwrap_or(&source)
                        .to_owned();
                    if !path.starts_with('/') {
                        return Err(Pkcs11Error::Uri(format!(
                            "pin-source {source:?} must be an absolute path or file: URI"
                        )));
                    }
                    set(&mut pin_source, name, PathBuf::from(path))?
                }
                "module-name" => {
                    return Err(Pkcs11Error::Uri(
                        "module-name is not supported: give the module file as module-path".into(),
                    ));
                }
                other => return Err(Pkcs11Error::Uri(format!("unknown query attribute {other}"))),
            }
        }

        let missing = |what: &str| {
            Pkcs11Error::Uri(format!("{what} is required: without it the URI may match more than one key"))
        };
        let token = token.ok_or_else(|| missing("token"))?;
        let object = object.ok_or_else(|| missing("object"))?;
        let module_path: PathBuf = module_path.ok_or_else(|| Pkcs11Error::Uri("module-path is required".into()))?;
        if !module_path.is_absolute() {
            return Err(Pkcs11Error::Uri(format!("module-path {} must be absolute", module_path.display())));
        }
        if let Some(kind) = kind.filter(|k| k != "private") {
            return Err(Pkcs11Error::Uri(format!("type={kind}: a signing key is type=private")));
        }
        if token.is_empty() || object.is_empty() {
            return Err(Pkcs11Error::Uri("token and object must not be empty".into()));
        }
        let pin = match (pin_value, pin_source) {
            (Some(_), Some(_)) => {
                return Err(Pkcs11Error::Uri("both pin-value and pin-source: give one".into()));
            }
            (Some(v), None) => Some(UriPin::Value(v)),
            (None, Some(p)) => Some(UriPin::Source(p)),
            (None, None) => None,
        };
        Ok(Self { module_path, token, manufacturer, model, serial, object, id, pin })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Pkcs11Uri, Pkcs11Error> {
        s.parse()
    }

    fn refused(s: &str, expect: &str) {
        match parse(s) {
            Err(Pkcs11Error::Uri(msg)) => assert!(msg.contains(expect), "{s}: {msg}"),
            other => panic!("{s}: expected a URI error containing {expect:?}, got {other:?}"),
        }
    }

    #[test]
    fn minimal_uri() {
        let uri =
            parse("pkcs11:token=test;object=ca?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234").unwrap();
        assert_eq!(uri.token(), "test");
        assert_eq!(uri.object(), "ca");
        assert_eq!(uri.module_path(), Path::new("/usr/lib/softhsm/libsofthsm2.so"));
        assert_eq!(uri.id(), None);
        assert_eq!(uri.resolve_pin().unwrap().unwrap().expose_secret(), "1234");
    }

    #[test]
    fn p11tool_style_uri_with_escapes() {
        // The shape p11tool --list-privkeys prints, plus a module path.
        let uri = parse(
            "PKCS11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=8c5a0a1bfa8e3c7d;\
             token=sig-share%20CA;id=%01%A2%ff;object=root%3Bkey;type=private\
             ?module-path=/usr/lib/softhsm/libsofthsm2.so",
        )
        .unwrap();
        assert_eq!(uri.token(), "sig-share CA");
        assert_eq!(uri.model(), Some("SoftHSM v2"));
        assert_eq!(uri.manufacturer(), Some("SoftHSM project"));
        assert_eq!(uri.serial(), Some("8c5a0a1bfa8e3c7d"));
        assert_eq!(uri.object(), "root;key");
        assert_eq!(uri.id(), Some(&[0x01, 0xa2, 0xff][..]));
        assert!(!uri.has_pin());
        assert!(uri.resolve_pin().unwrap().is_none());
    }

    #[test]
    fn display_round_trips_and_never_shows_pin_value() {
        let s = "pkcs11:token=a%20b;serial=42;object=k%3D1%2Fx;id=%00%10?module-path=/opt/my%20hsm/lib.so&pin-value=s3cr%2Et";
        let uri = parse(s).unwrap();
        let shown = uri.to_string();
        assert_eq!(
            shown,
            "pkcs11:token=a%20b;serial=42;object=k=1%2Fx;id=%00%10;type=private?module-path=/opt/my%20hsm/lib.so"
        );
        assert!(!shown.contains("s3cr") && !format!("{uri:?}").contains("s3cr"), "{shown} {uri:?}");
        let back = parse(&shown).unwrap();
        assert_eq!(
            (back.token(), back.object(), back.id(), back.serial()),
            (uri.token(), uri.object(), uri.id(), uri.serial())
        );
        assert_eq!(back.module_path(), uri.module_path());

        let with_source = parse("pkcs11:token=t;object=o?module-path=/m.so&pin-source=file:/run/pin").unwrap();
        assert_eq!(
            with_source.to_string(),
            "pkcs11:token=t;object=o;type=private?module-path=/m.so&pin-source=/run/pin"
        );
    }

    #[test]
    fn pin_source_file_is_read_without_its_newline() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pin");
        std::fs::write(&file, "98765\r\n").unwrap();
        for form in
            [format!("file:{}", file.display()), format!("file://{}", file.display()), file.display().to_string()]
        {
            let uri = parse(&format!("pkcs11:token=t;object=o?module-path=/m.so&pin-source={form}")).unwrap();
            assert_eq!(uri.resolve_pin().unwrap().unwrap().expose_secret(), "98765", "{form}");
        }
        let uri =
            parse(&format!("pkcs11:token=t;object=o?module-path=/m.so&pin-source={}/absent", dir.path().display()))
                .unwrap();
        assert!(matches!(uri.resolve_pin(), Err(Pkcs11Error::Pin(_))));
    }

    #[test]
    fn ambiguous_or_unsupported_uris_are_refused() {
        let m = "module-path=/m.so";
        refused("pkcs12:token=t;object=o", "pkcs11:");
        refused(&format!("pkcs11:object=o?{m}"), "token is required");
        refused(&format!("pkcs11:token=t?{m}"), "object is required");
        refused(&format!("pkcs11:token=t;id=%01?{m}"), "object is required");
        refused("pkcs11:token=t;object=o", "module-path is required");
        refused("pkcs11:token=t;object=o?module-path=lib.so", "absolute");
        refused(&format!("pkcs11:token=t;object=o;object=p?{m}"), "twice");
        refused(&format!("pkcs11:token=t;token=t;object=o?{m}"), "twice");
        refused(&format!("pkcs11:token=t;object=o?{m}&{m}"), "twice");
        refused(&format!("pkcs11:token=t;object=o;type=public?{m}"), "type=public");
        refused(&format!("pkcs11:token=t;object=o;slot-id=3?{m}"), "slot-id is not supported");
        refused(&format!("pkcs11:token=t;object=o;x-vendor=1?{m}"), "vendor");
        refused(&format!("pkcs11:token=t;object=o;colour=red?{m}"), "unknown path attribute");
        refused(&format!("pkcs11:token=t;object=o?{m}&module-name=softhsm2"), "module-name");
        refused(&format!("pkcs11:token=t;object=o?{m}&pin-value=1&pin-source=/p"), "both");
        refused(&format!("pkcs11:token=t;object=o?{m}&pin-source=pin.txt"), "absolute");
        refused(&format!("pkcs11:token=t;object=o?{m}&verbose=1"), "unknown query attribute");
        refused(&format!("pkcs11:token=t;;object=o?{m}"), "name=value");
        refused(&format!("pkcs11:token=t;object?{m}"), "name=value");
        refused(&format!("pkcs11:token=t;object=o#frag?{m}"), "fragment");
        refused(&format!("pkcs11:token=a b;object=o?{m}"), "percent-encoded");
        refused(&format!("pkcs11:token=a/b;object=o?{m}"), "percent-encoded");
        refused(&format!("pkcs11:token=%4;object=o?{m}"), "percent escape");
        refused(&format!("pkcs11:token=%zz;object=o?{m}"), "percent escape");
        refused(&format!("pkcs11:token=%ff;object=o?{m}"), "UTF-8");
        refused(&format!("pkcs11:token=;object=o?{m}"), "empty");
        refused("pkcs11:", "token is required");
    }
}
