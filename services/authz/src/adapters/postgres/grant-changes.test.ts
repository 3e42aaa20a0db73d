import { describe, expect, it } from 'vitest';
import { CHANGES_LIMIT, grantChangeNotice, parseGrantChangeNotice, touchedBy, touchedByRevision, type ChangeRow } from './grant-changes.js';

const only = (part: Partial<{ subjects: string[]; resources: string[]; orgs: string[] }>) => ({ subjects: [], resources: [], orgs: [], ...part });

describe('touchedBy', () => {
  it('names the parts of the grant graph each kind of change touches', () => {
    expect(touchedBy({ kind: 'binding.created', key: 'b1', before: null, after: { subject: 'user:a' } })).toEqual(only({ subjects: ['user:a'] }));
    expect(touchedBy({ kind: 'binding.deleted', key: 'b1', before: { subject: 'group:g' }, after: null })).toEqual(only({ subjects: ['group:g'] }));
    expect(touchedBy({ kind: 'resource.updated', key: 'org:acme/project:p', before: {}, after: {} })).toEqual(only({ resources: ['org:acme/project:p'] }));
    expect(touchedBy({ kind: 'role.deleted', key: 'acme/release_manager' })).toEqual(only({ orgs: ['acme'] }));
    expect(touchedBy({ kind: 'group_member.added', key: 'group:eng<-user:ann' })).toEqual(only({ subjects: ['user:ann'] }));
    expect(touchedBy({ kind: 'api_key.created', key: 'k1' })).toEqual(only({}));
  });

  it('refuses to guess: an unknown kind or a binding without subject means "everything may have changed"', () => {
    expect(touchedBy({ kind: 'tenant.moved', key: 'x' })).toBeUndefined();
    expect(touchedBy({ kind: 'binding.updated', key: 'b1', before: null, after: null })).toBeUndefined();
  });
});

describe('the change notice', () => {
  it('carries the revision and what it touched, and drops the list when too big for NOTIFY', () => {
    expect(parseGrantChangeNotice(grantChangeNotice(7, [{ kind: 'resource.created', key: 'org:a' }]))).toEqual({ revision: 7, touched: only({ resources: ['org:a'] }) });
    const many = Array.from({ length: 2000 }, (_, i) => ({ kind: 'resource.created', key: `org:a/project:p${i}` }));
    const payload = grantChangeNotice(8, many);
    expect(payload.length).toBeLessThan(8000);
    expect(parseGrantChangeNotice(payload)).toEqual({ revision: 8, touched: null });
    expect(parseGrantChangeNotice(grantChangeNotice(9, [{ kind: 'mystery', key: 'x' }]))).toEqual({ revision: 9, touched: null });
    expect(parseGrantChangeNotice('not json')).toBeUndefined();
    expect(parseGrantChangeNotice('null')).toBeUndefined();
    expect(parseGrantChangeNotice('{"revision":"1","touched":null}')).toBeUndefined();
    expect(parseGrantChangeNotice('{"revision":1,"touched":{"subjects":[1],"resources":[],"orgs":[]}}')).toBeUndefined();
    expect(parseGrantChangeNotice('{"revision":1}')).toBeUndefined();
  });
});

describe('touchedByRevision', () => {
  it('groups changelog rows by revision, and gives up past the limit', () => {
    const rows: ChangeRow[] = [
      ['3', 'resource.created', 'org:a', null, {}],
      ['3', 'group_member.added', 'group:g<-user:u', null, {}],
      [4, 'mystery', 'x', null, null],
    ];
    expect(touchedByRevision(rows)).toEqual(new Map([[3, only({ subjects: ['user:u'], resources: ['org:a'] })], [4, null]]));
    const tooMany: ChangeRow[] = Array.from({ length: CHANGES_LIMIT + 1 }, (_, i) => [i + 1, 'resource.created', `org:a${i}`, null, {}]);
    expect(touchedByRevision(tooMany)).toBeUndefined();
  });
});
