// A real OpenID provider (the `oidc-provider` npm package) for the OIDC flow tests, on
// 127.0.0.1 only. Started by tests/tests/integration/oidc.rs; prints `READY <issuer>` once listening.
//
// Usage: node server.mjs <redirect_uri> [options...]
//
// Options, each as one argument:
// - `unverified-email`: the account's email is not verified;
// - `path=/realms/test`: the issuer has this path (Keycloak's, Cognito's shape), and every
//   endpoint is under it;
// - `deny`: the person says no at the consent prompt (`error=access_denied`);
// - `token-error`: the token endpoint answers 400 `invalid_grant`;
// - `userinfo-unavailable`: the userinfo endpoint answers 503;
// - `microsoft`: as Microsoft's v2.0 endpoints are: the issuer is `<origin>/<tenant id>/v2.0`
//   (give it with `path=`), every ID token carries `tid`, and `<origin>/common/v2.0` serves the
//   multi-tenant discovery document, whose issuer is the template
//   `<origin>/{tenantid}/v2.0`;
// - `apple=<public key PEM file>`: as Sign in with Apple is: the discovery document lists
//   only `client_secret_post`; the client secret must be an ES256 JWT signed by that key with
//   `kid` KEY123ABC, `iss` TEAM123ABC, `sub` the client id, `aud` https://appleid.apple.com and
//   a lifetime of at most six months (anything else is `invalid_client`, as at Apple); the ID
//   token carries `email` and writes `email_verified` as a string, as Apple's do. The test
//   drives the `form_post` answer itself;
// - `twitch`: as Twitch is (its OIDC guide): the scope is `user:read:email`, and `email` and
//   `email_verified` come only when the `claims` request parameter names them.
//
// The one client is `typed-sessions` (secret `test-only-client-secret-0123456789`), PKCE is
// required, and the login and consent prompts are answered at once for the account `alice`, so
// a test's HTTP client can follow redirects from the authorize URL to the callback.
// `POST /rotate` replaces the signing key with a new one (new `kid`), as a provider that rotates
// its keys does; flows in progress are lost, the issuer stays.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { importSPKI, jwtVerify, decodeProtectedHeader } from 'jose';
import Provider from 'oidc-provider';

const redirectUri = process.argv[2];
const options = process.argv.slice(3);
const emailVerified = !options.includes('unverified-email');
const issuerPath = (options.find((option) => option.startsWith('path=')) ?? 'path=').slice('path='.length);
const deny = options.includes('deny');
const tokenError = options.includes('token-error');
const userinfoUnavailable = options.includes('userinfo-unavailable');
const twitch = options.includes('twitch');
const microsoft = options.includes('microsoft');
const appleKeyFile = (options.find((option) => option.startsWith('apple=')) ?? '').slice('apple='.length);
const apple = appleKeyFile !== '';
const appleKey = apple ? await importSPKI(readFileSync(appleKeyFile, 'utf8'), 'ES256') : undefined;
const CLIENT_SECRET = 'test-only-client-secret-0123456789';

/// Apple's client secret: checked as Apple does, then swapped for the registered secret.
async function appleSecretChecked(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const form = new URLSearchParams(Buffer.concat(chunks).toString());
  const secret = form.get('client_secret') ?? '';
  try {
    if (decodeProtectedHeader(secret).kid !== 'KEY123ABC') throw new Error('kid');
    const { payload } = await jwtVerify(secret, appleKey, {
      algorithms: ['ES256'],
      issuer: 'TEAM123ABC',
      audience: 'https://appleid.apple.com',
      subject: form.get('client_id') ?? '',
    });
    if (payload.exp - payload.iat > 15777000) throw new Error('lifetime');
  } catch {
    return false;
  }
  form.set('client_secret', CLIENT_SECRET);
  req.body = form.toString();
  return true;
}
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
    } else if (microsoft && req.url === '/common/v2.0/.well-known/openid-configuration') {
      // The multi-tenant document: the tenant's own, with the issuer as a template.
      const own = await fetch(`${issuer}/.well-known/openid-configuration`).then((r) => r.json());
      const origin = issuer.slice(0, issuer.length - issuerPath.length);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ...own, issuer: `${origin}/{tenantid}/v2.0` }));
    } else if (apple && req.url === `${issuerPath}/.well-known/openid-configuration`) {
      const own = await fetch(`${issuer}/.well-known/openid-configuration?own`).then((r) => r.json());
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ...own, token_endpoint_auth_methods_supported: ['client_secret_post'] }));
    } else if (apple && req.method === 'POST' && req.url.startsWith(`${issuerPath}/token`)
      && !(await appleSecretChecked(req))) {
      res.statusCode = 400;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ error: 'invalid_client' }));
    } else if (!req.url.startsWith(`${issuerPath}/`)) {
      res.statusCode = 404;
      res.end('not under the issuer');
    } else if (tokenError && req.method === 'POST' && req.url.startsWith(`${issuerPath}/token`)) {
      res.statusCode = 400;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ error: 'invalid_grant', error_description: 'grant request is invalid' }));
    } else if (userinfoUnavailable && req.url.startsWith(`${issuerPath}/me`)) {
      res.statusCode = 503;
      res.end('unavailable');
    } else {
      // The provider sees paths below its issuer, as when it is mounted there.
      req.originalUrl = req.url;
      req.url = req.url.slice(issuerPath.length) || '/';
      provider.callback()(req, res);
    }
  } catch (error) {
    res.statusCode = 500;
    res.end(String(error));
  }
});

async function finishInteraction(req, res) {
  const { prompt, params, session } = await provider.interactionDetails(req, res);
  if (deny) {
    await provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
    return;
  }
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
      client_secret: CLIENT_SECRET,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: apple ? 'client_secret_post' : 'client_secret_basic',
    }],
    pkce: { required: () => true },
    cookies: { keys: ['test-only-cookie-key-0123456789'] },
    ...(twitch
      ? {
        scopes: ['openid', 'user:read:email'],
        claims: { openid: ['sub'], 'user:read:email': [], email: null, email_verified: null, profile: ['name'] },
        features: { devInteractions: { enabled: false }, claimsParameter: { enabled: true } },
      }
      : apple
        ? {
          // Apple's ID token carries the email.
          conformIdTokenClaims: false,
          scopes: ['openid', 'name', 'email'],
          // The name is not in Apple's ID token: it comes once, in the form post's `user` field.
          claims: { openid: ['sub'], email: ['email', 'email_verified'], name: [] },
        }
        : microsoft
        ? {
          // `tid` in every ID token, with the scope claims beside it (as Microsoft's tokens carry them).
          conformIdTokenClaims: false,
          claims: { openid: ['sub', 'tid'], email: ['email', 'email_verified'], profile: ['name'] },
        }
        : { claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] } }),
    findAccount: async (_ctx, id) => ({
      accountId: id,
      claims: async () => ({
        sub: id,
        email: `${id}@example.com`,
        // Apple writes it as a string.
        email_verified: apple ? String(emailVerified) : emailVerified,
        name: 'Alice Example',
        ...(microsoft ? { tid: issuerPath.split('/')[1] } : {}),
      }),
    }),
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    ...(twitch ? {} : { features: { devInteractions: { enabled: false } } }),
  });
}

server.listen(0, '127.0.0.1', () => {
  issuer = `http://127.0.0.1:${server.address().port}${issuerPath}`;
  provider = makeProvider(issuer, signingKey());
  console.log(`READY ${issuer}`);
});
