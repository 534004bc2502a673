// Signs a file the way sigstore-js does, against the services named by a sigstore
// ClientTrustConfig (what `sig-share serve` publishes), and writes the bundle.
//
//   node sign.mjs TRUST_CONFIG FILE BUNDLE_OUT TOKEN
//
// @sigstore/sign's bundleBuilderFromSigningConfig picks the CA, the Rekor v2 log and the TSA
// from the SigningConfig (the log and the TSA only with selector ANY) and sends sigstore-js's own
// requests: the CA gets `credentials` + `publicKeyRequest` + `proofOfPossession` (no CSR, no
// Authorization header), the TSA a JSON `{artifactHash, hashAlgorithm}`, the log a
// `hashedRekordRequestV002`. The bundle is a message signature (not DSSE). Before it is written,
// it is checked against the TrustedRoot with no identity policy, so a bundle that sigstore-js
// itself would refuse is reported here; it is written either way, for the other verifiers.
// Exit 0 on success, 1 with the reason on failure, 2 on bad usage.

import { readFileSync, writeFileSync } from 'node:fs';

import { bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import { SigningConfig, TrustedRoot } from '@sigstore/protobuf-specs';
import { bundleBuilderFromSigningConfig } from '@sigstore/sign';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';

const [trustConfigPath, filePath, bundlePath, token] = process.argv.slice(2);
if (!token) {
  console.error('usage: node sign.mjs TRUST_CONFIG FILE BUNDLE_OUT TOKEN');
  process.exit(2);
}

// Prints an error with its causes (sigstore-js wraps HTTP errors in InternalError.cause).
function describe(err) {
  const parts = [];
  for (let e = err; e; e = e.cause) {
    parts.push(`${e.code ? `${e.code}: ` : ''}${e.message ?? e}`);
  }
  return parts.join('\n  caused by: ');
}

try {
  const trustConfig = JSON.parse(readFileSync(trustConfigPath, 'utf8'));
  const signingConfig = SigningConfig.fromJSON(trustConfig.signingConfig);
  const trustedRoot = TrustedRoot.fromJSON(trustConfig.trustedRoot);
  const data = readFileSync(filePath);

  const builder = bundleBuilderFromSigningConfig({
    signingConfig,
    identityProvider: { getToken: async () => token },
    bundleType: 'messageSignature',
    // No retries: a refusal should fail the run with the server's own answer.
    fetchOptions: { timeout: 20000, retry: false },
  });
  const bundle = await builder.create({ data });
  const json = bundleToJSON(bundle);
  writeFileSync(bundlePath, JSON.stringify(json, null, 2) + '\n');

  // Its own check: the bundle, reparsed, verifies against the trusted root.
  const verifier = new Verifier(toTrustMaterial(trustedRoot));
  verifier.verify(toSignedEntity(bundleFromJSON(json), data));
  console.error(`signed ${filePath} -> ${bundlePath}`);
} catch (err) {
  console.error(`sigstore-js sign failed: ${describe(err)}`);
  process.exit(1);
}
