// A real OpenAuth issuer (`@openauthjs/openauth`, served with `@hono/node-server`) for
// tests/tests/integration/issuers.rs, on 127.0.0.1 only. Prints `READY <issuer>` once listening.
//
// Usage: node openauth.mjs <port>     (0 picks a free port)
//
// Its one provider, `auto`, signs in `ada@example.com` without a person: the authorize step
// succeeds at once, so a test's HTTP client can go authorize -> code -> /token. Keys live in
// OpenAuth's MemoryStorage: every start has a new signing key (a new `kid`), as a restart with
// fresh storage does.
import { serve } from '@hono/node-server';
import { issuer } from '@openauthjs/openauth';
import { MemoryStorage } from '@openauthjs/openauth/storage/memory';
import { createSubjects } from '@openauthjs/openauth/subject';
import { object, string } from 'valibot';

const port = Number(process.argv[2] ?? 0);

// The test stops this process when it is done; this is the backstop if it cannot.
setTimeout(() => process.exit(0), 5 * 60 * 1000).unref();

const subjects = createSubjects({
  user: object({ userID: string() }),
});

const auto = {
  type: 'auto',
  init(route, ctx) {
    route.get('/authorize', async (c) => ctx.success(c, { email: 'ada@example.com' }));
  },
};

const app = issuer({
  subjects,
  storage: MemoryStorage(),
  providers: { auto },
  async success(ctx, value) {
    return ctx.subject('user', { userID: value.email });
  },
});

const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port }, (info) => {
  console.log(`READY http://127.0.0.1:${info.port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
