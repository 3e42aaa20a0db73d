/**
 * The log over HTTP as c2sp.org/tlog-tiles@v0.1.0 (issue 16 item 3), one log per org at
 * the prefix `/tlog/<org>`:
 *
 *   GET /tlog/<org>/checkpoint                    text/plain; charset=utf-8, max-age 2
 *   GET /tlog/<org>/tile/<L>/<N>[.p/<W>]          application/octet-stream, immutable
 *   GET /tlog/<org>/tile/entries/<N>[.p/<W>]      application/octet-stream, immutable, gzip
 *
 * Not public: an org's log reveals its activity, so every request is authenticated as the
 * gRPC API is (`authorization: Bearer <key>`) and needs `audit:read` on `org:<org>`;
 * responses are `Cache-Control: private`. Errors are plain text with the status of
 * @warden/errors' table (401, 403, 404, 400); anything else is a 500 logged, not echoed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { Metadata } from 'nice-grpc';
import type { Logger } from 'pino';
import { parseTilePath } from '@warden/audit-events';
import { NotFoundError, statusOf } from '@warden/errors';
import { parseOrgId, scopePath } from '@warden/names';
import type { AccessPolicy, Caller } from '../../domain/ports.js';
import { createAccess } from '../../usecases/access.js';
import type { TlogTiles } from '../../usecases/tiles.js';

export type TlogServerOptions = {
  readonly tiles: TlogTiles;
  readonly policy: AccessPolicy;
  /** The same identification as the gRPC API, from the request headers as metadata (and the request's deadline). */
  readonly identify: (context: { readonly metadata: Metadata; readonly signal: AbortSignal }) => Caller | undefined | Promise<Caller | undefined>;
  readonly logger: Logger;
  /** Each request's deadline. @defaultValue 30000 */
  readonly requestTimeoutMs?: number;
};

const TEXT = 'text/plain; charset=utf-8';

function metadataOf(request: IncomingMessage): Metadata {
  const metadata = Metadata();
  for (const name of ['authorization', 'x-api-key', 'x-warden-subject']) {
    const value = request.headers[name];
    if (typeof value === 'string') metadata.set(name, value);
  }
  return metadata;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new NotFoundError('the org in the path is not valid percent-encoding');
  }
}

export function createTlogServer(options: TlogServerOptions): Server {
  const access = createAccess(options.policy, undefined);
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  const handle = async (request: IncomingMessage, response: ServerResponse, signal: AbortSignal) => {
    const match = /^\/tlog\/([^/]+)\/(checkpoint|tile\/.+)$/.exec((request.url ?? '/').split('?')[0]!);
    if (match === null) throw new NotFoundError('not a tlog-tiles path: /tlog/<org>/checkpoint or /tlog/<org>/tile/…');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { 'content-type': TEXT, allow: 'GET, HEAD' }).end('tlog-tiles resources are read with GET\n');
      return;
    }
    const org = parseOrgId(decodeSegment(match[1]!));
    const caller = await options.identify({ metadata: metadataOf(request), signal });
    await access.authorize(caller, 'audit:read', scopePath({ org }), signal);
    const resource = match[2]!;
    if (resource === 'checkpoint') {
      response.writeHead(200, { 'content-type': TEXT, 'cache-control': 'private, max-age=2' }).end(options.tiles.checkpoint(org));
      return;
    }
    const tile = parseTilePath(resource);
    if (tile === undefined) throw new NotFoundError(`"${resource}" is not a tile path (tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>])`);
    let body = await options.tiles.tile(org, tile, signal);
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'cache-control': 'private, max-age=31536000, immutable' };
    if (tile.level === 'entries' && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) {
      body = gzipSync(body);
      headers['content-encoding'] = 'gzip';
    }
    response.writeHead(200, headers).end(request.method === 'HEAD' ? undefined : body);
  };
  return createServer({ requestTimeout: timeoutMs, keepAlive: true }, (request, response) => {
    const signal = AbortSignal.timeout(timeoutMs);
    handle(request, response, signal).catch((error: unknown) => {
      const status = statusOf(error);
      if (status === undefined) options.logger.error({ err: error, url: request.url }, 'tlog-tiles request failed');
      if (response.headersSent) {
        response.destroy();
        return;
      }
      response.writeHead(status?.http ?? 500, { 'content-type': TEXT, 'cache-control': 'no-store' }).end(status === undefined ? 'internal error\n' : `${(error as Error).message}\n`);
    });
  });
}
