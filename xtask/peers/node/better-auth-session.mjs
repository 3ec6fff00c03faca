// better-auth's `getSession` behind a Connectum-style session interceptor, for
// `cargo xtask load --peers`. Connectum's `createSessionAuthInterceptor({ verifySession,
// mapSession })` wraps a handler: it takes the request's credentials, asks the session backend,
// maps the answer to an auth context, and refuses with 401 when there is none; this is the same
// shape for a plain Node HTTP handler (Connectum's own needs a ConnectRPC server). better-auth runs
// on its memory adapter with email and password sign-in.
//
// Before it listens, it signs one user up (better-auth's own `signUpEmail`, which signs in) and
// writes the session's `Cookie` header value to the file `PEER_COOKIES`. `GET /me` answers `ok`
// for that session (200) or 401. Prints `LISTENING <host:port>` once it serves.
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { betterAuth } from 'better-auth';
import { memoryAdapter } from 'better-auth/adapters/memory';

// Connectum's interceptor, for a handler `(request, context) => response`.
function createSessionAuthInterceptor({ verifySession, mapSession }) {
  return (next) => async (req, res) => {
    const session = await verifySession(req.headers);
    if (!session) {
      res.statusCode = 401;
      res.end('unauthorized');
      return;
    }
    await next(req, res, mapSession(session));
  };
}

const server = http.createServer();

server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address();
  const base = `http://127.0.0.1:${port}`;
  const db = { user: [], session: [], account: [], verification: [] };
  const auth = betterAuth({
    baseURL: base,
    secret: 'load-peers-only-secret-0123456789abcdef',
    database: memoryAdapter(db),
    emailAndPassword: { enabled: true },
    trustedOrigins: [base],
  });
  const signedUp = await auth.api.signUpEmail({
    body: { email: 'user-0@example.com', password: 'a long enough password 0', name: 'user 0' },
    asResponse: true,
  });
  const cookie = (signedUp.headers.getSetCookie?.() ?? [signedUp.headers.get('set-cookie')])
    .map((line) => line.split(';')[0])
    .find((pair) => pair.startsWith('better-auth.session_token='));
  if (!cookie) {
    console.error(`sign-up set no session cookie (${signedUp.status})`);
    process.exit(1);
  }
  writeFileSync(process.env.PEER_COOKIES, cookie);

  const authenticated = createSessionAuthInterceptor({
    verifySession: (headers) => auth.api.getSession({ headers: new Headers({ cookie: headers.cookie ?? '' }) }),
    mapSession: (session) => ({ subject: session.user.id, sessionId: session.session.id }),
  });
  const me = authenticated(async (_req, res, context) => {
    res.end(context.subject ? 'ok' : 'no subject');
  });
  server.on('request', (req, res) => {
    if (req.url !== '/me') {
      res.statusCode = 404;
      res.end();
      return;
    }
    me(req, res).catch(() => {
      res.statusCode = 500;
      res.end();
    });
  });
  console.log(`LISTENING 127.0.0.1:${port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
