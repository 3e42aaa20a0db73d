/**
 * The cost of judging a management change by its effect (issue 13): the effect computation and
 * the rule for one binding change and for one group-membership change on the benchmark's world,
 * through the admin use case's preview (it loads the part of the organization's graph the change
 * can touch from Postgres, computes the effect, applies the rule and the invariants; it writes
 * nothing). Each sample: a random organization's admin grants a random user of it env_writer on a
 * random project, or adds a random user of it to a random group of it.
 */
import * as hdr from 'hdr-histogram-js';
import { createAdmin, PgApiKeyStore, PgGrantQueries, PgGrantStore, PgGrantWriter, type Caller } from '@warden/authz';
import type pg from 'pg';
import { seededRandom } from '@warden/testkit';
import type { GeneratedWorld } from './world.js';

export interface ManagementRow {
  readonly change: string;
  readonly samples: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly maxMs: number;
  /** Share of the samples the rule allowed (the rest are refused, with their effect computed all the same). */
  readonly allowedShare: number;
  readonly meanGains: number;
}

export async function measureManagement(options: { pool: pg.Pool; world: GeneratedWorld; samples: number }): Promise<ManagementRow[]> {
  const { pool, world } = options;
  const admin = createAdmin({
    source: new PgGrantStore(pool),
    queries: new PgGrantQueries(pool),
    writer: new PgGrantWriter(pool),
    keys: new PgApiKeyStore(pool),
    platformAdmins: new Set(),
  });
  const random = seededRandom(11);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const orgs = world.file.orgs.map((org) => ({
    id: org.id,
    admins: (org.bindings ?? []).filter((b) => b.role === 'admin' && b.scope === undefined).map((b) => b.subject),
    users: (org.bindings ?? []).filter((b) => b.role === 'member' && b.scope === undefined).map((b) => b.subject),
    groups: (org.groups ?? []).map((g) => `group:${g.id}`),
    projects: (org.projects ?? []).map((p) => p.id),
  }));
  const caller = (subject: string): Caller => ({ kind: 'jwt', subject, issuer: 'bench' });

  async function measure(change: string, make: () => { who: string; input: Parameters<typeof admin.previewChange>[1] }): Promise<ManagementRow> {
    const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
    let allowed = 0;
    let gains = 0;
    // A few unmeasured rounds first (plans, connections, JIT).
    for (let i = 0; i < 10; i++) {
      const { who, input } = make();
      await admin.previewChange(caller(who), input);
    }
    for (let i = 0; i < options.samples; i++) {
      const { who, input } = make();
      const t = process.hrtime.bigint();
      const preview = await admin.previewChange(caller(who), input);
      histogram.recordValue(Number(process.hrtime.bigint() - t) / 1000);
      if (preview.allowed) allowed++;
      gains += preview.effect.gains.length;
    }
    const row = {
      change,
      samples: options.samples,
      p50Ms: histogram.getValueAtPercentile(50) / 1000,
      p95Ms: histogram.getValueAtPercentile(95) / 1000,
      maxMs: histogram.maxValue / 1000,
      allowedShare: allowed / options.samples,
      meanGains: gains / options.samples,
    };
    histogram.destroy();
    return row;
  }

  const withAdmins = orgs.filter((o) => o.admins.length > 0 && o.users.length > 0 && o.groups.length > 0);
  return [
    await measure('grant a binding (env_writer on a project)', () => {
      const org = pick(withAdmins);
      return {
        who: pick(org.admins),
        input: { kind: 'grant', input: { subject: pick(org.users), role: 'env_writer', scope: `org:${org.id}/project:${pick(org.projects)}`, reason: 'bench' } },
      };
    }),
    await measure('add a group member', () => {
      const org = pick(withAdmins);
      return { who: pick(org.admins), input: { kind: 'add_member', input: { org: org.id, group: pick(org.groups), member: pick(org.users) } } };
    }),
  ];
}
