/**
 * A world file seeds and never undoes the admin API: a revoke made through the admin API stays
 * revoked across restarts with the same `--world`, the drift is reported, and ApplyWorld plans
 * (and only with `apply` applies) the file's changes, judged by the caller's own rights.
 */
import { ClientError, createChannel, createClient, Metadata, Status } from 'nice-grpc';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Decision } from '@warden/proto/authz/v1';
import { AdminServiceDefinition } from '@warden/proto/authz/v1/admin';
import { AuthzServiceDefinition } from '@warden/proto/authz/v1';
import { createTestIdp } from '@warden/testkit';
import { createTestDatabase, type TestDatabase } from '@warden/testkit/vitest';
import { readFile } from 'node:fs/promises';
import { startAuthzApp, type AuthzApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { ACME_FILE } from './acme-scenario.js';

let db: TestDatabase;
const idp = await createTestIdp();
let jwks: Awaited<ReturnType<typeof idp.serve>>;
const lines: string[] = [];

async function start(): Promise<AuthzApp> {
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  return startAuthzApp(
    loadConfig({
      DATABASE_URL: db.url,
      AUTHZ_GRPC_PORT: '0',
      AUTHZ_HTTP_PORT: '0',
      AUTHZ_METRICS_PORT: '0',
      AUTHZ_WORLD_FILE: ACME_FILE,
      AUTHZ_JWKS_URL: jwks.url,
      AUTHZ_JWT_ISSUER: idp.issuer,
      AUTHZ_JWT_AUDIENCE: idp.audience,
      AUTHZ_SHUTDOWN_GRACE_MS: '2000',
    }),
    logger,
  );
}

function clients(app: AuthzApp, token: string) {
  const channel = createChannel(app.grpcAddress);
  const options = { '*': { metadata: Metadata({ authorization: `Bearer ${token}` }) } };
  return { channel, admin: createClient(AdminServiceDefinition, channel, options), authz: createClient(AuthzServiceDefinition, channel, options) };
}

beforeAll(async () => {
  db = await createTestDatabase();
  jwks = await idp.serve();
});
afterAll(async () => {
  await jwks?.close();
  await db?.drop();
});

describe('world files seed; they never re-apply', () => {
  it('a revoke made through the admin API stays revoked across restarts with the same world file', async () => {
    const first = await start();
    const olivia = clients(first, await idp.token('olivia@acme.com'));
    const check = { subject: 'user:mia@acme.com', action: 'variables:write', resource: 'org:acme/project:checkout/env:development/variable:X' };
    const allowed = await olivia.authz.check({ ...check, consistency: { requirement: { $case: 'fullyConsistent', value: true } } });
    expect(allowed.decision).toBe(Decision.DECISION_ALLOW);
    await olivia.admin.revokeBinding({ bindingId: allowed.reason!.binding!.id, reason: 'left the team' });
    olivia.channel.close();
    await first.close();

    lines.length = 0;
    const second = await start();
    try {
      const again = clients(second, await idp.token('olivia@acme.com'));
      const after = await again.authz.check({ ...check, consistency: { requirement: { $case: 'fullyConsistent', value: true } } });
      expect(after.decision).toBe(Decision.DECISION_DENY);
      const drift = lines.map((l) => JSON.parse(l) as { msg: string; pendingChanges?: number; driftItems?: number; drift?: Array<{ kind: string; detail: string }> }).find((l) => l.msg.startsWith('organization exists and differs'));
      expect(drift, 'the drift is reported').toBeDefined();
      expect(drift!.pendingChanges, 'the revoked binding is a change the file would make').toBe(1);
      expect(JSON.stringify(drift)).not.toContain('user:mia@acme.com'); // what the store lacks is a plan item, not drift

      // warden apply FILE: the plan puts the binding back; only with apply, and judged by the caller.
      const text = await readFile(ACME_FILE, 'utf8');
      const plan = await again.admin.applyWorld({ world: text, reason: 'plan', apply: false });
      expect(plan.applied).toBe(false);
      const acme = plan.orgs.find((o) => o.org === 'acme')!;
      expect(acme.create).toBe(false);
      expect(acme.allowed).toBe(true);
      expect(acme.changes).toBeGreaterThan(0);
      expect(acme.effect!.gains.some((g) => g.subject === 'user:mia@acme.com' && g.action === 'variables:write')).toBe(true);
      const stillDenied = await again.authz.check({ ...check, consistency: { requirement: { $case: 'fullyConsistent', value: true } } });
      expect(stillDenied.decision).toBe(Decision.DECISION_DENY);

      // A member may not apply it: the plan says why, and applying is refused whole.
      const mia = clients(second, await idp.token('mia@acme.com'));
      const refused = await mia.admin.applyWorld({ world: text, reason: 'mine', apply: true }).catch((e: unknown) => e as ClientError);
      expect(refused).toBeInstanceOf(ClientError);
      expect((refused as ClientError).code).toBe(Status.PERMISSION_DENIED);

      const applied = await again.admin.applyWorld({ world: text, reason: 'back to the file', apply: true });
      expect(applied.applied).toBe(true);
      const back = await again.authz.check({ ...check, consistency: { requirement: { $case: 'atLeastRevision', value: applied.revision } } });
      expect(back.decision).toBe(Decision.DECISION_ALLOW);
      again.channel.close();
      mia.channel.close();
    } finally {
      await second.close();
    }
  });
});
