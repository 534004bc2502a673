"""Reads a C2PA file with c2pa-python (the pinned version in requirements.txt) and prints a summary.

    python read.py FILE [--anchors PEM_FILE]... [--anchors-from-trust-config TRUST_CONFIG]...
                        [--eku OID]... [--spec-ekus] [--sidecar MANIFEST.c2pa] [--time]

Prints ONE JSON object on stdout:
  validation_state  "Valid" | "Trusted" | "Invalid" | ... (c2pa-rs' verdict)
  active_manifest   label of the active manifest
  failures, success, informational
                    codes of validation_results.activeManifest.{failure,success,informational}
  failure_details   [{code, explanation, url}] for each failure
  cawg              the "cawg.*" codes among success, informational and failure
  signer_issuer     signature_info.issuer of the active manifest
  actions           action names of the active manifest's c2pa.actions / c2pa.actions.v2 assertions
  assertions        labels of the active manifest's assertions
  manifests         number of manifests in the store
  seconds           (with --time) wall time of Reader construction + json(), time.perf_counter

Trust: with anchors (--anchors PEM files and/or, with --anchors-from-trust-config, the roots of a
sigstore ClientTrustConfig's trustedRoot: the last certificate of each certificate authority's and
timestamp authority's chain), the claim signer, the time stamp and CAWG X.509 identity assertions
are checked against exactly those roots (verify.verify_trust: true; see settings_for for the key
names this c2pa-rs version reads). Without anchors, verify.verify_trust is false: signatures, hashes,
the certificate profile and structure are still checked, the claim signer's chain is not. CAWG
X.509 credentials are checked against the CAWG anchors whatever verify_trust says, so without
anchors they report cawg.x509.credential.untrusted (a failure that leaves validation_state alone).
Remote manifests and OCSP are never fetched.

EKUs: the bundled c2pa-rs (0.91.3) accepts by default only emailProtection, timeStamping and
OCSPSigning as the claim signer's extendedKeyUsage; a certificate with documentSigning or
c2pa-kp-claimSigning alone fails with signingCredential.invalid "certificate missing required EKU"
unless trust.trust_config lists them: --eku OID adds one, --spec-ekus adds the C2PA profile's list.

Exit status: 0 when a manifest was read (whatever its validation state), 2 otherwise (message on
stderr).
"""
import argparse
import base64
import json
import sys
import time

import c2pa


def pem_of_der(der: bytes) -> str:
    b64 = base64.b64encode(der).decode("ascii")
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def roots_of_trust_config(path: str) -> list[str]:
    """PEMs of the roots in a ClientTrustConfig (or a bare TrustedRoot): for every certificate
    authority and timestamp authority, the last certificate of its chain."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    root = doc.get("trustedRoot", doc)
    pems = []
    for kind in ("certificateAuthorities", "timestampAuthorities"):
        for authority in root.get(kind) or []:
            certs = ((authority.get("certChain") or {}).get("certificates")) or []
            if certs:
                pems.append(pem_of_der(base64.b64decode(certs[-1]["rawBytes"])))
    if not pems:
        raise ValueError(f"{path}: no root certificates in trustedRoot")
    return pems


# c2pa-rs' own default EKU list (valid_eku_oids.cfg): what the C2PA certificate profile allows.
SPEC_EKUS = [
    "1.3.6.1.5.5.7.3.4",  # id-kp-emailProtection
    "1.3.6.1.5.5.7.3.36",  # id-kp-documentSigning
    "1.3.6.1.5.5.7.3.8",  # id-kp-timeStamping
    "1.3.6.1.5.5.7.3.9",  # id-kp-OCSPSigning
    "1.3.6.1.4.1.311.76.59.1.9",  # MS C2PA signing
    "1.3.6.1.4.1.62558.2.1",  # c2pa-kp-claimSigning
]


def settings_for(anchors_pem: str, ekus: list[str]) -> dict:
    """c2pa settings in the schema of the c2pa-rs bundled with the pinned c2pa-python (0.91.3).

    That version silently ignores unknown keys, so mind the names: the claim signer's and the
    TSA's roots are trust.trust_anchors; CAWG X.509 identity roots are an entry of trust.anchors
    with trust_kind "cawg" (the older cawg_trust section is gone and would be ignored)."""
    trusted = bool(anchors_pem)
    settings = {
        "verify": {
            "verify_trust": trusted,
            "remote_manifest_fetch": False,
            "ocsp_fetch": False,
        },
    }
    trust = {}
    if trusted:
        trust["trust_anchors"] = anchors_pem
        trust["anchors"] = [{"trust_kind": "cawg", "trust_anchors": anchors_pem}]
    if ekus:
        trust["trust_config"] = "".join(oid + "\n" for oid in ekus)
    if trust:
        settings["trust"] = trust
    return settings


def base_label(label: str) -> str:
    # Repeated assertions get an instance suffix: c2pa.actions.v2__1
    return label.split("__", 1)[0]


def summarize(store: dict) -> dict:
    label = store.get("active_manifest")
    manifests = store.get("manifests") or {}
    manifest = manifests.get(label) or {}
    active = (store.get("validation_results") or {}).get("activeManifest")
    if active is None:
        # No validation_results (older shape): every validation_status entry is a failure.
        active = {"failure": store.get("validation_status") or []}
    failure = active.get("failure") or []
    success = active.get("success") or []
    informational = active.get("informational") or []
    assertions = manifest.get("assertions") or []
    actions = []
    for a in assertions:
        if base_label(a.get("label", "")) in ("c2pa.actions", "c2pa.actions.v2"):
            for action in (a.get("data") or {}).get("actions") or []:
                actions.append(action.get("action"))
    return {
        "validation_state": store.get("validation_state"),
        "active_manifest": label,
        "failures": [s.get("code") for s in failure],
        "failure_details": [
            {"code": s.get("code"), "explanation": s.get("explanation"), "url": s.get("url")}
            for s in failure
        ],
        "success": [s.get("code") for s in success],
        "informational": [s.get("code") for s in informational],
        "cawg": [
            s.get("code")
            for s in success + informational + failure
            if (s.get("code") or "").startswith("cawg.")
        ],
        "signer_issuer": (manifest.get("signature_info") or {}).get("issuer"),
        "actions": actions,
        "assertions": [a.get("label") for a in assertions],
        "manifests": len(manifests),
    }


def main() -> int:
    p = argparse.ArgumentParser(description="Read a C2PA file with c2pa-python; print a JSON summary.")
    p.add_argument("file")
    p.add_argument("--anchors", action="append", default=[], metavar="PEM_FILE",
                   help="PEM bundle of trust anchors (repeatable)")
    p.add_argument("--anchors-from-trust-config", action="append", default=[], metavar="FILE",
                   help="add the root certificates of a sigstore trust config (repeatable)")
    p.add_argument("--eku", action="append", default=[], metavar="OID",
                   help="allow this extendedKeyUsage OID for the claim signer (trust.trust_config; "
                        "repeatable)")
    p.add_argument("--spec-ekus", action="store_true",
                   help="allow the C2PA profile's EKUs (c2pa-rs' valid_eku_oids.cfg): "
                        "emailProtection, documentSigning, timeStamping, OCSPSigning, MS C2PA, "
                        "c2pa-kp-claimSigning")
    p.add_argument("--sidecar", metavar="MANIFEST.c2pa",
                   help="read the manifest from this sidecar instead of from FILE")
    p.add_argument("--time", action="store_true",
                   help='add "seconds": wall time of Reader construction + json()')
    args = p.parse_args()

    try:
        pems = []
        for path in args.anchors:
            with open(path, encoding="utf-8") as f:
                pems.append(f.read().strip() + "\n")
        for path in args.anchors_from_trust_config:
            pems.extend(roots_of_trust_config(path))
        ekus = list(dict.fromkeys((SPEC_EKUS if args.spec_ekus else []) + args.eku))
        context = c2pa.Context.from_dict(settings_for("".join(pems), ekus))
        sidecar = None
        if args.sidecar:
            with open(args.sidecar, "rb") as f:
                sidecar = f.read()
        if sidecar is None:
            start = time.perf_counter()
            with c2pa.Reader(args.file, context=context) as reader:
                text = reader.json()
                seconds = time.perf_counter() - start
        else:
            with open(args.file, "rb") as asset:
                # format None: c2pa detects the asset's type from its bytes
                start = time.perf_counter()
                with c2pa.Reader(None, asset, sidecar, context=context) as reader:
                    text = reader.json()
                    seconds = time.perf_counter() - start
        store = json.loads(text)
    except (c2pa.C2paError, OSError, ValueError, KeyError) as e:
        print(f"read.py: {args.file}: {e}", file=sys.stderr)
        return 2
    if not store.get("active_manifest"):
        print(f"read.py: {args.file}: no active manifest", file=sys.stderr)
        return 2
    summary = summarize(store)
    if args.time:
        summary["seconds"] = seconds
    json.dump(summary, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
