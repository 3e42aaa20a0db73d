import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@warden/errors';
import { decodePageToken, encodePageToken } from './page-token.js';

const isString = (value: unknown): value is string => typeof value === 'string';
const isCursor = (value: unknown): value is { t: string; s: number } =>
  typeof value === 'object' && value !== null && typeof (value as { t?: unknown }).t === 'string' && Number.isSafeInteger((value as { s?: unknown }).s);

describe('page tokens', () => {
  it('carry the position after which the next page starts, for the query that made them', () => {
    const query = ['user:sarah@acme.com', 'flags:read', 'org:acme'];
    const token = encodePageToken('org:acme/project:checkout', query);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodePageToken(token, [...query], 'page.token', isString)).toBe('org:acme/project:checkout');
    const cursor = encodePageToken({ t: '2026-11-20T14:01:00.000Z', s: 7 }, ['newest']);
    expect(decodePageToken(cursor, ['newest'], 'cursor', isCursor)).toEqual({ t: '2026-11-20T14:01:00.000Z', s: 7 });
  });

  it('no token is the first page', () => {
    expect(decodePageToken('', ['q'], 'page.token', isString)).toBeUndefined();
    expect(decodePageToken(undefined, ['q'], 'page.token', isString)).toBeUndefined();
  });

  it('refuses, naming the field, a token of another query, a position of another shape, or garbage', () => {
    const token = encodePageToken('a', ['q1']);
    const refused = (run: () => unknown, field: string) => {
      let error: unknown;
      try {
        run();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).message).toBe(`${field}: is not a token this query returned`);
    };
    refused(() => decodePageToken(token, ['q2'], 'page.token', isString), 'page.token');
    refused(() => decodePageToken(token, ['q1'], 'cursor', isCursor), 'cursor');
    refused(() => decodePageToken('garbage', ['q1'], 'cursor', isString), 'cursor');
    refused(() => decodePageToken(Buffer.from('{"v":2,"a":"a"}').toString('base64url'), ['q1'], 'page.token', isString), 'page.token');
  });

  it('keeps the format authz lookup tokens had: {v: 1, a, q} in base64url JSON', () => {
    const decoded = JSON.parse(Buffer.from(encodePageToken('x', ['q']), 'base64url').toString('utf8')) as Record<string, unknown>;
    expect(Object.keys(decoded)).toEqual(['v', 'a', 'q']);
    expect(decoded).toMatchObject({ v: 1, a: 'x' });
  });
});
