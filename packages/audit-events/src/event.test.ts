import { describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { canonicalEvent, parseEvent, uuidV7Time, type AuditEvent } from './event.js';
import { generateSigningKey, signEvent, verifyEventSignature } from './keys.js';
import { scopeOf } from '@warden/names';

const base: AuditEvent = {
  id: uuidv7(),
  occurredAt: '2026-11-23T14:05:00.123Z',
  actor: { type: 'user', id: 'sarah@acme.com' },
  action: 'flag.rollout_changed',
  resource: 'org:acme/project:checkout/env:production/flag:checkout-v2',
  before: { rollout: 25 },
  after: { rollout: 50 },
  producer: 'flags',
  keyId: 'k1',
};

describe('events', () => {
  it('canonicalizes per RFC 8785 (sorted keys, no whitespace, absent fields omitted)', () => {
    const text = canonicalEvent({ ...base, reason: 'ramp', request: { traceId: 't-1', ip: '10.0.0.1' } });
    expect(text.startsWith('{"action":"flag.rollout_changed","actor":{"id":"sarah@acme.com","type":"user"},"after":{"rollout":50}')).toBe(true);
    expect(text).toContain('"request":{"ip":"10.0.0.1","traceId":"t-1"}');
    expect(text).not.toContain(' ');
    expect(canonicalEvent({ ...base, after: { b: 1, a: 2.5e-7 } })).toContain('"after":{"a":2.5e-7,"b":1}');
  });

  it('signs and verifies; any change breaks the signature', () => {
    const { privateKey, publicKey } = generateSigningKey();
    const signature = signEvent(base, privateKey);
    expect(signature.length).toBe(64);
    expect(verifyEventSignature(base, signature, publicKey)).toBe(true);
    expect(verifyEventSignature({ ...base, after: { rollout: 51 } }, signature, publicKey)).toBe(false);
    expect(verifyEventSignature(base, signature, generateSigningKey().publicKey)).toBe(false);
    expect(verifyEventSignature(base, signature.subarray(0, 63), publicKey)).toBe(false);
  });

  it('names the malformed field', () => {
    expect(parseEvent({ ...base, id: 'not-a-uuid' })).toMatchObject({ ok: false, problem: { field: 'event.id' } });
    expect(parseEvent({ ...base, occurredAt: '2026-11-23T14:05:00Z' })).toMatchObject({ ok: false, problem: { field: 'event.occurredAt' } });
    expect(parseEvent({ ...base, actor: { type: 'robot', id: 'x' } })).toMatchObject({ ok: false, problem: { field: 'event.actor.type' } });
    expect(parseEvent({ ...base, resource: 'project:x' })).toMatchObject({ ok: false, problem: { field: 'event.resource', message: expect.stringMatching(/org/) } });
    expect(parseEvent({ ...base, reason: '' })).toMatchObject({ ok: false, problem: { field: 'event.reason' } });
    expect(parseEvent({ ...base, extra: 1 })).toMatchObject({ ok: false, problem: { field: 'event' } });
    expect(parseEvent({ ...base, request: {} })).toMatchObject({ ok: false, problem: { field: 'event.request' } });
    expect(parseEvent(base)).toMatchObject({ ok: true });
  });

  it('accepts every subject authz can grant to (ids up to 254 characters), and no more', () => {
    const id = `svc-${'a'.repeat(250)}`;
    expect(parseEvent({ ...base, actor: { type: 'service', id } })).toMatchObject({ ok: true });
    expect(parseEvent({ ...base, actor: { type: 'service', id: `${id}a` } })).toMatchObject({ ok: false, problem: { field: 'event.actor.id' } });
  });

  it('derives org, project and environment from the resource path', () => {
    expect(scopeOf(base.resource)).toEqual({ org: 'acme', project: 'checkout', environment: 'production' });
    expect(scopeOf('org:acme/billing:main')).toEqual({ org: 'acme', project: '', environment: '' });
  });

  it('reads the minting time of a UUIDv7 event id', () => {
    const at = Date.UTC(2026, 10, 23, 14, 5, 0, 123);
    expect(uuidV7Time(uuidv7({ msecs: at }))).toBe(at);
  });
});
