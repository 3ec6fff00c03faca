// OpenAuth's own password hashers (`@openauthjs/openauth/provider/password`), for
// tests/tests/integration/passwords.rs: prints, as one line of JSON, the records OpenAuth's
// `PasswordProvider` stores for `password` with its default `ScryptHasher()` and with
// `PBKDF2Hasher()`, each as OpenAuth serializes it into its storage.
//
// Usage: node openauth-hashes.mjs <password>
import { PBKDF2Hasher, ScryptHasher } from '@openauthjs/openauth/provider/password';

const password = process.argv[2];
const scrypt = await ScryptHasher().hash(password);
const pbkdf2 = await PBKDF2Hasher().hash(password);
// OpenAuth's own verify accepts its records, as a check on what is printed.
if (!(await ScryptHasher().verify(password, scrypt)) || !(await PBKDF2Hasher().verify(password, pbkdf2))) {
  throw new Error('OpenAuth does not verify its own records');
}
console.log(JSON.stringify({ scrypt: JSON.stringify(scrypt), pbkdf2: JSON.stringify(pbkdf2) }));
