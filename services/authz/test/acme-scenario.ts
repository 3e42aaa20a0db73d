/**
 * The seed scenario (issue 2) as data: phases of world changes, each with the
 * checks it must get right. Run against the in-memory oracle (engine.test.ts)
 * and against real Postgres through the store (scenario.int.test.ts).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { DecisionKind, ReasonCode } from '../src/domain/model.js';
import type { WorldFile } from '../src/domain/world.js';

export const ACME_FILE = fileURLToPath(new URL('../../../examples/acme.yaml', import.meta.url));

export function loadAcme(): WorldFile {
  return parseYaml(readFileSync(ACME_FILE, 'utf8')) as WorldFile;
}

export interface ScenarioCase {
  readonly subject: string;
  readonly action: string;
  readonly resource: string;
  readonly context?: Record<string, unknown>;
  readonly expect: DecisionKind;
  readonly code: ReasonCode;
  /** For ALLOW / REQUIRES_APPROVAL / DENY_BINDING: the binding's subject and role (or `actions`). */
  readonly via?: { readonly subject: string; readonly role: string };
}

export interface Phase {
  readonly name: string;
  /** Changes the world (a deep copy of the previous phase's) before the cases run. */
  readonly change?: (world: WorldFile) => void;
  readonly cases: readonly ScenarioCase[];
}

const ORG = 'org:acme';
const CHECKOUT = `${ORG}/project:checkout`;
const SEARCH = `${ORG}/project:search`;
const env = (project: string, name: string) => `${project}/env:${name}`;
const DEV = env(CHECKOUT, 'development');
const STAGING = env(CHECKOUT, 'staging');
const PROD = env(CHECKOUT, 'production');
const FLAG = `${PROD}/flag:checkout-v2`;
const STAGING_VAR = `${STAGING}/variable:DATABASE_URL`;
const PROD_VAR = `${PROD}/variable:DATABASE_URL`;
const DEV_VAR = `${DEV}/variable:DATABASE_URL`;

const allow = (subject: string, action: string, resource: string, via: { subject: string; role: string }, context?: Record<string, unknown>): ScenarioCase => ({
  subject, action, resource, expect: 'ALLOW', code: 'ALLOWED', via, ...(context ? { context } : {}),
});
/** Production checkout requires approval (acme.yaml): an allowed change there waits for it. */
const gated = (c: ScenarioCase): ScenarioCase => ({ ...c, expect: 'REQUIRES_APPROVAL', code: 'APPROVAL_REQUIRED' });
const deny = (subject: string, action: string, resource: string, code: ReasonCode, context?: Record<string, unknown>): ScenarioCase => ({
  subject, action, resource, expect: 'DENY', code, ...(context ? { context } : {}),
});

const OLIVIA = 'user:olivia@acme.com';
const ADAM = 'user:adam@acme.com';
const MIA = 'user:mia@acme.com';
const VICTOR = 'user:victor@acme.com';
const SAM = 'user:sam@acme.com';
const SARAH = 'user:sarah@acme.com';
const ALEX = 'user:alex@acme.com';
const CHRIS = 'user:chris@acme.com';
const TOM = 'user:tom@acme.com';
const DANA = 'user:dana@acme.com';

function setEnv(world: WorldFile, project: string, name: string, patch: Record<string, unknown>): void {
  const org = world.orgs[0]!;
  const environment = org.projects!.find((p) => p.id === project)!.environments!.find((e) => e.id === name)!;
  Object.assign(environment, patch);
}

export const ACME_PHASES: readonly Phase[] = [
  {
    name: 'as seeded',
    cases: [
      // Owner and admin do everything in every project; only the owner manages billing.
      // Checkout's production requires approval: the owner bypasses it, the admin waits for it.
      ...[CHECKOUT, SEARCH].flatMap((project) => [
        allow(OLIVIA, 'flags:enable', `${env(project, 'production')}/flag:checkout-v2`, { subject: OLIVIA, role: 'owner' }),
        allow(OLIVIA, 'variables:write', `${env(project, 'production')}/variable:API_KEY`, { subject: OLIVIA, role: 'owner' }),
        allow(OLIVIA, 'secrets:reveal', `${env(project, 'production')}/secret:STRIPE_KEY`, { subject: OLIVIA, role: 'owner' }),
        (project === CHECKOUT ? gated : (c: ScenarioCase) => c)(allow(ADAM, 'flags:enable', `${env(project, 'production')}/flag:checkout-v2`, { subject: ADAM, role: 'admin' })),
        (project === CHECKOUT ? gated : (c: ScenarioCase) => c)(allow(ADAM, 'flags:rollout', `${env(project, 'production')}/flag:checkout-v2`, { subject: ADAM, role: 'admin' })),
        allow(ADAM, 'variables:write', `${env(project, 'staging')}/variable:API_KEY`, { subject: ADAM, role: 'admin' }),
        allow(ADAM, 'environments:manage', env(project, 'development'), { subject: ADAM, role: 'admin' }),
        allow(ADAM, 'projects:manage', project, { subject: ADAM, role: 'admin' }),
      ]),
      allow(OLIVIA, 'billing:manage', ORG, { subject: OLIVIA, role: 'owner' }),
      deny(ADAM, 'billing:manage', ORG, 'NO_BINDING'),
      deny(MIA, 'billing:manage', ORG, 'NO_BINDING'),
      deny(VICTOR, 'billing:manage', ORG, 'CEILING'),
      allow(ADAM, 'audit:read', ORG, { subject: ADAM, role: 'admin' }),
      deny(MIA, 'audit:read', ORG, 'NO_BINDING'),
      deny(VICTOR, 'audit:read', ORG, 'NO_BINDING'),
      allow('user:bill@acme.com', 'billing:manage', ORG, { subject: 'user:bill@acme.com', role: 'billing_admin' }),
      allow('user:ivy@acme.com', 'audit:export', ORG, { subject: 'user:ivy@acme.com', role: 'security_auditor' }),

      // Mia: writes development, reads keys (not values) in staging, sees nothing of search or production.
      allow(MIA, 'variables:write', DEV_VAR, { subject: MIA, role: 'env_writer' }),
      allow(MIA, 'variables:read_value', DEV_VAR, { subject: MIA, role: 'env_writer' }),
      allow(MIA, 'flags:enable', `${DEV}/flag:checkout-v2`, { subject: MIA, role: 'env_writer' }),
      allow(MIA, 'variables:read', STAGING_VAR, { subject: MIA, role: 'env_reader' }),
      deny(MIA, 'variables:read_value', STAGING_VAR, 'NO_BINDING'),
      deny(MIA, 'variables:write', STAGING_VAR, 'NO_BINDING'),
      deny(MIA, 'flags:read', `${PROD}/flag:checkout-v2`, 'NO_BINDING'),
      deny(MIA, 'variables:read', PROD_VAR, 'NO_BINDING'),
      deny(MIA, 'projects:read', SEARCH, 'NO_BINDING'),
      deny(MIA, 'flags:read', `${env(SEARCH, 'development')}/flag:ranking-v3`, 'NO_BINDING'),

      // Victor is a viewer: reads, and the env_writer granted by mistake writes nothing.
      allow(VICTOR, 'flags:read', `${STAGING}/flag:checkout-v2`, { subject: VICTOR, role: 'env_writer' }),
      allow(VICTOR, 'projects:read', SEARCH, { subject: VICTOR, role: 'viewer' }),
      deny(VICTOR, 'variables:write', STAGING_VAR, 'CEILING'),
      deny(VICTOR, 'flags:enable', `${STAGING}/flag:checkout-v2`, 'CEILING'),
      deny(VICTOR, 'secrets:reveal', `${STAGING}/secret:STRIPE_KEY`, 'CEILING'),
      deny(VICTOR, 'flags:write', `${DEV}/flag:checkout-v2`, 'CEILING'),

      // Sam (env_writer on all of checkout): staging yes, production's sensitive actions no.
      allow(SAM, 'variables:write', STAGING_VAR, { subject: SAM, role: 'env_writer' }),
      deny(SAM, 'variables:write', PROD_VAR, 'PROTECTED_RESOURCE'),
      deny(SAM, 'flags:enable', FLAG, 'PROTECTED_RESOURCE'),
      deny(SAM, 'secrets:reveal', `${PROD}/secret:STRIPE_KEY`, 'PROTECTED_RESOURCE'),
      allow(SAM, 'flags:read', FLAG, { subject: SAM, role: 'env_writer' }),
      // flags:disable is not in production's sensitive list: a broad grant reaches it (with approval there).
      gated(allow(SAM, 'flags:disable', FLAG, { subject: SAM, role: 'env_writer' })),

      // Sarah is also a release manager for production: her changes there wait for approval; reads do not.
      gated(allow(SARAH, 'variables:write', PROD_VAR, { subject: SARAH, role: 'release_manager' })),
      gated(allow(SARAH, 'flags:enable', FLAG, { subject: SARAH, role: 'release_manager' })),
      gated(allow(SARAH, 'flags:rollout', FLAG, { subject: SARAH, role: 'release_manager' })),
      allow(SARAH, 'variables:read', PROD_VAR, { subject: SARAH, role: 'release_manager' }),
      // Staging does not require approval.
      allow(SARAH, 'variables:write', STAGING_VAR, { subject: SARAH, role: 'env_writer' }),
      // Alex, through the release-managers group.
      gated(allow(ALEX, 'flags:rollout', FLAG, { subject: 'group:release-managers', role: 'release_manager' })),
      deny(ALEX, 'flags:rollout', `${env(SEARCH, 'production')}/flag:ranking-v3`, 'NO_BINDING'),

      // Chris: group grants, but the deny on secrets:reveal wins.
      allow(CHRIS, 'variables:write', DEV_VAR, { subject: 'group:checkout-devs', role: 'env_writer' }),
      { ...deny(CHRIS, 'secrets:reveal', `${DEV}/secret:STRIPE_KEY`, 'DENY_BINDING'), via: { subject: CHRIS, role: 'actions' } },

      // Tom's binding expired; Dana's needs a ticket.
      deny(TOM, 'variables:write', STAGING_VAR, 'EXPIRED'),
      deny(DANA, 'variables:write', STAGING_VAR, 'CONDITION_FALSE'),
      deny(DANA, 'variables:write', STAGING_VAR, 'CONDITION_FALSE', { ticket: '' }),
      allow(DANA, 'variables:write', STAGING_VAR, { subject: DANA, role: 'env_writer' }, { ticket: 'OPS-1234' }),

      // Strangers and service accounts.
      deny('user:mallory@evil.example', 'flags:read', FLAG, 'NO_BINDING'),
      allow('service:checkout-deployer', 'flags:enable', `${STAGING}/flag:checkout-v2`, { subject: 'service:checkout-deployer', role: 'env_writer' }),
      deny('service:checkout-deployer', 'flags:enable', FLAG, 'NO_BINDING'),
      deny(OLIVIA, 'flags:enable', 'org:globex/project:checkout', 'NO_BINDING'),
    ],
  },
  {
    name: 'staging shows values to readers',
    change: (world) => setEnv(world, 'checkout', 'staging', { show_values_to_readers: true }),
    cases: [
      allow(MIA, 'variables:read_value', STAGING_VAR, { subject: MIA, role: 'env_reader' }),
      deny(MIA, 'variables:write', STAGING_VAR, 'NO_BINDING'),
      deny(MIA, 'variables:read_value', PROD_VAR, 'NO_BINDING'),
    ],
  },
  {
    name: 'production approval turned off',
    change: (world) => setEnv(world, 'checkout', 'production', { require_approval: false }),
    cases: [
      allow(SARAH, 'variables:write', PROD_VAR, { subject: SARAH, role: 'release_manager' }),
      allow(SARAH, 'flags:enable', FLAG, { subject: SARAH, role: 'release_manager' }),
      allow(ALEX, 'flags:rollout', FLAG, { subject: 'group:release-managers', role: 'release_manager' }),
      allow(ADAM, 'flags:enable', FLAG, { subject: ADAM, role: 'admin' }),
      allow(SAM, 'flags:disable', FLAG, { subject: SAM, role: 'env_writer' }),
      // Approval never turned a denial into anything: unauthorized stays denied.
      deny(SAM, 'variables:write', PROD_VAR, 'PROTECTED_RESOURCE'),
    ],
  },
];

export function caseName(c: ScenarioCase): string {
  const ctx = c.context ? ` ${JSON.stringify(c.context)}` : '';
  return `${c.subject} ${c.action} ${c.resource}${ctx} → ${c.expect} (${c.code})`;
}
