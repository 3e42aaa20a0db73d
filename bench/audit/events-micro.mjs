#!/usr/bin/env node
/**
 * Micro-benchmark of the per-event CPU work of the audit service's Append path, in
 * @warden/audit-events (build it first: `npx turbo run build --filter=@warden/audit-events`):
 *
 *   node bench/audit/events-micro.mjs [--events 50000] [--rounds 5]
 *
 * Times, per event, over realistic events (the shape of bench/audit/run.mjs's makeEvent,
 * a quarter of them with nested before/after values, unicode and numbers like 1e21, -0,
 * 0.1): parseEvent, canonicalEvent, contentHash, leafDataFromCanonical + hashLeaf,
 * chainLink and eventFromProto. Each row also times the reference ("old") way beside it —
 * the zod schema and `canonicalize` called directly, createHash chains, the Buffer built
 * through a template string — so one run shows before and after, and checks on the way
 * that both give the same results. Prints a markdown table of CPU µs per event (the best
 * of `--rounds` passes over all events, old and new interleaved; the machine is shared,
 * the best pass is the least disturbed one).
 */
import { createHash, hash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { join, resolve } from 'node:path';
import canonicalize from 'canonicalize';
import { Event } from '@warden/proto/audit/v1';
import { benchEvent } from './bench-event.mjs';

const dist = resolve(import.meta.dirname, '../../packages/audit-events/dist');
const events = await import(join(dist, 'event.js'));
const record = await import(join(dist, 'log-record.js'));
const merkle = await import(join(dist, 'merkle.js'));
const proto = await import(join(dist, 'proto.js'));

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const N = arg('events', 50_000);
const ROUNDS = arg('rounds', 5);

// ------------------------------------------------------------------ events
let clock = Date.UTC(2026, 10, 29, 12, 0, 0, 0);
const odd = [1e21, -0, 0.1, 2.5e-7, -1234.5678, 9007199254740992, 1e-7, 123456789012345680000];
function makeEvent(i) {
  clock += 1;
  const event = benchEvent(i, clock);
  if (i % 4 === 3) {
    // A richer quarter: nested values, unicode, escapes, awkward numbers, more optional fields.
    event.actor = { type: 'service', id: `deployer-${i % 13}`, onBehalfOf: `user:sarah${i % 7}@acme.com` };
    event.before = { rollout: odd[i % odd.length], rules: [{ attr: 'country', in: ['DE', 'FR', 'ÖSTERREICH'] }, { pct: 0.1, on: true }], note: null };
    event.after = { rollout: odd[(i + 3) % odd.length], rules: [{ attr: 'country', in: ['DE', 'FR', '日本', 'emoji 😀'] }], note: 'tab\there "quoted" \\ </script>', zero: -0 };
    event.reason = `ramp to ${i % 100}% — é ü ñ 😀`;
    event.request = { ip: '10.0.0.1', userAgent: 'warden-cli/1.4 (linux; x64)', traceId: `4bf92f3577b34da6a3ce929d${String(i).padStart(8, '0')}` };
  }
  if (i % 10 === 5) {
    delete event.before;
    delete event.reason;
  }
  return event;
}
const inputs = Array.from({ length: N }, (_, i) => makeEvent(i));

// ------------------------------------------------------------------ the old ways
function stripUndefined(event) {
  const clean = (o) => {
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- a copy of event.ts's
    for (const key of Object.keys(o)) if (o[key] === undefined) delete o[key];
    return o;
  };
  clean(event.actor);
  if (event.request !== undefined) clean(event.request);
  return clean(event);
}
function parseEventZod(input) {
  const result = events.auditEventSchema.safeParse(input);
  if (result.success) return { ok: true, event: stripUndefined(result.data) };
  const issue = result.error.issues[0];
  const field = issue === undefined || issue.path.length === 0 ? 'event' : `event.${issue.path.map(String).join('.')}`;
  return { ok: false, problem: { field, message: issue?.message ?? 'is malformed' } };
}
const oldLeafData = (canonical, r) =>
  Buffer.from(`{"event":${canonical},"loggedAt":${JSON.stringify(r.loggedAt)},"org":${JSON.stringify(r.org)},"seq":${r.seq},"signature":${JSON.stringify(r.signature)},"v":1}`, 'utf8');
const LEAF_PREFIX = Buffer.from([0]);
const oldHashLeaf = (data) => createHash('sha256').update(LEAF_PREFIX).update(data).digest();
const oldChainLink = (previous, leaf) => createHash('sha256').update(previous).update(leaf).digest();
function oldEventFromProto(event) {
  if (event === undefined) return undefined;
  const out = { id: event.id, action: event.action, resource: event.resource, producer: event.producer, keyId: event.keyId };
  if (event.occurredAt !== undefined && !Number.isNaN(event.occurredAt.getTime())) out.occurredAt = event.occurredAt.toISOString();
  if (event.actor !== undefined) {
    const actor = { type: event.actor.type, id: event.actor.id };
    if (event.actor.onBehalfOf !== undefined) actor.onBehalfOf = event.actor.onBehalfOf;
    out.actor = actor;
  }
  if (event.before !== undefined) out.before = event.before;
  if (event.after !== undefined) out.after = event.after;
  if (event.reason !== undefined) out.reason = event.reason;
  const r = event.request;
  if (r !== undefined && (r.ip !== undefined || r.userAgent !== undefined || r.traceId !== undefined)) {
    const request = {};
    if (r.ip !== undefined) request.ip = r.ip;
    if (r.userAgent !== undefined) request.userAgent = r.userAgent;
    if (r.traceId !== undefined) request.traceId = r.traceId;
    out.request = request;
  }
  return out;
}

// ------------------------------------------------------------------ fixtures and checks
const parsed = inputs.map((input) => {
  const result = events.parseEvent(input);
  if (!result.ok) throw new Error(`bench event refused: ${JSON.stringify(result.problem)}`);
  const old = parseEventZod(input);
  if (!isDeepStrictEqual(result, old) || JSON.stringify(result) !== JSON.stringify(old)) throw new Error('parseEvent differs from the zod schema');
  return result.event;
});
const canonicals = parsed.map((event) => {
  const text = events.canonicalEvent(event);
  if (text !== canonicalize(event)) throw new Error(`canonicalEvent differs from canonicalize: ${text}`);
  return text;
});
const sigs = parsed.map((_, i) => Buffer.alloc(64, i % 251).toString('base64'));
const recs = parsed.map((_, i) => ({ org: 'bench', seq: i, loggedAt: new Date(clock + i).toISOString(), signature: sigs[i] }));
const leaves = canonicals.map((c, i) => {
  const data = record.leafDataFromCanonical(c, recs[i]);
  if (!data.equals(oldLeafData(c, recs[i]))) throw new Error('leafDataFromCanonical differs');
  const leaf = merkle.hashLeaf(data);
  if (!leaf.equals(oldHashLeaf(data))) throw new Error('hashLeaf differs');
  return leaf;
});
for (let i = 1; i < 100; i += 1) if (!record.chainLink(leaves[i - 1], leaves[i]).equals(oldChainLink(leaves[i - 1], leaves[i]))) throw new Error('chainLink differs');
for (let i = 0; i < 100; i += 1) if (events.contentHash(parsed[i]) !== createHash('sha256').update(canonicals[i]).digest('hex')) throw new Error('contentHash differs');
const wire = parsed.map((event) => Event.decode(Event.encode(proto.eventToProto(event)).finish()));
for (let i = 0; i < 100; i += 1) if (!isDeepStrictEqual(proto.eventFromProto(wire[i]), oldEventFromProto(wire[i]))) throw new Error('eventFromProto differs');

// ------------------------------------------------------------------ timing
let sink = 0;
/**
 * Best µs per event over ROUNDS passes of each (one warm-up pass first), old and new
 * interleaved. CPU time of this process (process.cpuUsage), not wall time: on a shared
 * machine a descheduled pass would otherwise count the other load.
 */
function timePair(oldFn, newFn) {
  oldFn();
  newFn();
  const best = [Infinity, Infinity];
  for (let r = 0; r < ROUNDS; r += 1) {
    [oldFn, newFn].forEach((fn, k) => {
      const start = process.cpuUsage();
      fn();
      const used = process.cpuUsage(start);
      best[k] = Math.min(best[k], (used.user + used.system) / N);
    });
  }
  return best;
}
const pass = (f) => () => {
  for (let i = 0; i < N; i += 1) sink ^= f(i) === undefined ? 0 : 1;
};
const GENESIS = Buffer.alloc(32);
const rows = [
  ['parseEvent', pass((i) => parseEventZod(inputs[i])), pass((i) => events.parseEvent(inputs[i])), 'zod safeParse + strip vs the fast path'],
  ['canonicalEvent', pass((i) => canonicalize(parsed[i])), pass((i) => events.canonicalEvent(parsed[i])), '`canonicalize(event)` vs fixed-key writer'],
  ['… of which canonicalize(before/after)', pass(() => undefined), pass((i) => (parsed[i].before === undefined ? '' : canonicalize(parsed[i].before)) + (parsed[i].after === undefined ? '' : canonicalize(parsed[i].after))), 'the free-form values, still through the package'],
  ['contentHash (of canonical)', pass((i) => createHash('sha256').update(canonicals[i]).digest('hex')), pass((i) => hash('sha256', canonicals[i], 'hex')), 'what admission does (services/audit) vs crypto.hash'],
  ['contentHash(event)', pass((i) => createHash('sha256').update(canonicalize(parsed[i])).digest('hex')), pass((i) => events.contentHash(parsed[i])), 'canonical form + hash'],
  ['leafDataFromCanonical', pass((i) => oldLeafData(canonicals[i], recs[i])), pass((i) => record.leafDataFromCanonical(canonicals[i], recs[i])), ''],
  ['leafData… + hashLeaf', pass((i) => oldHashLeaf(oldLeafData(canonicals[i], recs[i]))), pass((i) => merkle.hashLeaf(record.leafDataFromCanonical(canonicals[i], recs[i]))), ''],
  ['chainLink', pass((i) => oldChainLink(i === 0 ? GENESIS : leaves[i - 1], leaves[i])), pass((i) => record.chainLink(i === 0 ? GENESIS : leaves[i - 1], leaves[i])), ''],
  ['eventFromProto', pass((i) => oldEventFromProto(wire[i])), pass((i) => proto.eventFromProto(wire[i])), ''],
];
const table = ['| per event | old µs | new µs | speed-up | note |', '|---|---:|---:|---:|---|'];
let oldSum = 0;
let newSum = 0;
for (const [name, oldFn, newFn, note] of rows) {
  const [o, n] = timePair(oldFn, newFn);
  if (!['contentHash(event)', 'leafDataFromCanonical', '… of which canonicalize(before/after)'].includes(name)) {
    oldSum += o;
    newSum += n;
  }
  const info = name.startsWith('…');
  table.push(`| ${name} | ${info ? '' : o.toFixed(2)} | ${n.toFixed(2)} | ${info ? '' : `${(o / n).toFixed(1)}×`} | ${note} |`);
}
table.push(`| **sum** (proto, parse, canonical, content hash of canonical, leaf, chain) | ${oldSum.toFixed(2)} | ${newSum.toFixed(2)} | ${(oldSum / newSum).toFixed(1)}× | |`);
process.stdout.write(`${N.toLocaleString('en-US')} events, best of ${ROUNDS} passes (CPU time), node ${process.version}\n\n${table.join('\n')}\n`);
if (sink === -1) process.stdout.write('\n');
