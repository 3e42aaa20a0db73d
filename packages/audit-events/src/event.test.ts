import { describe, expect, it } from 'vitest';
import { inspect, isDeepStrictEqual } from 'node:util';
import canonicalize from 'canonicalize';
import { v7 as uuidv7 } from 'uuid';
import { canonicalEvent, parseEvent, parseEventFast, parseEventWithSchema, uuidV7Time, type AuditEvent, type JsonValue } from './event.js';
import { generateSigningKey, signEvent, verifyEventSignature } from './keys.js';
import { scopeOf } from '@warden/names';
import { seededRandom } from '@warden/testkit';

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

// ---------------------------------------------------------------------------------------
// The fast paths against their references, on random events (seeded: a failure replays).


class Gen {
  constructor(readonly random: () => number) {}
  int(n: number): number {
    return Math.floor(this.random() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  chance(p: number): boolean {
    return this.random() < p;
  }
  from(alphabet: string, min: number, max: number): string {
    const chars = Array.from(alphabet);
    let s = '';
    for (let n = min + this.int(max - min + 1); n > 0; n -= 1) s += this.pick(chars);
    return s;
  }
  /** Any string: ASCII, JSON escapes, controls, U+2028, non-BMP pairs and now and then a lone surrogate. */
  text(max = 12, lone = 0.05): string {
    const pieces = ['a', 'Z', '0', ' ', '"', '\\', '/', '\n', '\t', '\u0000', '\u001f', '\u007f', '\u00e9', '\u2028', '\u65e5', '\ud83d\ude00', '<', '%2F', 'é'];
    let s = '';
    for (let n = this.int(max + 1); n > 0; n -= 1) s += this.chance(lone) ? this.pick(['\ud800', '\udfff', '\udbff']) : this.pick(pieces);
    return s;
  }
  number(): number {
    return this.pick([0, -0, 1, -1, 0.1, 1e21, 1e-7, 2.5e-7, -1234.5678, 9007199254740991, 5e-324, 1.7976931348623157e308, this.random() * 1e6, -this.int(1e9)]);
  }
  json(depth = 0): JsonValue {
    const k = this.int(depth > 3 ? 4 : 7);
    if (k === 0) return this.text();
    if (k === 1) return this.number();
    if (k === 2) return this.chance(0.5);
    if (k === 3) return null;
    if (k === 4) return Array.from({ length: this.int(4) }, () => this.json(depth + 1));
    const o: Record<string, JsonValue> = {};
    for (let n = this.int(5); n > 0; n -= 1) o[this.chance(0.2) ? String(this.int(20)) : this.text(6, 0.02)] = this.json(depth + 1);
    return o;
  }
  hex(n: number): string {
    return this.from('0123456789abcdef', n, n);
  }
  /** A valid event (as far as the grammar here goes; the names rules may still refuse an id). */
  event(): AuditEvent {
    const word = () => this.from('abcdefghijklmnopqrstuvwxyz', 1, 1) + this.from('abcdefghijklmnopqrstuvwxyz0123456789_', 0, 8);
    const segment = () => `${this.pick(['project', 'env', 'flag', 'variable'])}:${this.pick([word(), 'a.b', 'x%2Fy', '日本', 'DATABASE_URL'])}`;
    const event: AuditEvent = {
      id: `${this.hex(8)}-${this.hex(4)}-7${this.hex(3)}-${this.pick(['8', '9', 'a', 'b'])}${this.hex(3)}-${this.hex(12)}`,
      occurredAt: new Date(Date.UTC(2000, 0, 1) + this.int(2e12)).toISOString(),
      actor: { type: this.pick(['user', 'service', 'group'] as const), id: this.pick([`${word()}@acme.com`, 'auth0|5f1c2a', 'a/b', 'x:y', 'ü日😀', '*', word()]) },
      action: `${word()}.${word()}`,
      resource: ['org:acme', ...Array.from({ length: this.int(4) }, segment)].join('/'),
      producer: this.pick(['flags', 'authz', 'a.b:c-d']),
      keyId: this.pick(['k1', 'A-1.b_2', 'x'.repeat(64)]),
    };
    if (this.chance(0.5)) event.actor.onBehalfOf = this.chance(0.9) ? `user:${word()}` : this.text(20, 0);
    if (this.chance(0.7)) event.before = this.json();
    if (this.chance(0.7)) event.after = this.json();
    if (this.chance(0.5)) event.reason = this.text(30, 0) || 'r';
    if (this.chance(0.5)) {
      const request: NonNullable<AuditEvent['request']> = {};
      if (this.chance(0.5)) request.ip = '10.0.0.1';
      if (this.chance(0.5)) request.userAgent = this.text(20, 0) || 'ua';
      if (this.chance(0.5) || Object.keys(request).length === 0) request.traceId = this.hex(32);
      event.request = request;
    }
    return event;
  }
}

/** The schema's answer and the fast one agree exactly: ok and the same object (key order, -0), or the same problem. */
function expectSameParse(input: unknown, note: string): boolean {
  const fast = parseEvent(input);
  const slow = parseEventWithSchema(input);
  expect(isDeepStrictEqual(fast, slow), `${note}: ${inspect(fast, { depth: 9 })} vs ${inspect(slow, { depth: 9 })}`).toBe(true);
  expect(JSON.stringify(fast), note).toBe(JSON.stringify(slow));
  if (fast.ok && slow.ok) expect(orderOf(fast.event), note).toBe(orderOf(slow.event));
  return fast.ok;
}

/** Every object's keys in order, recursively (JSON.stringify keeps the order too, but drops what it cannot write). */
function orderOf(value: unknown): string {
  if (typeof value !== 'object' || value === null) return '';
  return Array.isArray(value) ? `[${value.map(orderOf).join(',')}]` : `{${Object.entries(value).map(([k, v]) => `${k}:${orderOf(v)}`).join(',')}}`;
}

const answer = (f: () => string): string => {
  try {
    return `ok ${f()}`;
  } catch (error) {
    return `throws ${(error as Error).constructor.name}: ${(error as Error).message}`;
  }
};

describe('canonicalEvent (fixed keys written directly) against canonicalize', () => {
  it('gives the same text, or the same error, for thousands of random events', () => {
    const g = new Gen(seededRandom(8785));
    let lone = 0;
    for (let i = 0; i < 5000; i += 1) {
      const event = g.event() as AuditEvent & Record<string, unknown>;
      // Strings anywhere, lone surrogates included; optional fields present, absent or undefined.
      if (g.chance(0.2)) event.reason = g.text(20, 0.1);
      if (g.chance(0.1)) event.actor.id = g.text(10, 0.1);
      if (g.chance(0.05)) event.resource = g.text(10, 0.1);
      if (g.chance(0.05)) event.after = undefined;
      if (g.chance(0.05)) event.actor.onBehalfOf = undefined;
      if (g.chance(0.05) && event.request !== undefined) event.request.ip = undefined;
      const want = answer(() => canonicalize(event) as string);
      if (want.startsWith('throws')) lone += 1;
      expect(answer(() => canonicalEvent(event)), want).toBe(want);
    }
    expect(lone).toBeGreaterThan(100); // the refusals were exercised too
  });

  it('leaves the unusual to canonicalize: extra keys, non-strings, toJSON, functions, symbols, NaN, cycles', () => {
    const g = new Gen(seededRandom(1));
    const base = (): AuditEvent & Record<string, unknown> => ({ ...g.event(), before: { a: 1 } });
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    const odd: ((e: AuditEvent & Record<string, unknown>) => void)[] = [
      (e) => (e.extra = 1),
      (e) => (e.toJSON = () => ({ x: 1 })),
      (e) => ((e.actor as Record<string, unknown>).toJSON = () => 'actor'),
      (e) => ((e.actor as Record<string, unknown>).extra = 'x'),
      (e) => ((e.actor as Record<string, unknown>).id = 42),
      (e) => ((e.actor as Record<string, unknown>).id = { b: 1, a: 2 }),
      (e) => (e.occurredAt = new Date(0) as never),
      (e) => (e.reason = ['b', 'a'] as never),
      (e) => (e.request = { traceId: 't', toJSON: () => null } as never),
      (e) => (e.id = 7 as never),
      (e) => (e.keyId = Symbol('k') as never),
      (e) => (e.action = 10n as never),
      (e) => (e.before = () => 1),
      (e) => (e.before = Symbol('s') as never),
      (e) => (e.before = { n: NaN }),
      (e) => (e.after = [Infinity]),
      (e) => (e.after = cycle as never),
      (e) => (e.after = new Date(0) as never),
      (e) => (e.before = { toJSON: () => ({ b: 2, a: 1 }) } as never),
      (e) => Object.defineProperty(e, 'reason', { value: 'hidden', enumerable: false }),
      (e) => Object.defineProperty(e, 'zzz', { value: 'hidden', enumerable: false }),
      // before/after: what the direct writer of plain data must write as canonicalize does, or leave to it.
      (e) => (e.after = [1, , 3] as never), // eslint-disable-line no-sparse-arrays
      (e) => (e.after = [undefined, Symbol('s'), null] as never),
      (e) => (e.after = { b: undefined, a: [undefined], c: { y: undefined } } as never),
      (e) => (e.after = { é: 1, z: 2, Z: 3, '😀': 4, '\uff61': 5, '10': 6, '9': 7, '': 8, '"\\\n': 9 } as never),
      (e) => (e.after = { ['\ud800']: 1 } as never),
      (e) => (e.after = ['\udc00'] as never),
      (e) => (e.after = { s: Symbol('s') } as never),
      (e) => (e.after = [-0, 1e21, 1e-7, 0.1, 2 ** 53, -1.5e300, true, false, null, ''] as never),
      (e) => (e.after = Object.assign(Object.create(null) as object, { b: 1, a: { toJSON: () => 'x' } }) as never),
      (e) => (e.after = { a: new Date(0) } as never),
      (e) => (e.after = { a: () => 1 } as never),
      (e) => (e.after = { a: 10n } as never),
      (e) => (e.after = Object.assign([1, 2], { toJSON: () => 'arr' }) as never),
      (e) => (e.after = new (class extends Array {})() as never),
      (e) => (e.after = JSON.parse(`${'['.repeat(70)}1${']'.repeat(70)}`) as never),
      (e) => (e.before = 'plain string' as never),
      (e) => (e.before = 42 as never),
      (e) => (e.before = null as never),
    ];
    for (const [i, change] of odd.entries()) {
      const event = base();
      change(event);
      const want = answer(() => canonicalize(event) as string);
      expect(answer(() => canonicalEvent(event)), `case ${i}: ${want}`).toBe(want);
    }
  });
});

describe('parseEvent (fast path) against the zod schema', () => {
  it('accepts the same valid events, building the same objects, on the fast path', () => {
    const g = new Gen(seededRandom(16));
    let fast = 0;
    for (let i = 0; i < 3000; i += 1) {
      const event = g.event();
      const ok = expectSameParse(event, `valid ${i}`);
      if (ok && parseEventFast(event) !== undefined) fast += 1;
      expect(parseEventFast(event) !== undefined).toBe(ok);
    }
    expect(fast).toBeGreaterThan(2500);
  });

  it('refuses the same mutated events with the same field and message', () => {
    const g = new Gen(seededRandom(9162));
    const nested = (value: unknown): unknown => (g.chance(0.5) ? { a: [1, { b: value }] } : [value]);
    const proto = JSON.parse('{"__proto__": {"x": 1}, "a": 2}') as unknown;
    const symbolKeyed = { a: 1, [Symbol('s')]: 2 };
    const hidden = Object.defineProperty({ a: 1 }, 'b', { value: 2, enumerable: false });
    const sparse = [1, , 3]; // eslint-disable-line no-sparse-arrays
    let deep: unknown = 1;
    for (let d = 0; d < 80; d += 1) deep = [deep];
    const values = (): unknown[] => [
      undefined, null, 0, -0, 42, NaN, Infinity, -Infinity, true, '', ' ', 'x', 'x'.repeat(65), 'x'.repeat(129), 'x'.repeat(257), 'x'.repeat(1025), 'x'.repeat(4096), 'x'.repeat(4097),
      'a b', 'a"b', '\ud800', 'org:acme', 'org:acme/project:x y', 'user', 'robot', 'flag', 'flag.enabled', '2026-02-30T10:00:00.000Z', '2026-11-23T14:05:00.123Z', '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
      [], {}, [1, 'a'], { a: 1 }, new Date(0), Object.create(null) as unknown, Symbol('s'), 10n, () => 1, new String('s'),
      nested(NaN), nested(Infinity), nested(undefined), nested(() => 1), nested(new Date(0)), nested(proto), nested(symbolKeyed), nested(hidden), nested(sparse), deep, proto, symbolKeyed, hidden, sparse,
    ];
    const paths = ['id', 'occurredAt', 'actor', 'actor.type', 'actor.id', 'actor.onBehalfOf', 'actor.extra', 'action', 'resource', 'before', 'after', 'reason', 'request', 'request.ip', 'request.userAgent', 'request.traceId', 'request.extra', 'producer', 'keyId', 'extra', '__proto__', 'constructor', 'toJSON'];
    let refused = 0;
    let cases = 0;
    for (let i = 0; i < 400; i += 1) {
      for (const path of paths) {
        const event = structuredClone(g.event()) as Record<string, unknown>;
        const [top, sub] = path.split('.') as [string, string | undefined];
        const holder = sub === undefined ? event : ((event[top] as Record<string, unknown> | undefined) ?? (event[top] = {}));
        const key = sub ?? top;
        const how = g.int(10);
        if (how === 0) Reflect.deleteProperty(holder, key);
        else if (key === '__proto__') Object.defineProperty(holder, key, { value: g.pick(values()), enumerable: true, configurable: true, writable: true });
        else holder[key] = g.pick(values());
        cases += 1;
        if (!expectSameParse(event, `${path} (${i})`)) refused += 1;
      }
    }
    // The whole input wrong, or of an unusual kind.
    const valid = g.event();
    const inputs: unknown[] = [undefined, null, 'event', 42, [], [valid], new Date(), Object.assign(Object.create(null) as object, valid), Object.assign(new (class Event {
      readonly kind = 'class instance';
    })(), valid), { ...valid, before: undefined }];
    for (const [i, input] of inputs.entries()) expectSameParse(input, `input ${i}`);
    expect(refused).toBeGreaterThan(cases / 2);
  });
});
