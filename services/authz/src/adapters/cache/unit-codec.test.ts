import { describe, expect, it } from 'vitest';
import { entryOf, orgUnitText, subjectUnitText } from './unit-codec.js';
import type { OrgUnit, SubjectUnit } from './units.js';

describe('unit texts (format v3)', () => {
  it('an organization unit carries its declared actions, subject types and resource types', () => {
    const text = orgUnitText([], { a: ['GET', 'POST'], s: ['identity'], t: [['route', 'org'], ['record', 'project']] });
    const unit = entryOf('o:gateway', 3, text).unit as OrgUnit;
    expect(unit.catalogue.has('GET')).toBe(true);
    expect(unit.catalogue.hasSubjectType('identity')).toBe(true);
    expect(unit.catalogue.hasSubjectType('robot')).toBe(false);
    expect(unit.catalogue.parentOf('record')).toBe('project');
    expect(unit.catalogue.parentOf('todo')).toBeUndefined();
  });

  it('a subject unit carries its directory entry per organization, and still starts with its groups (the Redis script reads them)', () => {
    const text = subjectUnitText({ groups: ['group:eng'], orgs: ['acme'] }, [], { acme: { email: 'ann@acme.com' } });
    expect(text.startsWith('{"g":["group:eng"]')).toBe(true);
    const unit = entryOf('s:user:ann', 3, text).unit as SubjectUnit;
    expect(unit.directory?.get('acme')).toEqual({ email: 'ann@acme.com' });
    expect((entryOf('s:user:bob', 3, subjectUnitText(undefined, [])).unit as SubjectUnit).directory).toBeUndefined();
  });
});
