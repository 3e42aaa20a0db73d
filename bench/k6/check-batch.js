// Warden CheckBatch of 100, closed loop: k6 run -e ADDR=127.0.0.1:50051 -e VUS=16 check-batch.js
import grpc from 'k6/net/grpc';
import { check } from 'k6';

const client = new grpc.Client();
client.load(['../../proto'], 'warden/authz/v1/authz.proto');

export const options = { vus: Number(__ENV.VUS || 1), duration: __ENV.DURATION || '30s' };

const BASE = __ENV.REQUESTS
  ? JSON.parse(open(__ENV.REQUESTS))
  : [
      { subject: 'user:sarah@acme.com', action: 'flags:enable', resource: 'org:acme/project:checkout/env:production/flag:checkout-v2' },
      { subject: 'user:mia@acme.com', action: 'variables:write', resource: 'org:acme/project:checkout/env:development/variable:DATABASE_URL' },
    ];
const BATCH = { checks: Array.from({ length: 100 }, (_, i) => BASE[i % BASE.length]) };
const metadata = __ENV.TOKEN ? { authorization: `Bearer ${__ENV.TOKEN}` } : {};

export default function () {
  if (__ITER === 0) client.connect(__ENV.ADDR || '127.0.0.1:50051', { plaintext: true });
  const response = client.invoke('warden.authz.v1.AuthzService/CheckBatch', BATCH, { metadata });
  check(response, { 'status OK': (r) => r && r.status === grpc.StatusOK, '100 results': (r) => r.message && r.message.results.length === 100 });
}
