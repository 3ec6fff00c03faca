// OpenAuth's own client (`@openauthjs/openauth/client`) against our issuer, for
// tests/tests/integration/refresh.rs: verifies an access token we issued, refreshes at our
// `POST <issuer>/token`, verifies the new one, lets `verify` refresh an expired one on its own,
// and reports each result as one line of JSON on stdout.
//
// Usage: node openauth-client.mjs <issuer> <access token> <refresh token> <expired access token>
import { createClient } from '@openauthjs/openauth/client';
import { createSubjects } from '@openauthjs/openauth/subject';
import { object, string } from 'valibot';

const [issuer, access, refresh, expired] = process.argv.slice(2);

const subjects = createSubjects({
  user: object({ userID: string() }),
});
const client = createClient({ issuer, clientID: 'web' });

const outcome = (result) => ({
  err: result.err ? result.err.constructor.name : false,
  subject: result.subject,
});

const verified = await client.verify(subjects, access);
const refreshed = await client.refresh(refresh);
const verifiedRefreshed = refreshed.err ? refreshed : await client.verify(subjects, refreshed.tokens.access);
const expiredWithRefresh = await client.verify(subjects, expired, { refresh });
const unknownRefresh = await client.refresh('A'.repeat(43));
const expiredAlone = await client.verify(subjects, expired);

console.log(JSON.stringify({
  verified: outcome(verified),
  refreshed: {
    err: refreshed.err ? refreshed.err.constructor.name : false,
    access: refreshed.tokens?.access,
    refresh: refreshed.tokens?.refresh,
    expiresIn: refreshed.tokens?.expiresIn,
  },
  verifiedRefreshed: outcome(verifiedRefreshed),
  expiredWithRefresh: { ...outcome(expiredWithRefresh), refreshed: Boolean(expiredWithRefresh.tokens) },
  unknownRefresh: outcome(unknownRefresh),
  expiredAlone: outcome(expiredAlone),
}));
