"""Parses a sig-share ClientTrustConfig with sigstore-python's own (strict) models and trust code.

    python check_trust_config.py trust-config.json

sigstore-python refuses unknown fields, numbers where strings belong, the v0.2 trusted-root media
type and services without operators; this is the parser `sigstore --trust-config` uses. Prints a
JSON summary of what it understood; exits non-zero on any refusal.
"""
import json
import sys

from sigstore._internal.trust import KeyringPurpose
from sigstore.models import ClientTrustConfig


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        config = ClientTrustConfig.from_json(f.read())
    root = config.trusted_root
    signing = config.signing_config
    root.rekor_keyring(KeyringPurpose.VERIFY)
    root.ct_keyring(KeyringPurpose.VERIFY)
    summary = {
        "fulcio_certs": len(root.get_fulcio_certs()),
        "tsa_authorities": len(root.get_timestamp_authorities()),
        "tlog_urls": [t.url for t in signing.get_tlogs()],
        "tsa_urls": [t.url for t in signing.get_tsas()],
        "ca_url": signing.get_fulcio().url,
        "oidc_url": signing.get_oidc_url(),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
