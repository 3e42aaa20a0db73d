import { describe, expect, it } from 'vitest';
import { changesOfWorld } from '../domain/changes.js';
import { OrgGraph } from '../domain/org-graph.js';
import { parseWorld } from '../domain/world.js';
import { pendingChanges } from './world-apply.js';

const file = {
  orgs: [{
    id: 'todo',
    subject_types: ['identity'],
    resource_types: [{ name: 'todo' }],
    directory: [
      { subject: 'user:rick', attributes: { email: 'rick@the-citadel.com' } },
      { subject: 'identity:morty', attributes: { email: 'morty@the-citadel.com' } },
    ],
    bindings: [{ subject: 'user:ops', role: 'owner' }],
  }],
};

/** The store as the file left it, or with `directory` instead of the file's entries. */
function store(directory: Map<string, Record<string, unknown>>): OrgGraph {
  const world = parseWorld(file);
  return new OrgGraph({
    org: 'todo',
    revision: 1,
    bindings: world.bindings.map((b, i) => ({ ...b, id: `b${i}` })),
    memberships: [],
    roles: [],
    declaredActions: [],
    schema: world.catalogues[0]!.schema,
    attributes: new Map(),
    directory,
  });
}

describe('a world file\'s directory and declared types, applied again', () => {
  const changes = changesOfWorld(parseWorld(file));
  const existing = new Set(['org:todo']);

  it('an unchanged directory and schema are nothing to do (no owner-only change on a re-apply)', () => {
    const same = store(new Map([['user:rick', { email: 'rick@the-citadel.com' }], ['identity:morty', { email: 'morty@the-citadel.com' }]]));
    expect(pendingChanges(same, changes, existing).filter((c) => c.kind === 'directory.put' || c.kind === 'catalogue.put')).toEqual([]);
  });

  it('a changed or missing entry is pending', () => {
    const changed = store(new Map([['user:rick', { email: 'rick@elsewhere' }]]));
    const pending = pendingChanges(changed, changes, existing).filter((c) => c.kind === 'directory.put');
    expect(pending.map((c) => (c.kind === 'directory.put' ? c.subject : ''))).toEqual(['user:rick', 'identity:morty']);
  });
});
