import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { createTestIdp, TEST_AUDIENCE, TEST_ISSUER } from './idp.js';

describe('the test identity provider', () => {
  it('signs tokens its JWKS verifies, served over HTTP and written to a file', async () => {
    const idp = await createTestIdp({ kid: 'idp-1' });
    const token = await idp.token('mia@acme.com');
    const served = await idp.serve();
    const dir = await mkdtemp(path.join(tmpdir(), 'testkit-idp-'));
    try {
      const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(served.url)), { issuer: TEST_ISSUER, audience: TEST_AUDIENCE });
      expect(payload.sub).toBe('mia@acme.com');
      expect(protectedHeader.kid).toBe('idp-1');
      await idp.writeJwks(path.join(dir, 'jwks.json'));
      const file = JSON.parse(await readFile(path.join(dir, 'jwks.json'), 'utf8')) as { keys: [] };
      await expect(jwtVerify(token, createLocalJWKSet(file))).resolves.toBeDefined();
    } finally {
      await served.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('makes tokens a verifier refuses: expired, foreign key, other audience', async () => {
    const idp = await createTestIdp();
    const keys = createLocalJWKSet(idp.jwks as { keys: [] });
    const options = { issuer: TEST_ISSUER, audience: TEST_AUDIENCE };
    await expect(jwtVerify(await idp.token('a', { expiresIn: '-1m' }), keys, options)).rejects.toThrow(/"exp" claim/);
    await expect(jwtVerify(await idp.token('a', { foreignKey: true }), keys, options)).rejects.toThrow(/signature verification failed/);
    await expect(jwtVerify(await idp.token('a', { audience: 'other' }), keys, options)).rejects.toThrow(/"aud" claim/);
  });
});
