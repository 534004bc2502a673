#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/<target>/ (run from anywhere; needs openssl).

Real shapes: sigstore-python's body (base64 of a PEM CSR made by `openssl req -new -subj /`),
sigstore-js's body (PEM key + proof of possession), JWT-shaped tokens for the fixed key sets in
src/lib.rs, and raw keys and CSRs. Keys are made fresh each time; the files are committed.
"""

import base64
import json
import os
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
NOW = 1_800_000_000  # src/lib.rs NOW_SECS
TRUSTED = "https://accounts.example.com"


def b64(b):
    return base64.b64encode(b).decode()


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=True).stdout


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def jwt(header, claims, sig=b"\x00" * 64):
    return f"{b64u(json.dumps(header).encode())}.{b64u(json.dumps(claims).encode())}.{b64u(sig)}"


def main():
    tmp = tempfile.mkdtemp()
    keys = {}
    for name, args in [
        ("p256", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
        ("p384", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]),
        ("ed25519", ["-algorithm", "ED25519"]),
        ("rsa", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
    ]:
        path = os.path.join(tmp, name + ".pem")
        openssl("genpkey", *args, "-out", path)
        keys[name] = path

    def pub(name, form="PEM"):
        return openssl("pkey", "-in", keys[name], "-pubout", "-outform", form)

    def csr(name, *extra, form="PEM"):
        return openssl("req", "-new", "-key", keys[name], "-subj", "/", *extra, "-outform", form)

    email = "alice@example.com"
    claims = {"iss": TRUSTED, "aud": "sigstore", "sub": "1234567890", "email": email,
              "email_verified": True, "exp": NOW + 600, "iat": NOW - 5}
    token = jwt({"alg": "RS256", "kid": "rsa-1", "typ": "JWT"}, claims, b"\x01" * 256)

    # csr_request: request bodies.
    pem_csr = csr("p256")
    write("csr_request", "sigstore-python", json.dumps({"certificateSigningRequest": b64(pem_csr)}))
    write("csr_request", "csr-der-with-credentials", json.dumps(
        {"credentials": {"oidcIdentityToken": token}, "certificateSigningRequest": b64(csr("p384", form="DER"))}))
    write("csr_request", "csr-ed25519-san", json.dumps({"certificateSigningRequest": b64(
        csr("ed25519", "-addext", "subjectAltName=email:alice@example.com"))}))
    challenge_sig = openssl("dgst", "-sha256", "-sign", keys["p256"], data=email.encode())
    write("csr_request", "sigstore-js", json.dumps({
        "credentials": {"oidcIdentityToken": token},
        "publicKeyRequest": {"publicKey": {"algorithm": "ECDSA", "content": pub("p256").decode()},
                             "proofOfPossession": b64(challenge_sig)}}))
    write("csr_request", "public-key-base64-der", json.dumps({
        "publicKeyRequest": {"publicKey": {"content": b64(pub("ed25519", "DER"))}, "proofOfPossession": "AAAA"}}))
    write("csr_request", "both-forms", json.dumps({
        "certificateSigningRequest": b64(pem_csr),
        "publicKeyRequest": {"publicKey": {"content": pub("p256").decode()}, "proofOfPossession": "AAAA"}}))
    write("csr_request", "null-form", json.dumps({"publicKeyRequest": None, "certificateSigningRequest": b64(pem_csr)}))

    # token: mode byte, then the token (0), the parts joined by NUL (1, 2), or a prefix (3).
    write("token", "rs256", b"\x00" + token.encode())
    write("token", "es256", b"\x00" + jwt({"alg": "ES256", "kid": "ec-1"}, claims).encode())
    write("token", "eddsa-no-kid", b"\x00" + jwt({"alg": "EdDSA"}, claims).encode())
    write("token", "alg-none", b"\x00" + jwt({"alg": "none"}, claims, b"").encode())
    write("token", "parts", b"\x01" + json.dumps({"alg": "EdDSA", "kid": "ed-1"}).encode() + b"\x00"
          + json.dumps(claims).encode() + b"\x00" + b"\x02" * 64)
    signed = [
        (claims, {}),
        ({"iss": "https://oidc.eu-1.example.com", "aud": "sig-share", "sub": "https://ci.example.com/p/1",
          "exp": NOW + 600, "iat": NOW - 5, "nbf": NOW - 5}, {}),
        ({"iss": "https://token.actions.githubusercontent.com", "aud": ["sigstore"], "sub": "repo:o/r:ref:refs/heads/main",
          "exp": NOW + 600, "iat": NOW - 5, "job_workflow_ref": "o/r/.github/workflows/x.yml@refs/heads/main",
          "job_workflow_sha": "abc", "runner_environment": "github-hosted", "repository": "o/r", "sha": "abc",
          "ref": "refs/heads/main", "repository_id": "1", "repository_owner": "o", "repository_owner_id": "2",
          "workflow_ref": "o/r/.github/workflows/x.yml@refs/heads/main", "workflow_sha": "abc",
          "event_name": "push", "run_id": "9", "run_attempt": "1", "repository_visibility": "public",
          "workflow": "x"}, {}),
        ({"iss": "https://git.example.org", "aud": "sigstore", "sub": "alice", "exp": NOW + 600, "iat": NOW - 5}, {}),
        ({"iss": "https://custom.example.net", "aud": "sigstore", "sub": "spiffe://example.com/a",
          "preferred_username": "alice", "exp": NOW + 600.5, "iat": NOW - 5}, {}),
    ]
    for i, (c, _) in enumerate(signed):
        write("token", f"signed-{i}", b"\x02" + json.dumps({"alg": "EdDSA", "kid": "signer-1"}).encode() + b"\x00"
              + json.dumps(c).encode())
    write("token", "oversized", b"\x03" + token.encode())

    # token_structured: all zeros picks every first variant, a valid token; a few others.
    write("token_structured", "defaults", b"\x00" * 64)
    write("token_structured", "ones", b"\x01" * 64)
    write("token_structured", "counting", bytes(range(256)))

    # public_key: mode byte, then text (0), SPKI DER (1, 2) or CSR DER (3, 4).
    for name in ["p256", "p384", "ed25519", "rsa"]:
        write("public_key", f"pem-{name}", b"\x00" + pub(name))
        write("public_key", f"der-{name}", b"\x01" + pub(name, "DER"))
    write("public_key", "b64-der-p256", b"\x00" + b64(pub("p256", "DER")).encode())
    write("public_key", "csr-b64-pem", b"\x00" + b64(pem_csr).encode())
    write("public_key", "csr-der-p256", b"\x03" + csr("p256", form="DER"))
    write("public_key", "csr-der-ed25519-san", b"\x04" + csr(
        "ed25519", "-addext", "subjectAltName=email:alice@example.com", form="DER"))
    write("public_key", "csr-der-rsa", b"\x04" + csr("rsa", form="DER"))


if __name__ == "__main__":
    main()
