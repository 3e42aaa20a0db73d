/**
 * An identity provider for tests: an ES256 key whose public half is a JWKS (served over
 * HTTP on 127.0.0.1, or written to a file), and tokens it signs for any subject, valid,
 * expired, for another audience or issuer, or signed by a key outside the JWKS.
 */
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';

export const TEST_ISSUER = 'https://idp.warden.test';
export const TEST_AUDIENCE = 'warden';

export interface TokenOptions {
  /** A jose time span from now: '5m', or '-1m' for a token that has expired. @defaultValue '5m' */
  readonly expiresIn?: string;
  /** @defaultValue TEST_AUDIENCE */
  readonly audience?: string;
  /** @defaultValue TEST_ISSUER */
  readonly issuer?: string;
  /** Sign with a key the JWKS does not hold. */
  readonly foreignKey?: boolean;
  /** More claims (e.g. `groups`). */
  readonly claims?: Record<string, unknown>;
}

export interface TestIdp {
  readonly issuer: string;
  readonly audience: string;
  readonly jwks: { readonly keys: readonly JWK[] };
  token(subject: string, options?: TokenOptions): Promise<string>;
  /** Serves the JWKS at `<url>` (http://127.0.0.1:PORT/jwks.json) until `close()`. */
  serve(): Promise<{ readonly url: string; close(): Promise<void> }>;
  /** Writes the JWKS to `file`. */
  writeJwks(file: string): Promise<void>;
}

export async function createTestIdp(options: { kid?: string } = {}): Promise<TestIdp> {
  const kid = options.kid ?? 'test-1';
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const foreign = await generateKeyPair('ES256');
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] };
  return {
    issuer: TEST_ISSUER,
    audience: TEST_AUDIENCE,
    jwks,
    async token(subject, tokenOptions = {}) {
      return new SignJWT({ ...tokenOptions.claims })
        .setProtectedHeader({ alg: 'ES256', kid })
        .setSubject(subject)
        .setIssuer(tokenOptions.issuer ?? TEST_ISSUER)
        .setAudience(tokenOptions.audience ?? TEST_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(tokenOptions.expiresIn ?? '5m')
        .sign(tokenOptions.foreignKey === true ? foreign.privateKey : privateKey);
    },
    async serve() {
      const server = createServer((request, response) => {
        if (request.url === '/jwks.json') response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
        else response.writeHead(404).end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as { port: number };
      return {
        url: `http://127.0.0.1:${port}/jwks.json`,
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
      };
    },
    async writeJwks(file) {
      await writeFile(file, JSON.stringify(jwks));
    },
  };
}
