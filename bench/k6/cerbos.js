// Cerbos CheckResources (one action), closed loop: k6 run -e ADDR=127.0.0.1:3593 -e VUS=64 cerbos.js
// Needs Cerbos's protos on the import path (-e CERBOS_PROTO_DIR=…/cerbos/api/public).
import grpc from 'k6/net/grpc';
import { check } from 'k6';

const client = new grpc.Client();
client.load([__ENV.CERBOS_PROTO_DIR || 'cerbos-protos'], 'cerbos/svc/v1/svc.proto');

export const options = { vus: Number(__ENV.VUS || 1), duration: __ENV.DURATION || '30s' };

const REQUEST = {
  requestId: 'k6',
  principal: {
    id: 'user:u1@o1.example',
    roles: ['user'],
    attr: { bindings: [{ role: 'member', scope: 'org:o1', effect: 'allow' }, { role: 'env_writer', scope: 'org:o1/project:p3/env:staging', effect: 'allow' }] },
  },
  resources: [
    { actions: ['variables:write'], resource: { kind: 'variable', id: 'v1', attr: { path: 'org:o1/project:p3/env:staging/variable:v1', org: 'org:o1', protected: false } } },
  ],
};

export default function () {
  if (__ITER === 0) client.connect(__ENV.ADDR || '127.0.0.1:3593', { plaintext: true });
  const response = client.invoke('cerbos.svc.v1.CerbosService/CheckResources', REQUEST);
  check(response, { 'status OK': (r) => r && r.status === grpc.StatusOK });
}
