// A better-auth server (in-memory adapter, email and password, the bearer plugin) on 127.0.0.1 only, for
// `cargo run --example better_auth` and tests/tests/integration/better_auth.rs. Prints
// `READY <base URL>` once listening.
//
// Usage: node server.mjs [port] [session lifetime in seconds]
//   port: 3100 by default (0 picks a free one); lifetime: better-auth's default (7 days) unless given.
//
// Besides better-auth's own routes under /api/auth, `GET /test/get-session-calls` answers how
// many times /api/auth/get-session was asked, so a test can count what reached better-auth.
import http from 'node:http';
import { betterAuth } from 'better-auth';
import { memoryAdapter } from 'better-auth/adapters/memory';
import { bearer } from 'better-auth/plugins/bearer';
import { toNodeHandler } from 'better-auth/node';

const port = Number(process.argv[2] ?? 3100);
const lifetime = process.argv[3] ? Number(process.argv[3]) : undefined;

// A test stops this process when it is done; this is the backstop if it cannot. The example
// runs until stopped.
if (process.env.STOP_AFTER_SECONDS) {
  setTimeout(() => process.exit(0), Number(process.env.STOP_AFTER_SECONDS) * 1000).unref();
}

const db = { user: [], session: [], account: [], verification: [] };
let handler;
let calls = 0;

const server = http.createServer((req, res) => {
  if (req.url === '/test/get-session-calls') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ calls }));
    return;
  }
  if (req.url.startsWith('/api/auth/get-session')) {
    calls += 1;
  }
  handler(req, res);
});

server.listen(port, '127.0.0.1', () => {
  const base = `http://127.0.0.1:${server.address().port}`;
  const auth = betterAuth({
    baseURL: base,
    // Development only: a fixed secret so the example needs no setup. Set your own in production.
    secret: process.env.BETTER_AUTH_SECRET ?? 'development-only-secret-0123456789abcdef',
    database: memoryAdapter(db),
    emailAndPassword: { enabled: true },
    trustedOrigins: [base],
    // API clients send the session as `Authorization: Bearer` (the token sign-in answers in
    // `set-auth-token`).
    plugins: [bearer()],
    ...(lifetime ? { session: { expiresIn: lifetime, updateAge: lifetime } } : {}),
  });
  handler = toNodeHandler(auth);
  console.log(`READY ${base}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
