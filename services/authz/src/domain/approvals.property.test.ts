/**
 * The state machine under random sequences of open, approve, reject, cancel, expire and apply by
 * random subjects, some eligible, some not, some applying the approved content and some not.
 * Oracle: an applied request always had `required` distinct eligible approvals, none by its
 * requester, the applied content had the approved hash, and it was applied exactly once; a
 * rejected request was never applied; refusals change nothing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WardenError } from '@warden/errors';
import { approve, cancel, effectiveState, expire, markApplied, openRequest, reject, type ChangeRequest } from './approvals.js';

const SUBJECTS = ['user:a', 'user:b', 'user:c', 'user:d', 'user:e'];
const HASHES = ['sha256:' + 'a'.repeat(64), 'sha256:' + 'b'.repeat(64)];

const op = fc.oneof(
  fc.record({ t: fc.constant('open' as const), by: fc.integer({ min: 0, max: 4 }), required: fc.integer({ min: 1, max: 3 }), hash: fc.integer({ min: 0, max: 1 }) }),
  fc.record({ t: fc.constant('approve' as const), req: fc.nat(), by: fc.integer({ min: -1, max: 4 }) }),
  fc.record({ t: fc.constant('reject' as const), req: fc.nat(), by: fc.integer({ min: 0, max: 4 }) }),
  fc.record({ t: fc.constant('cancel' as const), req: fc.nat(), by: fc.integer({ min: 0, max: 4 }), manager: fc.boolean() }),
  fc.record({ t: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 40_000 }) }),
  fc.record({ t: fc.constant('expire' as const), req: fc.nat() }),
  fc.record({ t: fc.constant('apply' as const), req: fc.nat(), by: fc.integer({ min: -1, max: 4 }), hash: fc.integer({ min: 0, max: 1 }) }),
);

describe('change request state machine (property)', () => {
  it('applies only what enough distinct eligible non-requesting approvers approved, with its hash, once', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.uniqueArray(fc.integer({ min: 0, max: 4 }), { minLength: 2, maxLength: 5 }), (ops, eligibleIdx) => {
        const eligible = new Set(eligibleIdx.map((i) => SUBJECTS[i]!));
        let now = 1_000_000;
        const requests: ChangeRequest[] = [];
        const applied = new Map<string, { count: number; hash: string; at: ChangeRequest }>();
        const attempt = (f: () => ChangeRequest, i: number) => {
          const before = requests[i]!;
          try {
            requests[i] = f();
          } catch (error) {
            expect(error).toBeInstanceOf(WardenError);
            expect(requests[i]).toBe(before);
          }
        };
        for (const o of ops) {
          if (o.t === 'open') {
            requests.push(openRequest({ id: `r${requests.length}`, org: 'acme', kind: 'change', requester: SUBJECTS[o.by]!, action: 'flags:enable', resource: 'org:acme/env:prod/flag:x', before: null, after: { on: true }, contentHash: HASHES[o.hash]!, reason: 'r', ticket: undefined, required: o.required, ttlMs: 60_000 }, now));
            continue;
          }
          if (o.t === 'tick') {
            now += o.ms;
            continue;
          }
          if (requests.length === 0) continue;
          const i = o.req % requests.length;
          const r = requests[i]!;
          // -1: the request's own requester (so self-approval and the requester's apply come up often).
          const who = (n: number) => (n < 0 ? r.requester : SUBJECTS[n]!);
          switch (o.t) {
            case 'approve':
              attempt(() => approve(r, who(o.by), eligible.has(who(o.by)), now), i);
              break;
            case 'reject':
              attempt(() => reject(r, SUBJECTS[o.by]!, eligible.has(SUBJECTS[o.by]!), now, 'no'), i);
              break;
            case 'cancel':
              attempt(() => cancel(r, SUBJECTS[o.by]!, o.manager, now), i);
              break;
            case 'expire': {
              const e = expire(r, now);
              if (e !== undefined) requests[i] = e;
              break;
            }
            case 'apply': {
              const hash = HASHES[o.hash]!;
              const was = r.state;
              attempt(() => markApplied(r, who(o.by), hash, now), i);
              if (requests[i]!.state === 'applied' && was !== 'applied') {
                const seen = applied.get(r.id);
                applied.set(r.id, { count: (seen?.count ?? 0) + 1, hash, at: requests[i]! });
              }
              break;
            }
          }
        }
        for (const r of requests) {
          const a = applied.get(r.id);
          if (r.state !== 'applied') {
            expect(a).toBeUndefined();
            continue;
          }
          expect(a?.count).toBe(1);
          expect(a!.hash).toBe(r.contentHash);
          const approvers = r.approvals.map((s) => s.by);
          expect(new Set(approvers).size).toBe(approvers.length);
          expect(approvers.length).toBeGreaterThanOrEqual(r.required);
          expect(approvers).not.toContain(r.requester);
          for (const s of approvers) expect(eligible.has(s)).toBe(true);
          expect(r.history.some((s) => s.kind === 'rejected' || s.kind === 'cancelled' || s.kind === 'expired')).toBe(false);
          // Applied before it expired.
          expect(r.history.at(-1)!.at).toBeLessThan(r.expiresAt);
        }
        for (const r of requests) {
          if (r.state === 'rejected') expect(r.history.filter((s) => s.kind === 'rejected')).toHaveLength(1);
          expect(['pending', 'approved', 'rejected', 'expired', 'cancelled', 'applied']).toContain(effectiveState(r, now));
        }
      }),
      { numRuns: 1000 },
    );
  });
});
