/**
 * The witness over HTTP (node:http, keep-alive): `POST <prefix>/add-checkpoint` and
 * `GET <prefix>/<origin hash>/checkpoint` (the submission and monitoring prefixes are the
 * same). A body over 1 MiB is 413, a body that is not UTF-8 is 400, another method 405,
 * another path 404; a request must arrive within `requestTimeoutMs`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Witness, WitnessResponse } from './witness.js';

const MAX_BODY = 1 << 20;

export type WitnessServerOptions = {
  readonly witness: Witness;
  /** The URL path prefix, '' or starting with '/' (no trailing slash). */
  readonly prefix?: string;
  /** @defaultValue 10000 */
  readonly requestTimeoutMs?: number;
  readonly log?: (fields: Record<string, unknown>, message: string) => void;
};

class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new BodyError(413, 'the request body is larger than 1 MiB\n');
    chunks.push(chunk);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new BodyError(400, 'the request body is not UTF-8\n');
  }
}

function send(response: ServerResponse, r: WitnessResponse & { readonly allow?: string }): void {
  response.writeHead(r.status, { 'content-type': r.contentType, 'cache-control': 'no-store', ...(r.allow !== undefined ? { allow: r.allow } : {}) });
  response.end(r.body);
}

const text = (status: number, body: string, allow?: string) => ({ status, contentType: 'text/plain; charset=utf-8', body, ...(allow !== undefined ? { allow } : {}) });

async function route(request: IncomingMessage, options: WitnessServerOptions): Promise<WitnessResponse & { readonly allow?: string }> {
  const prefix = options.prefix ?? '';
  const path = (request.url ?? '/').split('?')[0] ?? '/';
  if (!path.startsWith(`${prefix}/`)) return text(404, 'not found\n');
  const rest = path.slice(prefix.length + 1);
  if (rest === 'add-checkpoint') {
    if (request.method !== 'POST') return text(405, 'add-checkpoint is a POST\n', 'POST');
    const result = await options.witness.addCheckpoint(await readBody(request));
    if (result.status !== 200) options.log?.({ status: result.status, reason: result.body.trim().slice(0, 200) }, 'add-checkpoint refused');
    return result;
  }
  const monitor = /^([0-9a-f]{64})\/checkpoint$/.exec(rest);
  if (monitor?.[1] !== undefined) {
    if (request.method !== 'GET' && request.method !== 'HEAD') return text(405, 'checkpoint is a GET\n', 'GET, HEAD');
    return options.witness.checkpoint(monitor[1]);
  }
  return text(404, 'not found\n');
}

export function createWitnessServer(options: WitnessServerOptions): Server {
  return createServer({ requestTimeout: options.requestTimeoutMs ?? 10_000, keepAlive: true }, (request, response) => {
    route(request, options).then(
      (result) => {
        send(response, result);
      },
      (error: unknown) => {
        if (error instanceof BodyError) {
          send(response, text(error.status, error.message));
          return;
        }
        options.log?.({ err: String(error) }, 'request failed');
        if (response.headersSent) response.destroy();
        else send(response, text(500, 'internal error\n'));
      },
    );
  });
}
