/**
 * A development identity provider for the example, so every step of the demo is made by a
 * person with their own token (never use it in production: it signs in anyone who asks).
 *
 *   GET  /.well-known/jwks.json   its public key set (authz verifies tokens with it: AUTHZ_JWKS_URL)
 *   POST /sign-in {"email": "..."} a JWT (EdDSA, 1 hour) with sub = the email, iss and aud as below
 *
 * Its key is made once and kept under the example's data directory. `verifier()` is what the
 * flag service uses to learn who is calling from `Authorization: Bearer <token>`.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { createLocalJWKSet, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK } from 'jose';

export const DEV_AUDIENCE = 'warden-example';
const EMAIL = /^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}$/;
const TOKEN_SECONDS = 3600;

export interface DevIssuer {
  readonly issuer: string;
  readonly jwksUrl: string;
  readonly audience: string;
  /** A token for this person (what POST /sign-in answers). */
  signIn(email: string): Promise<string>;
  /** The verified subject (`user:<email>`) of a bearer token of this issuer; throws when it is not one. */
  verify(token: string): Promise<string>;
  close(): Promise<void>;
}

async function keyPair(file: string): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  if (!existsSync(file)) {
    const { privateKey } = await generateKeyPair('EdDSA', { extractable: true });
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(file, JSON.stringify(await exportJWK(privateKey)), { mode: 0o600 });
  }
  const privateJwk = JSON.parse(await readFile(file, 'utf8')) as JWK;
  const { d: _private, ...publicJwk } = privateJwk;
  return { privateJwk, publicJwk: { ...publicJwk, alg: 'EdDSA', use: 'sig', kid: 'example-dev-1' } };
}

export async function startDevIssuer(options: { keyFile: string; port: number }): Promise<DevIssuer> {
  const { privateJwk, publicJwk } = await keyPair(options.keyFile);
  const privateKey = await importJWK(privateJwk, 'EdDSA');
  const jwks = { keys: [publicJwk] };
  const keys = createLocalJWKSet(jwks);
  let issuer = '';

  const signIn = async (email: string) => {
    if (!EMAIL.test(email)) throw new Error('email: not an email address');
    return new SignJWT({ email })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'example-dev-1', typ: 'JWT' })
      .setIssuer(issuer).setAudience(DEV_AUDIENCE).setSubject(email)
      .setIssuedAt().setExpirationTime(`${TOKEN_SECONDS}s`)
      .sign(privateKey);
  };

  const server: Server = createServer((request, response) => {
    const send = (status: number, body: unknown) => response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (request.method === 'GET' && request.url === '/.well-known/jwks.json') return send(200, jwks);
    if (request.method === 'POST' && request.url === '/sign-in') {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => {
        body += chunk;
        if (body.length > 4096) request.destroy();
      });
      request.on('end', () => {
        let email: unknown;
        try {
          email = (JSON.parse(body) as { email?: unknown }).email;
        } catch {
          return send(400, { error: 'body: not JSON' });
        }
        if (typeof email !== 'string' || !EMAIL.test(email)) return send(400, { error: 'email: send {"email": "<address>"}' });
        signIn(email).then((token) => send(200, { token, token_type: 'Bearer', expires_in: TOKEN_SECONDS }), () => send(500, { error: 'could not sign' }));
      });
      return;
    }
    send(404, { error: 'not found' });
  });
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('dev issuer: no address');
  issuer = `http://127.0.0.1:${address.port}`;

  return {
    issuer,
    jwksUrl: `${issuer}/.well-known/jwks.json`,
    audience: DEV_AUDIENCE,
    signIn,
    async verify(token) {
      const { payload } = await jwtVerify(token, keys, { issuer, audience: DEV_AUDIENCE, algorithms: ['EdDSA'], clockTolerance: 30 });
      if (typeof payload.sub !== 'string' || !EMAIL.test(payload.sub)) throw new Error('token: no email subject');
      return `user:${payload.sub}`;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
