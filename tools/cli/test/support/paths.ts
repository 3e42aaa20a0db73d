/** What the CLI tests run: the built `warden` bin, the built authz service (a dev dependency, run as a process) and the example world. */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

export const CLI = fileURLToPath(new URL('../../dist/warden.js', import.meta.url));
export const AUTHZ_MAIN = path.join(path.dirname(require.resolve('@warden/authz')), 'main.js');
export const ACME_FILE = fileURLToPath(new URL('../../../../examples/acme.yaml', import.meta.url));
