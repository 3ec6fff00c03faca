// OpenAuth's own client (`@openauthjs/openauth/client`) signing a person in through our
// authorization server, for tests/tests/integration/authorization_interop.rs:
//
// 1. `authorize(redirect, "code", { pkce: true })`: prints `{"url": ...}` on stdout;
// 2. reads one line on stdin: the URL our server redirected the browser to, after the test drove
//    the sign-in (the code provider) in its own client;
// 3. checks `state`, then `exchange(code, redirect, verifier)`, `verify(subjects, access)`,
//    `refresh(refresh)` and `verify` again, and prints the results as one line of JSON.
//
// Usage: node openauth-authorize.mjs <issuer> <client id> <redirect URI>
import { createInterface } from 'node:readline';
import { createClient } from '@openauthjs/openauth/client';
import { createSubjects } from '@openauthjs/openauth/subject';
import { object, string } from 'valibot';

const [issuer, clientID, redirect] = process.argv.slice(2);
const subjects = createSubjects({ user: object({ userID: string() }) });
const client = createClient({ issuer, clientID });

const { challenge, url } = await client.authorize(redirect, 'code', { pkce: true });
console.log(JSON.stringify({ url }));

const lines = createInterface({ input: process.stdin });
const [back] = await lines[Symbol.asyncIterator]().next().then(({ value }) => [value]);
lines.close();
const query = new URL(back).searchParams;

const outcome = (result) => ({
  err: result.err ? result.err.constructor.name : false,
  aud: result.aud,
  subject: result.subject,
});

const stateMatches = query.get('state') === challenge.state;
const exchanged = await client.exchange(query.get('code'), redirect, challenge.verifier);
const report = { stateMatches, iss: query.get('iss'), exchanged: { err: exchanged.err ? exchanged.err.constructor.name : false } };
if (!exchanged.err) {
  report.verified = outcome(await client.verify(subjects, exchanged.tokens.access));
  const refreshed = await client.refresh(exchanged.tokens.refresh);
  report.refreshed = { err: refreshed.err ? refreshed.err.constructor.name : false };
  if (!refreshed.err) {
    report.refreshed.changed = refreshed.tokens.refresh !== exchanged.tokens.refresh;
    report.verifiedRefreshed = outcome(await client.verify(subjects, refreshed.tokens.access));
  }
  // The same code again: OpenAuth's client reports it as an invalid code.
  const replayed = await client.exchange(query.get('code'), redirect, challenge.verifier);
  report.replayed = { err: replayed.err ? replayed.err.constructor.name : false };
}
console.log(JSON.stringify(report));
