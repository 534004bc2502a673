"""Signs a JPEG with a C2PA manifest using c2pa-python and a throwaway ES256 CA made on the spot.

    python sign-jpeg.py IN.jpg OUT.jpg [CA_PEM_OUT]

Used by smoke.mjs to turn the ~10 MB JPEG it renders in Chromium into a signed C2PA file for the
drop-to-verdict benchmark (the whole file is covered by the manifest's data hash, so a reader
hashes all of it). The CA certificate is written to CA_PEM_OUT (default OUT + ".ca.pem") so a
reader can be given it as a trust anchor. Run it with the interpreter interop/c2pa-python/venv.sh
prints (c2pa-python and cryptography, pinned there). No network: no time stamp authority.
"""
import datetime
import json
import sys

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sig-share test")])


def make_chain():
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("sig-share browser test CA"))
        .issuer_name(name("sig-share browser test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name("sig-share browser test signer"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return pem(leaf) + pem(ca), key_pem, pem(ca)


def main() -> None:
    src, dst = sys.argv[1], sys.argv[2]
    ca_out = sys.argv[3] if len(sys.argv) > 3 else dst + ".ca.pem"
    chain, key, ca = make_chain()
    # C2paSignerInfo takes bytes (a str fails in ctypes).
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain.encode(), key.encode(), None))
    manifest = {
        "claim_generator_info": [{"name": "sig-share browser harness", "version": "0"}],
        "title": "big.jpg",
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCreation",
                        }
                    ]
                },
            }
        ],
    }
    builder = c2pa.Builder(json.dumps(manifest))
    with open(src, "rb") as s, open(dst, "wb") as d:
        builder.sign(signer, "image/jpeg", s, d)
    with open(ca_out, "w", encoding="utf-8") as f:
        f.write(ca)


if __name__ == "__main__":
    main()
