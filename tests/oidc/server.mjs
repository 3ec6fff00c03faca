// A real OpenID provider (the `oidc-provider` npm package) for the OIDC flow tests, on
// 127.0.0.1 only. Started by tests/tests/integration/oidc.rs; prints `READY <issuer>` once listening.
//
// Usage: node server.mjs <redirect_uri> [unverified-email]
//
// The one client is `typed-sessions` (secret `test-only-client-secret-0123456789`), PKCE is
// required, and the login and consent prompts are answered at once for the account `alice`, so
// a test's HTTP client can follow redirects from the authorize URL to the callback.
// `POST /rotate` replaces the signing key with a new one (new `kid`), as a provider that rotates
// its keys does; flows in progress are lost, the issuer stays.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

const redirectUri = process.argv[2];
const emailVerified = process.argv[3] !== 'unverified-email';
if (!redirectUri) {
  console.error('usage: node server.mjs <redirect_uri>');
  process.exit(2);
}

// The test's client stops this process when it is done; this is the backstop if it cannot.
setTimeout(() => process.exit(0), 5 * 60 * 1000).unref();

let provider;
let issuer;
const server = http.createServer(async (req, res) => {
  try {
    if (req.url === '/rotate' && req.method === 'POST') {
      provider = makeProvider(issuer, signingKey());
      res.end('rotated');
    } else if (req.url.startsWith('/interaction/')) {
      await finishInteraction(req, res);
    } else {
      provider.callback()(req, res);
    }
  } catch (error) {
    res.statusCode = 500;
    res.end(String(error));
  }
});

async function finishInteraction(req, res) {
  const { prompt, params, session } = await provider.interactionDetails(req, res);
  if (prompt.name === 'login') {
    await provider.interactionFinished(req, res, { login: { accountId: 'alice' } }, { mergeWithLastSubmission: false });
    return;
  }
  const grant = new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const missing = prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

function makeProvider(issuer, key) {
  return new Provider(issuer, {
    jwks: { keys: [key] },
    clients: [{
      client_id: 'typed-sessions',
      client_secret: 'test-only-client-secret-0123456789',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    pkce: { required: () => true },
    cookies: { keys: ['test-only-cookie-key-0123456789'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    findAccount: async (_ctx, id) => ({
      accountId: id,
      claims: async () => ({ sub: id, email: `${id}@example.com`, email_verified: emailVerified, name: 'Alice Example' }),
    }),
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: { devInteractions: { enabled: false } },
  });
}

server.listen(0, '127.0.0.1', () => {
  issuer = `http://127.0.0.1:${server.address().port}`;
  provider = makeProvider(issuer, signingKey());
  console.log(`READY ${issuer}`);
});
