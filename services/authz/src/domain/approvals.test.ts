import { describe, expect, it } from 'vitest';
import { FailedPreconditionError, InvalidArgumentError, PermissionDeniedError } from '@warden/errors';
import { approve, cancel, closeReview, effectiveState, expire, markApplied, openRequest, reject, type OpenInput } from './approvals.js';

const H = 'sha256:' + '1'.repeat(64);
const OTHER = 'sha256:' + '2'.repeat(64);
const base: OpenInput = {
  id: 'r1', org: 'acme', kind: 'change', requester: 'user:sam', action: 'flags:enable', resource: 'org:acme/project:checkout/env:production/flag:checkout-v2',
  before: { enabled: false }, after: { enabled: true }, contentHash: H, reason: 'launch', ticket: 'REL-1', required: 2, ttlMs: 60_000,
};

describe('change requests', () => {
  it('needs distinct eligible approvers other than the requester, then applies once with the same hash', () => {
    let r = openRequest(base, 0);
    expect(r.state).toBe('pending');
    expect(() => approve(r, 'user:sam', true, 1)).toThrow(PermissionDeniedError);
    expect(() => approve(r, 'user:eve', false, 1)).toThrow(PermissionDeniedError);
    r = approve(r, 'user:sarah', true, 1);
    expect(r.state).toBe('pending');
    expect(() => approve(r, 'user:sarah', true, 2)).toThrow(FailedPreconditionError);
    expect(() => markApplied(r, 'user:sam', H, 2)).toThrow(/pending/);
    r = approve(r, 'user:olga', true, 2);
    expect(r.state).toBe('approved');
    expect(() => markApplied(r, 'user:sam', OTHER, 3)).toThrow(/differs/);
    expect(() => markApplied(r, 'user:sarah', H, 3)).toThrow(PermissionDeniedError);
    r = markApplied(r, 'user:sam', H, 3);
    expect(r.state).toBe('applied');
    expect(() => markApplied(r, 'user:sam', H, 4)).toThrow(/already applied/);
    expect(r.history.map((s) => `${s.kind} ${s.by}`)).toEqual(['opened user:sam', 'approved user:sarah', 'approved user:olga', 'applied user:sam']);
  });

  it('one rejection rejects; a reason is required', () => {
    const r = openRequest(base, 0);
    expect(() => reject(r, 'user:sarah', true, 1, '')).toThrow(InvalidArgumentError);
    expect(() => reject(r, 'user:sam', true, 1, 'no')).toThrow(PermissionDeniedError);
    const rejected = reject(approve(r, 'user:olga', true, 1), 'user:sarah', true, 2, 'not now');
    expect(rejected.state).toBe('rejected');
    expect(() => approve(rejected, 'user:bob', true, 3)).toThrow(/rejected/);
  });

  it('expires: nothing moves it past its time but expire', () => {
    const r = approve(approve(openRequest(base, 0), 'user:a', true, 1), 'user:b', true, 2);
    expect(effectiveState(r, 60_000)).toBe('expired');
    expect(() => markApplied(r, 'user:sam', H, 60_000)).toThrow(/expired/);
    expect(expire(r, 59_999)).toBeUndefined();
    expect(expire(r, 60_000)?.state).toBe('expired');
  });

  it('cancel: requester or a manager', () => {
    const r = openRequest(base, 0);
    expect(() => cancel(r, 'user:x', false, 1)).toThrow(PermissionDeniedError);
    expect(cancel(r, 'user:x', true, 1).state).toBe('cancelled');
    expect(cancel(r, 'user:sam', false, 1).state).toBe('cancelled');
  });

  it('bad input is INVALID_ARGUMENT', () => {
    expect(() => openRequest({ ...base, required: 0 }, 0)).toThrow(InvalidArgumentError);
    expect(() => openRequest({ ...base, ttlMs: 0 }, 0)).toThrow(InvalidArgumentError);
    expect(() => openRequest({ ...base, kind: 'access', reason: ' ' }, 0)).toThrow(/reason/);
  });

  it('break-glass opens approved, needs a reason, its review is closed by someone else', () => {
    expect(() => openRequest({ ...base, breakGlass: true, reason: undefined }, 0)).toThrow(InvalidArgumentError);
    const r = openRequest({ ...base, breakGlass: true }, 0);
    expect(r.state).toBe('approved');
    expect(markApplied(r, 'user:sam', H, 1).state).toBe('applied');
    expect(() => closeReview(r, 'user:sam', 2, 'ok')).toThrow(PermissionDeniedError);
    const closed = closeReview(r, 'user:owner', 2, 'checked');
    expect(closed.reviewClosed?.by).toBe('user:owner');
    expect(() => closeReview(closed, 'user:owner', 3, 'again')).toThrow(FailedPreconditionError);
  });
});
