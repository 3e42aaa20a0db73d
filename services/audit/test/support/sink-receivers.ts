/**
 * Local receivers for the delivery tests, written from the specifications and sharing no
 * code with the sinks: a Standard Webhooks 1.0.0 receiver that verifies every request's
 * signature itself (whsec_ secret → base64-decoded key, HMAC-SHA256 over
 * `id.timestamp.body`, any `v1,` entry of the space-separated header, 5-minute tolerance),
 * and an OTLP/HTTP logs receiver that decodes the JSON ExportLogsServiceRequest.
 * Both can be told to fail (a status) or to be slow, to test retries and deadlines.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export type Behaviour = {
  /** Answer this status to the next `count` requests (then 200). */
  fail?: { status: number; count: number; retryAfter?: string };
  /** Wait this long before answering. */
  delayMs?: number;
};

export type Attempt = { readonly at: number; readonly status: number; readonly id?: string; readonly aborted: boolean };

type Receiver = {
  readonly url: string;
  readonly attempts: Attempt[];
  behaviour: Behaviour;
  close(): Promise<void>;
};

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function listen(handler: (req: IncomingMessage, res: ServerResponse) => void, tls?: { key: string; cert: string }): Promise<Server> {
  const server = tls === undefined ? createHttpServer(handler) : createHttpsServer(tls, handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Runs `answer` unless the behaviour says fail or wait; records the attempt. */
function serve(receiver: { attempts: Attempt[]; behaviour: Behaviour }, id: string | undefined, res: ServerResponse, req: IncomingMessage, ok: () => number): void {
  const at = Date.now();
  const finish = () => {
    const fail = receiver.behaviour.fail;
    if (fail !== undefined && fail.count > 0) {
      fail.count -= 1;
      receiver.attempts.push({ at, status: fail.status, id, aborted: false });
      res.writeHead(fail.status, fail.retryAfter === undefined ? {} : { 'retry-after': fail.retryAfter }).end();
      return;
    }
    const status = ok();
    receiver.attempts.push({ at, status, id, aborted: false });
    res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
  };
  const delay = receiver.behaviour.delayMs ?? 0;
  if (delay === 0) return finish();
  const timer = setTimeout(finish, delay);
  // The sender gave up (its deadline): record it, answer nothing, acknowledge nothing.
  res.once('close', () => {
    if (!res.writableEnded) {
      clearTimeout(timer);
      receiver.attempts.push({ at, status: 0, id, aborted: true });
    }
  });
}

export type WebhookDelivery = {
  readonly id: string;
  readonly timestamp: number;
  readonly body: { type: string; timestamp: string; data: { org: string; from: number; to: number; events: { org: string; seq: number; event: { id: string; action: string }; signature: string }[] } };
};

export type WebhookReceiver = Receiver & {
  /** Requests whose signature verified, in arrival order. */
  readonly deliveries: WebhookDelivery[];
  /** Requests refused for a missing or wrong signature. */
  readonly forged: number;
};

export function verifyStandardWebhook(secret: string, headers: IncomingMessage['headers'], body: Buffer, nowSeconds: number): boolean {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return false;
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > 300) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(Buffer.concat([Buffer.from(`${id}.${timestamp}.`), body])).digest();
  return signatures.split(' ').some((entry) => {
    const [version, value] = entry.split(',', 2);
    if (version !== 'v1' || value === undefined) return false;
    const given = Buffer.from(value, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

export async function startWebhookReceiver(secret: string, options: { tls?: { key: string; cert: string } } = {}): Promise<WebhookReceiver> {
  const state = { attempts: [] as Attempt[], behaviour: {} as Behaviour, deliveries: [] as WebhookDelivery[], forged: 0 };
  const server = await listen((req, res) => {
    void readBody(req).then((body) => {
      const id = req.headers['webhook-id'] as string | undefined;
      if (req.method !== 'POST' || !verifyStandardWebhook(secret, req.headers, body, Math.floor(Date.now() / 1000))) {
        state.forged += 1;
        res.writeHead(401).end();
        return;
      }
      serve(state, id, res, req, () => {
        state.deliveries.push({ id: id!, timestamp: Number(req.headers['webhook-timestamp']), body: JSON.parse(body.toString('utf8')) as WebhookDelivery['body'] });
        return 204;
      });
    });
  }, options.tls);
  const port = (server.address() as AddressInfo).port;
  return Object.assign(state, {
    url: `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}/hooks/audit`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  }) as WebhookReceiver & typeof state;
}

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean };
export type OtlpLogRecord = {
  readonly timeUnixNano: string;
  readonly observedTimeUnixNano: string;
  readonly severityNumber: number;
  readonly severityText: string;
  readonly eventName: string;
  readonly body: string;
  readonly traceId: string | undefined;
  readonly attributes: Record<string, string | number | boolean>;
  readonly resource: Record<string, string | number | boolean>;
  readonly scope: { name: string; version: string };
};

function flatten(list: { key: string; value: AnyValue }[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    if (value.stringValue !== undefined) out[key] = value.stringValue;
    else if (value.intValue !== undefined) out[key] = Number(value.intValue);
    else if (value.boolValue !== undefined) out[key] = value.boolValue;
    else throw new Error(`attribute ${key} has no value this receiver knows`);
  }
  return out;
}

export type OtlpReceiver = Receiver & { readonly records: OtlpLogRecord[]; readonly headers: IncomingMessage['headers'][] };

/** POST /v1/logs, Content-Type application/json (OTLP/HTTP JSON encoding). */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const state = { attempts: [] as Attempt[], behaviour: {} as Behaviour, records: [] as OtlpLogRecord[], headers: [] as IncomingMessage['headers'][] };
  const server = await listen((req, res) => {
    void readBody(req).then((body) => {
      if (req.method !== 'POST' || req.url !== '/v1/logs' || req.headers['content-type'] !== 'application/json') {
        res.writeHead(415).end();
        return;
      }
      serve(state, undefined, res, req, () => {
        state.headers.push(req.headers);
        type Request = {
          resourceLogs: {
            resource: { attributes: { key: string; value: AnyValue }[] };
            scopeLogs: {
              scope: { name: string; version: string };
              logRecords: (Omit<OtlpLogRecord, 'attributes' | 'body' | 'resource' | 'scope' | 'traceId'> & { traceId?: string; body: { stringValue: string }; attributes: { key: string; value: AnyValue }[] })[];
            }[];
          }[];
        };
        const request = JSON.parse(body.toString('utf8')) as Request;
        for (const rl of request.resourceLogs) {
          for (const sl of rl.scopeLogs) {
            for (const lr of sl.logRecords) {
              state.records.push({
                timeUnixNano: lr.timeUnixNano,
                observedTimeUnixNano: lr.observedTimeUnixNano,
                severityNumber: lr.severityNumber,
                severityText: lr.severityText,
                eventName: lr.eventName,
                body: lr.body.stringValue,
                traceId: lr.traceId,
                attributes: flatten(lr.attributes),
                resource: flatten(rl.resource.attributes),
                scope: sl.scope,
              });
            }
          }
        }
        return 200;
      });
    });
  });
  const port = (server.address() as AddressInfo).port;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/v1/logs`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  }) as OtlpReceiver & typeof state;
}
