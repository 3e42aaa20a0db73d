/**
 * The real authz service as a child process (`node services/authz/dist/main.js`, started by
 * @warden/testkit's startAuthzProcess): its own empty Postgres database, the example world, a
 * JWKS file whose key signs the test users' tokens, and CORS for one page origin.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAuthzProcess } from '@warden/testkit';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const MAIN = path.join(REPO, 'services/authz/dist/main.js');
const WORLD = path.join(REPO, 'examples/acme.yaml');

export interface AuthzProcess {
  /** `http://127.0.0.1:PORT`, the AuthZEN HTTP API. */
  readonly url: string;
  /** A token for `sub` signed by the JWKS's key; `expired` makes one the service refuses. */
  token(sub: string, options?: { expired?: boolean }): Promise<string>;
  stop(): Promise<void>;
}

export async function startAuthz(corsOrigin: string): Promise<AuthzProcess> {
  const authz = await startAuthzProcess({ main: MAIN, args: ['--world', WORLD], prefix: 'warden_sdk_browser_', env: { AUTHZ_CORS_ORIGINS: corsOrigin } });
  return {
    url: authz.url,
    token: (sub, options = {}) => authz.idp.token(sub, options.expired === true ? { expiresIn: '-1h' } : {}),
    stop: authz.stop,
  };
}
