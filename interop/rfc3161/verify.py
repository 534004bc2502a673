#!/usr/bin/env python3
"""Check a running sig-share TSA with rfc3161-client, the RFC 3161 library sigstore-python uses.

    verify.py --url http://127.0.0.1:PORT [--policy OID]

Fetches the chain from /api/v1/timestamp/certchain, then has rfc3161-client build requests,
POSTs them (DER and sigstore's JSON form) and verifies the answers with rfc3161-client's
VerifierBuilder the way sigstore-python does (TSA certificate = chain[0], root = chain[-1], the
rest intermediates), plus the nonce and the TSA's common name. Then it checks that the same code
rejects what it must: another message, another nonce, a flipped signature bit, a changed imprint,
another root, and a response without certificates when no TSA certificate is given.

Exit status 0 when every check held; 1 with the failing check on stderr otherwise.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import importlib.metadata
import json
import os
import sys
import urllib.error
import urllib.request

import cryptography.x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

CHECKS = 0


def check(cond: bool, what: str) -> None:
    global CHECKS
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    CHECKS += 1


def post(url: str, body: bytes, content_type: str) -> tuple[int, str, bytes]:
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type", ""), err.read()


def verifier(chain, *, nonce=None, policy=None, tsa_certificate=True, root=None):
    builder = VerifierBuilder()
    if tsa_certificate:
        builder = builder.tsa_certificate(chain[0])
    builder = builder.add_root_certificate(root or chain[-1])
    for cert in chain[1:-1]:
        builder = builder.add_intermediate_certificate(cert)
    if nonce is not None:
        builder = builder.nonce(nonce)
    if policy is not None:
        builder = builder.policy_id(policy)
    return builder.common_name(chain[0].subject.rfc4514_string()).build()


def rejects(fn, what: str) -> None:
    """The call must raise rfc3161-client's VerificationError (or fail to parse: ValueError)."""
    try:
        fn()
    except (VerificationError, ValueError) as err:
        print(f"rejected as it must be: {what}: {type(err).__name__}: {err}")
        check(True, what)
        return
    check(False, f"{what}: accepted")


def flip(data: bytes, index: int) -> bytes:
    b = bytearray(data)
    b[index] ^= 0x01
    return bytes(b)


def another_root() -> cryptography.x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = cryptography.x509.Name([cryptography.x509.NameAttribute(cryptography.x509.NameOID.COMMON_NAME, "impostor")])
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        cryptography.x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(cryptography.x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(cryptography.x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="the TSA's base URL")
    parser.add_argument("--policy", help="the policy OID every token must carry")
    args = parser.parse_args()
    base = args.url.rstrip("/")
    ts_url = f"{base}/api/v1/timestamp"
    policy = cryptography.x509.ObjectIdentifier(args.policy) if args.policy else None

    with urllib.request.urlopen(f"{ts_url}/certchain", timeout=10) as resp:
        chain = cryptography.x509.load_pem_x509_certificates(resp.read())
    check(len(chain) >= 2, "the chain has the TSA certificate and a root")
    leaf_der = chain[0].public_bytes(serialization.Encoding.DER)

    # --- DER requests as sigstore-python makes them (SHA-256, nonce, certReq), and SHA-512.
    for algorithm, hasher in ((HashAlgorithm.SHA256, hashlib.sha256), (HashAlgorithm.SHA512, hashlib.sha512)):
        message = os.urandom(71)
        request = (
            TimestampRequestBuilder().data(message).hash_algorithm(algorithm).nonce(nonce=True).build()
        )
        status, ctype, body = post(ts_url, request.as_bytes(), "application/timestamp-query")
        check(status == 200, f"{algorithm}: HTTP {status} {body[:200]!r}")
        check(ctype == "application/timestamp-reply", f"{algorithm}: Content-Type {ctype}")
        response = decode_timestamp_response(body)
        check(response.status == PKIStatus.GRANTED, f"{algorithm}: status {response.status}")
        tst = response.tst_info
        check(tst.nonce == request.nonce, f"{algorithm}: nonce echoed")
        check(tst.message_imprint.message == hasher(message).digest(), f"{algorithm}: imprint")
        check(policy is None or tst.policy == policy, f"{algorithm}: policy {tst.policy}")
        skew = abs((datetime.datetime.now(datetime.timezone.utc) - tst.gen_time).total_seconds())
        check(skew < 120, f"{algorithm}: genTime {tst.gen_time} is {skew}s from now")
        check(response.signed_data.certificates == {leaf_der}, f"{algorithm}: exactly the TSA certificate embedded")
        accuracy = tst.accuracy
        check(
            (accuracy.seconds, accuracy.millis, accuracy.micros) == (1, None, None),
            f"{algorithm}: accuracy {accuracy.seconds}s {accuracy.millis}ms {accuracy.micros}us",
        )
        check(tst.ordering is False, f"{algorithm}: ordering false")

        # As sigstore-python verifies (tsa certificate + root + intermediates), plus nonce, policy
        # and the common name.
        check(verifier(chain).verify_message(response, message), f"{algorithm}: sigstore-python's check")
        check(
            verifier(chain, nonce=request.nonce, policy=policy).verify_message(response, message),
            f"{algorithm}: verified with nonce, policy and common name",
        )

        # ... and what it must refuse.
        rejects(lambda: verifier(chain).verify_message(response, message + b"!"), f"{algorithm}: other message")
        rejects(
            lambda: verifier(chain, nonce=request.nonce + 1).verify_message(response, message),
            f"{algorithm}: other nonce",
        )
        tampered_sig = flip(body, len(body) - 1)  # the last byte is the ECDSA signature's
        rejects(
            lambda: verifier(chain).verify_message(decode_timestamp_response(tampered_sig), message),
            f"{algorithm}: flipped signature bit",
        )
        imprint = hasher(message).digest()
        at = body.find(imprint)
        check(at > 0, f"{algorithm}: imprint found in the response")
        tampered_imprint = flip(body, at)
        rejects(
            lambda: verifier(chain).verify(decode_timestamp_response(tampered_imprint), flip(imprint, 0)),
            f"{algorithm}: changed imprint (signature no longer covers it)",
        )
        impostor = another_root()
        rejects(
            lambda: verifier(chain, root=impostor).verify_message(response, message),
            f"{algorithm}: another root",
        )

    # --- No certReq: no certificate embedded; verifiable only with the TSA certificate given.
    message = os.urandom(33)
    request = TimestampRequestBuilder().data(message).hash_algorithm(HashAlgorithm.SHA256).cert_request(cert_request=False).build()
    status, _, body = post(ts_url, request.as_bytes(), "application/timestamp-query")
    check(status == 200, f"certReq=false: HTTP {status}")
    response = decode_timestamp_response(body)
    check(response.signed_data.certificates == set(), "certReq=false: no certificates")
    check(verifier(chain, nonce=request.nonce).verify_message(response, message), "certReq=false: verified")
    rejects(
        lambda: verifier(chain, tsa_certificate=False).verify_message(response, message),
        "certReq=false without a TSA certificate",
    )

    # --- sigstore-js's JSON request.
    message = os.urandom(64)
    js = json.dumps({"artifactHash": base64.b64encode(hashlib.sha256(message).digest()).decode(), "hashAlgorithm": "sha256"})
    status, ctype, body = post(ts_url, js.encode(), "application/json")
    check(status == 200 and ctype == "application/timestamp-reply", f"JSON: HTTP {status} {ctype}")
    response = decode_timestamp_response(body)
    check(verifier(chain).verify_message(response, message), "JSON: verified")

    # --- A refused request: HTTP 400 and a rejection rfc3161-client can read.
    js = json.dumps({"artifactHash": base64.b64encode(b"\0" * 20).decode(), "hashAlgorithm": "sha1"})
    status, ctype, body = post(ts_url, js.encode(), "application/json")
    check(status == 400 and ctype == "application/timestamp-reply", f"SHA-1: HTTP {status} {ctype}")
    response = decode_timestamp_response(body)
    check(response.status == PKIStatus.REJECTION, f"SHA-1: status {response.status}")
    check(any("SHA-1" in s for s in response.status_string), f"SHA-1: status string {response.status_string}")

    version = importlib.metadata.version("rfc3161-client")
    print(f"rfc3161-client {version}: {CHECKS} checks passed")


if __name__ == "__main__":
    main()
