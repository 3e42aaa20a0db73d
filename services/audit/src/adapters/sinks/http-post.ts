/**
 * One HTTP(S) POST with a deadline (the caller's signal), for the sinks. Resolves with the
 * status, the Retry-After hint and up to 64 KiB of the response body; rejects when the
 * request could not be made or the signal fired. Never logs: headers carry credentials.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export type PostResponse = { readonly status: number; readonly retryAfterMs: number | undefined; readonly body: string };

export type PostOptions = {
  readonly headers: Readonly<Record<string, string>>;
  readonly signal: AbortSignal;
  /** Extra trusted CA certificates (PEM) for an https URL. */
  readonly ca?: string | undefined;
};

const MAX_BODY = 65_536;

/** Retry-After as delay-seconds or an HTTP date (RFC 9110 §10.2.3), in ms from now. */
export function retryAfterMs(headers: IncomingHttpHeaders, now = Date.now()): number | undefined {
  const value = headers['retry-after'];
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function post(url: URL, body: Buffer, options: PostOptions): Promise<PostResponse> {
  return new Promise<PostResponse>((resolve, reject) => {
    const make = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = make(
      url,
      {
        method: 'POST',
        headers: { ...options.headers, 'content-length': String(body.length) },
        signal: options.signal,
        ...(url.protocol === 'https:' && options.ca !== undefined ? { ca: options.ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < MAX_BODY) chunks.push(chunk);
          size += chunk.length;
        });
        res.on('error', reject);
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, retryAfterMs: retryAfterMs(res.headers), body: Buffer.concat(chunks).subarray(0, MAX_BODY).toString('utf8') });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
