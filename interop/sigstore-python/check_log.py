#!/usr/bin/env python3
"""Check sig-share log answers with sigstore-python's own verification code.

    check_log.py --url http://127.0.0.1:PORT --vkey "$(cat DATA/log.pub)"

Posts hashedrekord 0.0.2 entries through sigstore-python's RekorV2Client, then runs
sigstore-python's checks for the parts the log owns: strict TransparencyLogEntry and
body parsing (sigstore_models), checkpoint (_internal/rekor/checkpoint.py), Merkle
inclusion (_internal/merkle.py), v002 body comparison (verify/verifier.py). Tampered
answers must be rejected by the same functions. One line per check; exit 1 on failure.
"""
import argparse, base64, copy, datetime, hashlib, json, sys, types

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from pydantic import ValidationError
from sigstore_models.common import v1 as common_v1
from sigstore_models.rekor import v2 as rekor_v2
from sigstore_models.rekor.v1 import TransparencyLogEntry as _TLE
from sigstore_models.trustroot import v1 as trustroot_v1

from sigstore._internal.merkle import verify_merkle_inclusion
from sigstore._internal.rekor.checkpoint import verify_checkpoint
from sigstore._internal.rekor.client_v2 import RekorV2Client
from sigstore._internal.trust import KeyringPurpose
from sigstore.errors import Error as SigstoreError
from sigstore.hashes import Hashed
from sigstore.models import TransparencyLogEntry, TrustedRoot
from sigstore.verify.verifier import _validate_hashedrekord_v002_entry_body

SPKI = dict(encoding=serialization.Encoding.DER, format=serialization.PublicFormat.SubjectPublicKeyInfo)
b64 = lambda b: base64.b64encode(b).decode()
failures = 0


def report(ok, what, detail=""):
    global failures
    failures += not ok
    print(f"{'PASS' if ok else 'FAIL'}  {what}" + (f"  [{detail}]" if detail else ""), flush=True)


def accept(what, fn):
    """Positive check: fn (sigstore-python code) must not raise."""
    try:
        fn()
        report(True, what)
    except Exception as e:  # noqa: BLE001 - any exception is a failure here
        report(False, what, f"{type(e).__name__}: {e}")


def reject(what, fn):
    """Negative check: fn must raise sigstore's VerificationError/Error or a pydantic ValidationError."""
    try:
        fn()
        report(False, what, "accepted, but should have been rejected")
    except (SigstoreError, ValidationError) as e:
        report(True, what, f"rejected: {type(e).__name__}: {str(e).splitlines()[0][:90]}")


def c2sp_log_id(origin, pub32):
    # C2SP signed-note key ID for Ed25519: SHA-256(origin || "\n" || 0x01 || pub)
    return hashlib.sha256(origin.encode() + b"\n\x01" + pub32).digest()


def keyring_for(origin, pub32):
    """A trusted root holding one Ed25519 tlog, loaded the way sigstore-python loads one."""
    spki = ed25519.Ed25519PublicKey.from_public_bytes(pub32).public_bytes(**SPKI)
    inner = trustroot_v1.TrustedRoot.from_json(json.dumps({  # JSON, as TrustedRoot.from_file reads it
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [{"baseUrl": f"http://{origin}", "hashAlgorithm": "SHA2_256",
                   "publicKey": {"rawBytes": b64(spki), "keyDetails": "PKIX_ED25519",
                                 "validFor": {"start": "2020-01-01T00:00:00Z"}},
                   "logId": {"keyId": b64(c2sp_log_id(origin, pub32))}}],
        "certificateAuthorities": [], "ctlogs": [], "timestampAuthorities": []}))
    return TrustedRoot(inner).rekor_keyring(KeyringPurpose.VERIFY)


def self_signed(key):
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "sig-share interop")])
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))


def reparse(raw):
    """Parse a (possibly tampered) response dict exactly as RekorV2Client.create_entry does."""
    return TransparencyLogEntry(_TLE.from_dict(raw))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--vkey", required=True, help="note verifier key: origin+keyid+base64(0x01||pub32)")
    args = ap.parse_args()

    origin, hint, keyb64 = args.vkey.strip().split("+", 2)  # the base64 key may itself contain "+"
    key = base64.b64decode(keyb64)
    assert key[0] == 1 and len(key) == 33, "not an Ed25519 note key"
    pub32 = key[1:]
    log_id = c2sp_log_id(origin, pub32)
    report(log_id[:4].hex() == hint, f"vkey hint {hint} == C2SP log ID prefix {log_id[:4].hex()}")
    keyring = keyring_for(origin, pub32)
    other_pub = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes_raw()

    # sigstore-python's own Rekor v2 client; a response hook keeps the raw JSON for tampering.
    client = RekorV2Client(args.url.rstrip("/"))
    raws = []
    client._session.hooks["response"].append(lambda r, *a, **k: raws.append(r.json()))

    sk = ec.generate_private_key(ec.SECP256R1())
    cert = self_signed(sk)
    results = []  # (form, raw response dict, parsed entry)
    for i in range(4):
        artifact = f"sig-share interop artifact {i} {datetime.datetime.now().isoformat()}".encode()
        digest = hashlib.sha256(artifact).digest()
        sig = sk.sign(artifact, ec.ECDSA(hashes.SHA256()))
        hashed = Hashed(algorithm=common_v1.HashAlgorithm.SHA2_256, digest=digest)
        if i % 2 == 0:  # the request sigstore-python itself builds (x509Certificate verifier)
            form, payload = "x509Certificate", RekorV2Client._build_hashed_rekord_request(hashed, sig, cert)
        else:  # the publicKey verifier form (sigstore-python never sends it; other clients do)
            form, payload = "publicKey", {"hashedRekordRequestV002": {"digest": b64(digest), "signature": {
                "content": b64(sig), "verifier": {"publicKey": {"rawBytes": b64(sk.public_key().public_bytes(**SPKI))},
                                                  "keyDetails": "PKIX_ECDSA_P256_SHA_256"}}}}
        try:
            entry = client.create_entry(payload)  # POST + raise_for_status + strict _TLE.from_dict + TLE._validate
            report(True, f"[{i} {form}] POST accepted; strict TransparencyLogEntry parse (client_v2.create_entry)")
        except Exception as e:  # noqa: BLE001
            report(False, f"[{i} {form}] POST / strict TransparencyLogEntry parse", f"{type(e).__name__}: {e}")
            continue
        raw, inner = raws[-1], entry._inner
        p = inner.inclusion_proof
        print(f"      logIndex={inner.log_index} treeSize={p.tree_size} proofHashes={len(p.hashes)}")
        report(inner.log_id.key_id == log_id, f"[{i}] logId.keyId == C2SP log ID (own check: sigstore only uses it as key hint)")
        report(inner.kind_version.kind == "hashedrekord" and inner.kind_version.version == "0.0.2", f"[{i}] kindVersion hashedrekord 0.0.2")
        accept(f"[{i}] checkpoint signature + root (checkpoint.verify_checkpoint)", lambda: verify_checkpoint(keyring, entry))
        accept(f"[{i}] Merkle inclusion (merkle.verify_merkle_inclusion)", lambda: verify_merkle_inclusion(entry))
        accept(f"[{i}] body parses strictly (rekor v2 Entry.from_json)", lambda: rekor_v2.entry.Entry.from_json(inner.canonicalized_body))
        # The whole per-entry check of Verifier.verify_artifact step (4): TransparencyLogEntry._verify.
        accept(f"[{i}] TransparencyLogEntry._verify (merkle + checkpoint)", lambda: entry._verify(keyring))
        if form == "x509Certificate":
            # verify_artifact -> _validate_hashedrekord_v002_entry_body(bundle, hashed_input). It reads only
            # bundle.log_entry, bundle.signing_certificate and bundle._inner.message_signature, so a minimal
            # stand-in is passed (a real Bundle needs a TSA timestamp, models.py Bundle._verify).
            bundle = types.SimpleNamespace(log_entry=entry, signing_certificate=cert, _inner=types.SimpleNamespace(
                message_signature=common_v1.MessageSignature(signature=base64.b64encode(sig))))
            accept(f"[{i}] v002 body == expected (verifier._validate_hashedrekord_v002_entry_body)",
                   lambda: _validate_hashedrekord_v002_entry_body(bundle, hashed))
            wrong = Hashed(algorithm=hashed.algorithm, digest=hashlib.sha256(b"other").digest())
            reject(f"[{i}] NEG body vs a different artifact digest", lambda: _validate_hashedrekord_v002_entry_body(bundle, wrong))
        else:
            # sigstore-python only ever builds an x509Certificate verifier (_v2_verifier_from_certificate), so
            # the publicKey body is compared here with the same models, built the same way (own construction).
            expected = rekor_v2.entry.Entry(kind="hashedrekord", api_version="0.0.2", spec=rekor_v2.entry.Spec(
                hashed_rekord_v002=rekor_v2.hashedrekord.HashedRekordLogEntryV002(
                    data=common_v1.HashOutput(algorithm=hashed.algorithm, digest=base64.b64encode(digest)),
                    signature=rekor_v2.verifier.Signature(content=base64.b64encode(sig), verifier=rekor_v2.verifier.Verifier(
                        public_key=rekor_v2.verifier.PublicKey(raw_bytes=base64.b64encode(sk.public_key().public_bytes(**SPKI))),
                        key_details=common_v1.PublicKeyDetails.PKIX_ECDSA_P256_SHA_256)))))
            report(expected == rekor_v2.entry.Entry.from_json(inner.canonicalized_body),
                   f"[{i}] v002 publicKey body == expected (own construction with sigstore_models)")
        results.append((form, raw, entry))

    if not results:
        report(False, "no entry was logged; negative checks skipped")
        return 1
    # ---- Negative checks: tamper with an answer, re-parse it as the client does, run the same functions.
    form, raw, entry = max(results, key=lambda r: len(r[2]._inner.inclusion_proof.hashes))

    def tampered(mutate):
        t = copy.deepcopy(raw)
        mutate(t)
        return reparse(t)

    def flip_b64(s, at=0):
        b = bytearray(base64.b64decode(s)); b[at] ^= 1
        return b64(bytes(b))

    control = tampered(lambda t: None)  # the untouched answer, re-parsed the same way, must still verify
    accept("control: untouched answer re-parsed -> TransparencyLogEntry._verify", lambda: control._verify(keyring))
    if entry._inner.inclusion_proof.hashes:
        t = tampered(lambda t: t["inclusionProof"]["hashes"].__setitem__(0, flip_b64(t["inclusionProof"]["hashes"][0])))
        reject("NEG flipped inclusion-proof hash -> verify_merkle_inclusion", lambda: verify_merkle_inclusion(t))
    else:
        report(False, "NEG flipped proof hash: no entry had proof hashes")
    t = tampered(lambda t: t["inclusionProof"].__setitem__("rootHash", flip_b64(t["inclusionProof"]["rootHash"])))
    reject("NEG flipped inclusionProof.rootHash -> verify_merkle_inclusion", lambda: verify_merkle_inclusion(t))
    reject("NEG flipped inclusionProof.rootHash -> verify_checkpoint (root != checkpoint)", lambda: verify_checkpoint(keyring, t))
    t = tampered(lambda t: t.__setitem__("canonicalizedBody", b64(base64.b64decode(t["canonicalizedBody"]).replace(b'"0.0.2"', b'"0.0.3"'))))
    reject("NEG altered canonicalizedBody -> verify_merkle_inclusion", lambda: verify_merkle_inclusion(t))

    def bad_sig(t):  # flip one bit inside the Ed25519 signature (after the 4-byte key hint)
        env = t["inclusionProof"]["checkpoint"]["envelope"]
        text, sigs = env.split("\n\n")
        name_sig = sigs.split("\n")[0].rsplit(" ", 1)
        t["inclusionProof"]["checkpoint"]["envelope"] = f"{text}\n\n{name_sig[0]} {flip_b64(name_sig[1], 10)}\n"
    t = tampered(bad_sig)
    reject("NEG altered checkpoint signature -> verify_checkpoint", lambda: verify_checkpoint(keyring, t))
    reject("NEG different log key in trusted root -> verify_checkpoint", lambda: verify_checkpoint(keyring_for(origin, other_pub), entry))
    t = tampered(lambda t: t["logId"].__setitem__("keyId", b64(c2sp_log_id(origin, other_pub))))
    reject("NEG logId of another key (hint mismatch) -> verify_checkpoint", lambda: verify_checkpoint(keyring, t))
    reject("NEG checkpoint.envelope with 2 blank lines -> verify_checkpoint",
           lambda: verify_checkpoint(keyring, tampered(lambda t: t["inclusionProof"]["checkpoint"].__setitem__(
               "envelope", t["inclusionProof"]["checkpoint"]["envelope"].replace("\n\n", "\n\n\n\n")))))
    # Strict parsing: what the client's model classes refuse.
    reject("NEG strict parse: logIndex as JSON number", lambda: tampered(lambda t: t.__setitem__("logIndex", int(t["logIndex"]))))
    reject("NEG strict parse: unknown field in TransparencyLogEntry", lambda: tampered(lambda t: t.__setitem__("extra", "x")))
    reject("NEG strict parse: missing checkpoint", lambda: tampered(lambda t: t["inclusionProof"].pop("checkpoint")))
    body = base64.b64decode(raw["canonicalizedBody"]).replace(b'"kind"', b'"extra":1,"kind"', 1)
    reject("NEG strict parse: unknown field in canonicalized body", lambda: rekor_v2.entry.Entry.from_json(body))

    print(f"{'OK' if failures == 0 else 'FAILED'}: {failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
