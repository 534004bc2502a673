#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/<target>/ (run from anywhere; needs openssl).

Real shapes: sigstore-python's body (base64 of a PEM CSR made by `openssl req -new -subj /`),
sigstore-js's body (PEM key + proof of possession), JWT-shaped tokens for the fixed key sets in
src/lib.rs, and raw keys and CSRs. Keys are made fresh each time; the files are committed.
"""

import base64
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

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


# media_read: the name selector is the index in sig_share_media::Format::ALL (src/media.rs).
FORMATS = ["jpg", "png", "webp", "gif", "tif", "heic", "heif", "avif", "mp4", "mov", "m4a", "wav", "mp3",
           "svg", "pdf", "c2pa", ""]


def media_input(ext, asset, sidecar=None):
    side = sidecar or b""
    return bytes([FORMATS.index(ext), 1 if sidecar is not None else 0]) + struct.pack(">H", len(side)) + side + asset


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def box(kind, data):
    return struct.pack(">I", 8 + len(data)) + kind + data


def jpeg_segments(data):
    """The (marker, payload) segments before the scan, and the rest."""
    assert data[:2] == b"\xff\xd8"
    i, out = 2, []
    while i < len(data):
        marker = data[i + 1]
        if marker == 0xDA:
            return out, data[i:]
        n = struct.unpack(">H", data[i + 2:i + 4])[0]
        out.append((marker, data[i + 4:i + 2 + n]))
        i += 2 + n
    return out, b""


def manifest_store(jpeg):
    """The C2PA manifest store in a JPEG's APP11 JUMBF segments, as a sidecar .c2pa file."""
    store = b""
    for marker, payload in jpeg_segments(jpeg)[0]:
        if marker == 0xEB and payload[:2] == b"JP":
            body = payload[8:]
            store += body if not store else body[8:]
    return store


def media_seeds(signed):
    """Tiny containers of every format, and (`signed`: files the sig-share demo made) real ones."""
    jpeg = (b"\xff\xd8" + b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
            + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + b"\x12\x34" + b"\xff\xd9")
    png = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
           + png_chunk(b"IDAT", zlib.compress(b"\x00\x00")) + png_chunk(b"IEND", b""))
    webp = (b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00")
    gif = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
           b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
    ifd = struct.pack("<H", 3) + struct.pack("<HHII", 256, 4, 1, 1) + struct.pack("<HHII", 257, 4, 1, 1) \
        + struct.pack("<HHII", 273, 4, 1, 50) + struct.pack("<I", 0)
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd + b"\x00" * 8
    wav = b"RIFF" + struct.pack("<I", 36 + 4) + b"WAVE" + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16) \
        + b"data" + struct.pack("<I", 4) + b"\x00\x00\x01\x00"
    mp3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + b"\x00" * 60

    def bmff(brand, compat):
        return (box(b"ftyp", brand + b"\x00\x00\x00\x00" + b"".join(compat))
                + box(b"moov", box(b"mvhd", b"\x00" * 100)) + box(b"mdat", b"\x00" * 16))

    for ext, asset in [("jpg", jpeg), ("png", png), ("webp", webp), ("gif", gif), ("tif", tiff), ("wav", wav),
                       ("mp3", mp3), ("mp4", bmff(b"isom", [b"isom", b"mp41"])), ("mov", bmff(b"qt  ", [b"qt  "])),
                       ("m4a", bmff(b"M4A ", [b"M4A ", b"mp42"])), ("heic", bmff(b"heic", [b"mif1", b"heic"])),
                       ("avif", bmff(b"avif", [b"mif1", b"avif"])), ("heif", bmff(b"mif1", [b"mif1"]))]:
        write("media_read", f"tiny-{ext}", media_input(ext, asset))
    write("media_read", "tiny-svg", media_input("svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>'))
    write("media_read", "sniffed-png", media_input("", png))
    for path in signed:
        with open(path, "rb") as f:
            data = f.read()
        name = os.path.basename(path).replace(".", "-")
        write("media_read", f"signed-{name}", media_input("jpg", data))
        store = manifest_store(data)
        if store and len(store) < 0xFFFF:
            write("media_read", f"sidecar-{name}", media_input("jpg", jpeg, store))
            write("media_read", f"store-{name}", media_input("c2pa", store))


if __name__ == "__main__":
    # `make_seeds.py media_read FILE.jpg...` remakes only the media seeds, from files the
    # sig-share demo signed (`sig-share demo --keep DIR`: DIR/sunrise.jpg, DIR/sunrise-crop.jpg).
    if sys.argv[1:2] == ["media_read"]:
        media_seeds(sys.argv[2:])
    else:
        main()
        media_seeds([])
