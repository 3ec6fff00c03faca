// OpenAuth's own client `verify` (`@openauthjs/openauth/client`) behind a Node HTTP server, for
// `cargo xtask load --peers`: `GET /me` reads the `auth-token` cookie and answers `ok` when
// `client.verify` accepts it (200) or 401. The same server plays the issuer's discovery for the
// client (`/.well-known/oauth-authorization-server` and the JWKS in the file `PEER_JWKS`), so the
// client fetches the keys once and verifies locally, as it does against a real issuer.
// Prints `LISTENING <host:port>` once it serves.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { createClient } from '@openauthjs/openauth/client';
import { createSubjects } from '@openauthjs/openauth/subject';
import { object, string } from 'valibot';

const jwks = readFileSync(process.env.PEER_JWKS);
const subjects = createSubjects({ user: object({ user_id: string() }) });
let client;
let base;

function cookie(header, name) {
  for (const part of (header ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

const server = http.createServer(async (req, res) => {
  // The path alone: a JWKS client may add a query (jwt-authorizer asks `?kid=...`).
  const path = new URL(req.url, base).pathname;
  if (path === '/.well-known/oauth-authorization-server') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({
      issuer: base,
      authorization_endpoint: `${base}/authorize`,
      token_endpoint: `${base}/token`,
      jwks_uri: `${base}/.well-known/jwks.json`,
    }));
    return;
  }
  if (path === '/.well-known/jwks.json') {
    res.setHeader('content-type', 'application/json');
    res.end(jwks);
    return;
  }
  if (path !== '/me') {
    res.statusCode = 404;
    res.end();
    return;
  }
  const token = cookie(req.headers.cookie, 'auth-token');
  const verified = token ? await client.verify(subjects, token) : { err: 'no token' };
  res.statusCode = verified.err ? 401 : 200;
  res.end(verified.err ? 'unauthorized' : 'ok');
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  base = `http://127.0.0.1:${port}`;
  client = createClient({ issuer: base, clientID: 'web' });
  console.log(`LISTENING 127.0.0.1:${port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
