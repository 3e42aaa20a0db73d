/** AuditService over gRPC: transport only; the AuditLog and the use cases do the work. */
import type { AuditServiceImplementation } from '@warden/proto/audit/v1';
import { signedEventFromProto, storedRecordToProto, verifyReportToProto } from '@warden/audit-events';
import { InvalidArgumentError, PermissionDeniedError } from '@warden/errors';
import { parseOrgId, scopeOf, scopePath } from '@warden/names';
import type { AccessPolicy, AuditStore } from '../../domain/ports.js';
import { createAccess } from '../../usecases/access.js';
import type { AuditLog } from '../../usecases/audit-log.js';
import { exportEvents } from '../../usecases/export.js';
import { queryTimeline } from '../../usecases/timeline.js';
import type { CallerContext } from './identity.js';
import { appendResultToProto, exportRequestFromProto, filterFromProto } from './convert.js';

export type AuditServiceDeps = {
  readonly log: AuditLog;
  /** The store the log writes to, read by timelines and exports. */
  readonly store: AuditStore;
  readonly policy: AccessPolicy;
  /** The resource on which `audit:manage_keys` is checked; key administration is off when unset. */
  readonly keyAdminScope?: string | undefined;
  /** Rows per store round-trip when exporting. @defaultValue 1000 */
  readonly exportPageSize?: number;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The organization of an event's resource, or undefined when it has none (admission refuses it). */
function orgOfResource(event: unknown): string | undefined {
  const resource = typeof event === 'object' && event !== null ? (event as { resource?: unknown }).resource : undefined;
  if (typeof resource !== 'string') return undefined;
  try {
    return scopeOf(resource).org;
  } catch {
    return undefined;
  }
}

function orgOf(value: string): string {
  if (value === '') throw new InvalidArgumentError('org', 'is required');
  return parseOrgId(value);
}

export function createAuditServiceImpl(deps: AuditServiceDeps): AuditServiceImplementation<CallerContext> {
  const { log, store } = deps;
  const access = createAccess(deps.policy, deps.keyAdminScope);
  const exports = { store, access, proofs: { context: (org: string) => log.proofContext(org) }, pageSize: deps.exportPageSize ?? 1000 };

  return {
    async append(request, context) {
      if (request.events.length === 0) throw new InvalidArgumentError('events', 'is empty');
      const inputs = request.events.map(signedEventFromProto);
      // Producers' signatures authenticate events. A caller that also sends an organization's
      // API key appends only to that organization (as that key acts only there in authz).
      const keyOrg = context.caller?.org;
      if (keyOrg !== undefined) {
        for (const [i, input] of inputs.entries()) {
          const org = orgOfResource(input.event);
          if (org !== undefined && org !== keyOrg) throw new PermissionDeniedError(`events[${i}]: the API key of ${context.caller!.subject} acts only within org:${keyOrg}`);
        }
      }
      // proto3: an empty batch_signature is none. With one, an event carrying its own signature is INVALID_ARGUMENT (admitBatch).
      const batchSignature = request.batchSignature.length > 0 ? request.batchSignature : undefined;
      const outcomes = await log.append(inputs, { batchSignature });
      return { results: outcomes.map(appendResultToProto) };
    },

    async *query(request, context) {
      const filter = filterFromProto(request.filter, request.order);
      const timeline = queryTimeline({ store, access }, context.caller, { filter, cursor: request.cursor, pageSize: request.pageSize, limit: request.limit }, context.signal);
      for await (const page of timeline) yield { events: page.records.map(storedRecordToProto), nextCursor: page.nextCursor };
    },

    async *export(request, context) {
      for await (const text of exportEvents(exports, context.caller, exportRequestFromProto(request), context.signal)) yield { data: Buffer.from(text, 'utf8') };
    },

    async verify(request, context) {
      const org = orgOf(request.org);
      if (request.toSeq !== 0 && request.toSeq <= request.fromSeq) throw new InvalidArgumentError('to_seq', 'must be greater than from_seq');
      await access.authorize(context.caller, 'audit:read', scopePath({ org }), context.signal);
      const report = await log.verify(org, {
        from: request.fromSeq,
        to: request.toSeq === 0 ? undefined : request.toSeq,
        trustedCheckpoint: request.trustedCheckpoint,
        signal: context.signal,
      });
      return verifyReportToProto(report);
    },

    async checkpoint(request, context) {
      const org = orgOf(request.org);
      await access.authorize(context.caller, 'audit:read', scopePath({ org }), context.signal);
      const latest = log.latestCheckpoint(org);
      return {
        ...(latest !== undefined
          ? { checkpoint: { org, treeSize: latest.treeSize, rootHash: latest.rootHash, note: latest.note, createdAt: new Date(latest.createdAt) } }
          : {}),
        verifierKey: log.verifierKey,
      };
    },

    async inclusionProof(request, context) {
      const org = orgOf(request.org);
      if (!UUID.test(request.eventId)) throw new InvalidArgumentError('event_id', 'must be an event id (UUID)');
      await access.authorize(context.caller, 'audit:read', scopePath({ org }), context.signal);
      const proof = await log.inclusionProof(org, request.eventId, request.treeSize, context.signal);
      return {
        seq: proof.seq,
        treeSize: proof.treeSize,
        leafHash: proof.leafHash,
        path: proof.path.map((h) => h.toString('hex')),
        rootHash: proof.root.toString('hex'),
      };
    },

    async consistencyProof(request, context) {
      const org = orgOf(request.org);
      await access.authorize(context.caller, 'audit:read', scopePath({ org }), context.signal);
      const proof = await log.consistencyProof(org, request.fromSize, request.toSize);
      return {
        fromSize: proof.fromSize,
        toSize: proof.toSize,
        proof: proof.proof.map((h) => h.toString('hex')),
        fromRoot: proof.fromRoot.toString('hex'),
        toRoot: proof.toRoot.toString('hex'),
      };
    },

    async addProducerKey(request, context) {
      await access.authorizeKeyAdmin(context.caller, 'audit:manage_keys', context.signal);
      if (request.publicKey.length !== 32) throw new InvalidArgumentError('public_key', `is ${request.publicKey.length} bytes; an Ed25519 public key is 32`);
      await log.addProducerKey(request.producer, request.keyId, Buffer.from(request.publicKey).toString('base64'));
      return {};
    },

    async revokeProducerKey(request, context) {
      await access.authorizeKeyAdmin(context.caller, 'audit:manage_keys', context.signal);
      const revokedAt = await log.revokeProducerKey(request.producer, request.keyId);
      return { revokedAt: new Date(revokedAt) };
    },

    async listProducerKeys(_request, context) {
      await access.authorizeKeyAdmin(context.caller, 'audit:read', context.signal);
      return {
        keys: log.keys.list().map((k) => ({
          producer: k.producer,
          keyId: k.keyId,
          publicKey: Buffer.from(k.publicKey, 'base64'),
          ...(k.revokedAt !== undefined ? { revokedAt: new Date(k.revokedAt) } : {}),
        })),
      };
    },
  };
}
