// Verifies a sigstore bundle over a file the way sigstore-js does, with the TrustedRoot of a
// sigstore ClientTrustConfig (what `sig-share serve` publishes) and an exact identity policy.
//
//   node verify.mjs TRUST_CONFIG BUNDLE FILE IDENTITY ISSUER
//
// @sigstore/verify checks the RFC 3161 timestamp against the trusted TSAs, the certificate chain
// against the trusted CAs at that time, the embedded SCT against the trusted CT logs, the Rekor
// entry (inclusion proof, checkpoint signed by a trusted log, body matching the bundle), the
// signature over FILE, then the policy: the certificate's SAN must equal IDENTITY and its issuer
// extension ISSUER. Exit 0 on success, 1 with the reason on failure, 2 on bad usage.

import { readFileSync } from 'node:fs';

import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';

const [trustConfigPath, bundlePath, filePath, identity, issuer] = process.argv.slice(2);
if (!issuer) {
  console.error('usage: node verify.mjs TRUST_CONFIG BUNDLE FILE IDENTITY ISSUER');
  process.exit(2);
}

try {
  const trustConfig = JSON.parse(readFileSync(trustConfigPath, 'utf8'));
  const trustedRoot = TrustedRoot.fromJSON(trustConfig.trustedRoot);
  const bundle = bundleFromJSON(JSON.parse(readFileSync(bundlePath, 'utf8')));
  const data = readFileSync(filePath);
  const verifier = new Verifier(toTrustMaterial(trustedRoot));
  const signer = verifier.verify(toSignedEntity(bundle, data), {
    subjectAlternativeName: identity,
    extensions: { issuer },
  });
  console.error(`OK: ${filePath} (${signer.identity?.subjectAlternativeName}, ${signer.identity?.extensions?.issuer})`);
} catch (err) {
  console.error(`sigstore-js verify failed: ${err.code ? `${err.code}: ` : ''}${err.message ?? err}`);
  process.exit(1);
}
