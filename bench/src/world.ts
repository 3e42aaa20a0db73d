/**
 * A realistic generated world for the benchmark, deterministic from a seed:
 * organizations with projects × (development, staging, production) environments
 * (production protected: sensitive actions only through owner, admin or
 * release_manager), two custom roles per organization, groups of users, org
 * memberships (one owner; member / viewer / admin), group grants on projects, user grants on
 * projects and environments, and a few project-wide deny bindings. Checks follow a
 * Zipf distribution over users (a few users make most calls), mostly on projects
 * they work on.
 */
import type { CheckInput, WorldFile } from '@warden/authz';
import { seededRandom } from '@warden/testkit';

export interface WorldOptions {
  readonly subjects: number;
  readonly projects: number;
  readonly bindings: number;
  readonly orgs: number;
  readonly seed: number;
}

export const DEFAULT_WORLD: WorldOptions = { subjects: 10_000, projects: 1_000, bindings: 100_000, orgs: 10, seed: 42 };

/** The default world with the sizes given on the command line (--subjects, --projects, --bindings). */
export function worldFromArgs(values: { subjects?: string | undefined; projects?: string | undefined; bindings?: string | undefined }): WorldOptions {
  return {
    ...DEFAULT_WORLD,
    subjects: Number(values.subjects ?? DEFAULT_WORLD.subjects),
    projects: Number(values.projects ?? DEFAULT_WORLD.projects),
    bindings: Number(values.bindings ?? DEFAULT_WORLD.bindings),
  };
}

export const ENVS = ['development', 'staging', 'production'] as const;
export const PROTECTED_ROLES = ['owner', 'admin', 'release_manager'];
export const CUSTOM_ROLES = [
  { name: 'release_manager', actions: ['flags:*', 'variables:*', 'secrets:read', 'secrets:reveal', 'environments:read', 'projects:read'] },
  { name: 'flag_operator', actions: ['flags:read', 'flags:enable', 'flags:disable', 'projects:read', 'environments:read'] },
];
const USER_ROLES = ['env_reader', 'env_reader', 'env_writer', 'contributor', 'flag_operator'];
const GROUP_ROLES = ['contributor', 'env_reader', 'env_reader'];

/** The kinds of resource checked, with their actions. */
export const KINDS = {
  flag: ['flags:read', 'flags:enable', 'flags:disable', 'flags:rollout'],
  variable: ['variables:read', 'variables:write'],
  secret: ['secrets:read', 'secrets:reveal'],
} as const;
export type Kind = keyof typeof KINDS;


export interface GeneratedWorld {
  readonly file: WorldFile;
  readonly users: readonly string[];
  readonly groups: readonly string[];
  readonly bindingCount: number;
  /** For each user: its org and the projects it is bound on (where its checks mostly go). */
  readonly home: ReadonlyMap<string, { org: string; projects: string[] }>;
  readonly projectsPerOrg: number;
}

export function generateWorld(options: WorldOptions = DEFAULT_WORLD): GeneratedWorld {
  const random = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const groupCount = Math.max(options.orgs, Math.round(options.subjects * 0.03));
  const userCount = options.subjects - groupCount;
  const projectsPerOrg = Math.max(1, Math.floor(options.projects / options.orgs));
  const orgIds = Array.from({ length: options.orgs }, (_, i) => `o${i}`);
  const users: string[] = [];
  const groups: string[] = [];
  const home = new Map<string, { org: string; projects: string[] }>();
  const orgs = orgIds.map((id) => ({
    id,
    roles: CUSTOM_ROLES.map((r) => ({ ...r })),
    projects: Array.from({ length: projectsPerOrg }, (_, p) => ({
      id: `p${p}`,
      environments: ENVS.map((env) => (env === 'production' ? { id: env, protected: true, protected_roles: PROTECTED_ROLES } : { id: env })),
    })),
    groups: [] as Array<{ id: string; members: string[] }>,
    bindings: [] as Array<{ subject: string; role?: string; actions?: string[]; scope?: string; effect?: 'allow' | 'deny' }>,
  }));
  const seen = new Set<string>();
  let count = 0;
  const bind = (org: (typeof orgs)[number], binding: (typeof orgs)[number]['bindings'][number]): boolean => {
    const key = `${binding.subject} ${binding.role ?? binding.actions?.join(',')} ${binding.scope ?? ''} ${binding.effect ?? 'allow'}`;
    if (seen.has(key)) return false;
    seen.add(key);
    org.bindings.push(binding);
    count++;
    return true;
  };

  for (let g = 0; g < groupCount; g++) {
    const org = orgs[g % orgs.length]!;
    const id = `${org.id}-team${Math.floor(g / orgs.length)}`;
    org.groups.push({ id, members: [] });
    groups.push(`group:${id}`);
  }
  for (let u = 0; u < userCount; u++) {
    const org = orgs[u % orgs.length]!;
    const user = `user:u${u}@${org.id}.example`;
    users.push(user);
    home.set(user, { org: org.id, projects: [] });
    // Membership: the first user of each organization owns it; most are members, some viewers, a few admins.
    const r = random();
    bind(org, { subject: user, role: u < orgs.length ? 'owner' : r < 0.8 ? 'member' : r < 0.96 ? 'viewer' : 'admin' });
    // One or two teams.
    const teams = org.groups;
    pick(teams).members.push(user);
    if (random() < 0.4) {
      const second = pick(teams);
      if (!second.members.includes(user)) second.members.push(user);
    }
  }
  // Teams work on a few projects each.
  for (const org of orgs) {
    for (const team of org.groups) {
      for (let i = 0; i < 5; i++) bind(org, { subject: `group:${team.id}`, role: pick(GROUP_ROLES), scope: `project:p${Math.floor(random() * projectsPerOrg)}` });
    }
  }
  // A few project-wide freezes (deny bindings on everything) for some users.
  const denies = Math.round(options.bindings * 0.005);
  for (let i = 0; i < denies; i++) {
    const user = users[Math.floor(random() * users.length)]!;
    const org = orgs.find((o) => o.id === home.get(user)!.org)!;
    bind(org, { subject: user, actions: ['*'], scope: `project:p${Math.floor(random() * projectsPerOrg)}`, effect: 'deny' });
  }
  // The rest: users on projects and environments of their organization.
  let guard = 0;
  while (count < options.bindings && guard++ < options.bindings * 10) {
    const user = users[Math.floor(random() * users.length)]!;
    const h = home.get(user)!;
    const org = orgs.find((o) => o.id === h.org)!;
    const project = h.projects.length > 0 && random() < 0.5 ? pick(h.projects) : `p${Math.floor(random() * projectsPerOrg)}`;
    const r = random();
    const scope = r < 0.3 ? `project:${project}` : `project:${project}/env:${pick(ENVS)}`;
    const role = scope.endsWith('env:production') && random() < 0.15 ? 'release_manager' : pick(USER_ROLES);
    if (bind(org, { subject: user, role, scope }) && !h.projects.includes(project)) h.projects.push(project);
  }
  return { file: { orgs }, users, groups, bindingCount: count, home, projectsPerOrg };
}

/** Zipf(s) sampler over ranks 0..n-1 (rank 0 most frequent), by inverse CDF. */
export function zipf(n: number, s: number, random: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) cdf[k] = sum += 1 / Math.pow(k + 1, s);
  for (let k = 0; k < n; k++) cdf[k]! /= sum;
  return () => {
    const x = random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

export interface BenchCheck extends CheckInput {
  readonly kind: Kind;
  readonly org: string;
}

/** `count` checks with Zipf-skewed subjects, mostly on their own projects. */
export function generateChecks(world: GeneratedWorld, count: number, seed: number): BenchCheck[] {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  // Ranks are a shuffled order of users, so the hot users are spread over organizations.
  const ranked = [...world.users];
  for (let i = ranked.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [ranked[i], ranked[j]] = [ranked[j]!, ranked[i]!];
  }
  const rank = zipf(ranked.length, 1.05, random);
  const kinds = Object.keys(KINDS) as Kind[];
  const checks: BenchCheck[] = [];
  for (let i = 0; i < count; i++) {
    const subject = ranked[rank()]!;
    const h = world.home.get(subject)!;
    const project = h.projects.length > 0 && random() < 0.8 ? pick(h.projects) : `p${Math.floor(random() * world.projectsPerOrg)}`;
    const kind = pick(kinds);
    const action = pick(KINDS[kind]);
    const resource = `org:${h.org}/project:${project}/env:${pick(ENVS)}/${kind}:${kind[0]}${Math.floor(random() * 20)}`;
    checks.push({ subject, action, resource, kind, org: h.org });
  }
  return checks;
}
