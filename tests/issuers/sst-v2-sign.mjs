// Signs a session exactly as SST v2's `sst/node/auth` `Session.create` does: fast-jwt's
// `createSigner({ key, algorithm: "RS512" })` over `{ type, properties }` (fast-jwt adds `iat`).
// For tests/tests/integration/issuers.rs; prints the token.
//
// Usage: node sst-v2-sign.mjs <private-key.pem> <session JSON> [algorithm] [iat seconds]
//
// `algorithm` (RS512 unless given) lets a test make the same session under RS256 or RS384;
// `iat` makes an old token (fast-jwt's `clockTimestamp`, in milliseconds); the environment
// variables SST_KID and SST_ISS add a `kid` to the header and an `iss` to the claims.
import { readFileSync } from 'node:fs';
import { createSigner } from 'fast-jwt';

const [keyPath, sessionJson, algorithm = 'RS512', iat] = process.argv.slice(2);
const session = JSON.parse(sessionJson);
const signer = createSigner({
  key: readFileSync(keyPath, 'utf8'),
  algorithm,
  // SST_KID puts a `kid` in the header (SST v2 sends none): a token dressed as another issuer's.
  ...(process.env.SST_KID ? { kid: process.env.SST_KID } : {}),
  // SST_ISS adds an `iss` claim (SST v2 writes none).
  ...(process.env.SST_ISS ? { iss: process.env.SST_ISS } : {}),
  ...(iat ? { clockTimestamp: Number(iat) * 1000 } : {}),
});
process.stdout.write(signer({ type: session.type, properties: session.properties }));
