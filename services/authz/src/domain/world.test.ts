import { describe, expect, it } from 'vitest';
import { loadAcme } from '../../test/acme-scenario.js';
import { InvalidArgumentError } from '@warden/errors';
import { parseWorld } from './world.js';

const fails = (input: unknown, message: string | RegExp) => {
  let error: unknown;
  try {
    parseWorld(input);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(InvalidArgumentError);
  if (typeof message === 'string') expect((error as Error).message).toBe(message);
  else expect((error as Error).message).toMatch(message);
};

describe('world files', () => {
  it('normalises the example: resources for every org, project and environment, scopes made absolute', () => {
    const world = parseWorld(loadAcme());
    expect(world.resources.map((r) => r.path)).toContain('org:acme/project:search/env:production');
    expect(world.resources.find((r) => r.path === 'org:acme/project:checkout/env:production')!.attributes).toEqual({
      protected: true,
      require_approval: true,
      show_values_to_readers: false,
      sensitive_actions: ['flags:enable', 'flags:rollout', 'variables:write', 'secrets:reveal'],
      protected_roles: ['owner', 'admin', 'release_manager', 'release_requester'],
    });
    const mia = world.bindings.filter((b) => b.subject === 'user:mia@acme.com').map((b) => b.scope);
    expect(mia).toEqual(['org:acme', 'org:acme/project:checkout/env:development', 'org:acme/project:checkout/env:staging']);
    expect(world.memberships).toContainEqual({ org: 'acme', group: 'group:release-managers', member: 'user:alex@acme.com' });
  });

  it('takes an organization\'s own definition of a built-in role name', () => {
    const world = parseWorld({ orgs: [{ id: 'a', roles: [{ name: 'viewer', actions: ['orgs:read'], membership: true, ceiling: ['*:read'] }], bindings: [{ subject: 'user:x', role: 'viewer' }] }] });
    expect(world.roles).toEqual([{ org: 'a', name: 'viewer', description: undefined, actions: ['orgs:read'], membership: true, ceiling: ['*:read'] }]);
  });

  it('reports the place of each problem', () => {
    fails({ orgs: [] }, 'orgs: Too small: expected array to have >=1 items');
    fails({ orgs: [{ id: 'a', bindings: [{ subject: 'user:x', role: 'nope' }] }] }, 'orgs.0.bindings.0.role: role nope is not defined in organization a');
    fails({ orgs: [{ id: 'a', bindings: [{ subject: 'user:x' }] }] }, 'orgs.0.bindings.0: a binding names exactly one of role and actions');
    fails({ orgs: [{ id: 'a', bindings: [{ subject: 'user:x', role: 'owner', scope: 'org:b/project:p' }] }] }, 'orgs.0.bindings.0.scope: org:b/project:p is outside org:a');
    fails({ orgs: [{ id: 'a', bindings: [{ subject: 'user:x', role: 'owner', condition: 'request.x ==' }] }] }, /^orgs\.0\.bindings\.0\.condition: is not a valid CEL expression/);
    fails({ orgs: [{ id: 'a', roles: [{ name: 'admin', actions: ['*'] }, { name: 'admin', actions: ['flags:read'] }] }] }, 'orgs.0.roles.1.name: role admin appears twice');
    fails({ orgs: [{ id: 'a', bindings: [{ subject: 'user:x', role: 'owner', expires_at: 'soon' }] }] }, 'orgs.0.bindings.0.expires_at: soon is not a date-time');
    fails(
      { orgs: [{ id: 'a', bindings: [{ subject: 'user:x', role: 'viewer' }, { subject: 'user:x', role: 'viewer', scope: 'org:a', condition: 'request.t != ""' }] }] },
      'orgs.0.bindings.1: repeats bindings.0 (same subject, role, scope and effect); merge them into one',
    );
    fails({ orgs: [{ id: 'a', surprise: true }] }, 'orgs.0: Unrecognized key: "surprise"');
    fails({ orgs: [{ id: 'a', projects: [{ id: 'p', environments: [{ id: 'e', sensitive_actions: ['flags enable'] }] }] }] }, 'orgs.0.projects.0.environments.0.sensitive_actions[0]: "flags enable" is not an action: parts separated by ":" are 1-64 letters, digits, _ . - starting with a letter, digit or _ (e.g. "read", "GET", "flags:enable")');
    fails({ orgs: [{ id: 'a', bindings: [{ subject: 'identity:x', role: 'viewer' }] }] }, 'orgs.0.bindings.0.subject: subject type identity is not declared in organization a (subject_types: [...])');
    fails({ orgs: [{ id: 'a', subject_types: ['user'] }] }, 'orgs.0.subject_types[0]: user is built in; declare only other types');
    fails({ orgs: [{ id: 'a', resource_types: [{ name: 'project' }] }] }, 'orgs.0.resource_types[0].name: "project" is not a resource type name (lowercase letters, digits and _, at most 32; not org, project or env)');
    fails({ orgs: [{ id: 'a', resource_types: [{ name: 'x', parent: 'nowhere' }] }] }, 'orgs.0.resource_types[0].parent: "nowhere" is neither org, project, env nor a declared resource type');
    fails({ orgs: [{ id: 'a', resource_types: [{ name: 'x', parent: 'y' }, { name: 'y', parent: 'x' }] }] }, /^orgs\.0\.resource_types: x hangs under itself/);
    fails({ orgs: [{ id: 'a', directory: [{ subject: 'user:x', attributes: { email: 'x@a' } }, { subject: 'user:x', attributes: {} }] }] }, 'orgs.0.directory.1.subject: user:x appears twice');
    fails({ orgs: [{ id: 'a', bindings: [{ subject: 'user:x', actions: ['orgs:read'], resource: { type: 'route', id: '/x' } }] }] }, /^orgs\.0\.bindings\.0\.resource\.type: "route" is not a resource type org:a declares/);
    fails({ orgs: [{ id: 'a', resource_types: [{ name: 'route' }], bindings: [{ subject: 'user:x', actions: ['orgs:read'], scope: 'route:%2Fx', resource: { type: 'route', id: '/x' } }] }] }, 'orgs.0.bindings.0: a binding names at most one of scope and resource');
    fails({ orgs: [{ id: 'a', resources: [{ protected: true }] }] }, 'orgs.0.resources.0: a resource names exactly one of path and resource');
    fails({ orgs: [{ id: 'a', resource_types: [{ name: 'route' }], resources: [{ path: 'project:p/route:%2Fx' }] }] }, 'orgs.0.resources.0.path: org:a/project:p/route:%2Fx is a route, which the organization declares under org, but it sits under project');
  });

  it('takes resources and binding scopes as the client names them, mapped like an AuthZEN {type, id}', () => {
    const world = parseWorld({
      orgs: [{
        id: 'gw',
        resource_types: [{ name: 'route' }, { name: 'record', parent: 'project' }],
        actions: ['GET'],
        resources: [{ resource: { type: 'route', id: '/todos/{todoId}' } }, { resource: { type: 'record', id: 'r|1', parent: 'project:p' } }],
        bindings: [{ subject: 'user:x', actions: ['GET'], resource: { type: 'route', id: '/todos/{todoId}' } }],
      }],
    });
    expect(world.resources.map((r) => r.path)).toEqual(['org:gw', 'org:gw/route:%2Ftodos%2F{todoId}', 'org:gw/project:p/record:r|1']);
    expect(world.bindings[0]!.scope).toBe('org:gw/route:%2Ftodos%2F{todoId}');
  });
});

