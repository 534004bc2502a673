// A real OpenID provider for sig-share's CA tests: panva's oidc-provider with its own discovery,
// JWKS and ID token signing. Tokens come from a custom grant so tests need no browser:
//
//   PORT=18089 KEYS=/tmp/keys.json node dev-oidc.mjs
//   curl -d grant_type=urn:sig-share:test-token -d client_id=sigstore -d email=alice@example.com \
//        http://127.0.0.1:18089/token
//
// KEYS is a JSON file of private JWKs, created on first start. ROTATE=1 puts a fresh key first
// (oidc-provider signs with the first key of an algorithm) and keeps the old ones published,
// which is how a provider rotates its signing key.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 18089);
const keysFile = process.env.KEYS || 'keys.json';
const issuer = `http://127.0.0.1:${port}`;
const GRANT = 'urn:sig-share:test-token';

function newKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

let keys = existsSync(keysFile) ? JSON.parse(readFileSync(keysFile, 'utf8')) : [newKey()];
if (process.env.ROTATE === '1') keys = [newKey(), ...keys];
writeFileSync(keysFile, JSON.stringify(keys));

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'sigstore', token_endpoint_auth_method: 'none',
    grant_types: [GRANT], response_types: [], redirect_uris: [],
  }],
  jwks: { keys },
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
});

provider.registerGrantType(GRANT, async (ctx) => {
  const email = ctx.oidc.params.email;
  const token = new provider.IdToken({ sub: `oidc-provider|${email}` }, { ctx });
  token.scope = 'openid email';
  token.set('email', email);
  token.set('email_verified', true);
  ctx.body = { id_token: await token.issue({ use: 'idtoken' }), token_type: 'Bearer', kid: keys[0].kid };
}, ['email']);

provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider ${issuer} signing with ${keys[0].kid}`));
