/** AuditService over gRPC: transport only; the AuditLog does the work. */
import { ExportFormat, Order, type AuditServiceImplementation } from '@warden/proto/audit/v1';
import type { AuditLog } from '../../domain/audit-log.js';
import { FailedPreconditionError, InvalidArgumentError, PermissionDeniedError, UnauthenticatedError } from '@warden/errors';
import { checkpointLine, CSV_HEADER, toCsvLine, toJsonLine } from '../../domain/export-format.js';
import { parseOrgId, scopePath } from '@warden/names';
import type { AccessPolicy, AuditAction } from '../../domain/ports.js';
import { decodeCursor, encodeCursor, filterScope, type Cursor, type EventFilter } from '../../domain/query.js';
import type { CallerContext } from './identity.js';
import {
  appendInputFromProto,
  appendResultToProto,
  exportFormatFromProto,
  filterFromProto,
  storedEventToProto,
  verifyReportToProto,
} from './convert.js';

export type AuditServiceDeps = {
  readonly log: AuditLog;
  readonly policy: AccessPolicy;
  /** The resource on which `audit:manage_keys` is checked; key administration is off when unset. */
  readonly keyAdminScope?: string | undefined;
  /** Rows per store round-trip when exporting. @defaultValue 1000 */
  readonly exportPageSize?: number;
};

const MAX_PAGE = 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function createAuditServiceImpl(deps: AuditServiceDeps): AuditServiceImplementation<CallerContext> {
  const { log, policy } = deps;
  const exportPageSize = deps.exportPageSize ?? 1000;

  async function authorize(context: CallerContext & { signal: AbortSignal }, action: AuditAction, scope: string): Promise<void> {
    if (context.caller === undefined) throw new UnauthenticatedError('this call needs a caller: send an API key');
    if (!(await policy.allowed(context.caller, action, scope, { signal: context.signal }))) {
      throw new PermissionDeniedError(`${context.caller.subject} may not ${action} on ${scope}`);
    }
  }

  async function* pages(filter: EventFilter, start: Cursor | undefined, pageSize: number, limit: number, signal: AbortSignal) {
    let cursor = start;
    let remaining = limit === 0 ? Number.POSITIVE_INFINITY : limit;
    while (remaining > 0) {
      const n = Math.min(pageSize, remaining);
      const rows = await log.query(filter, cursor, n, signal);
      const last = rows[rows.length - 1];
      if (last !== undefined) cursor = { occurredAt: last.event.occurredAt, seq: last.seq };
      remaining -= rows.length;
      yield { rows, cursor, more: rows.length === n };
      if (rows.length < n) return;
    }
  }

  async function keyAdmin(context: CallerContext & { signal: AbortSignal }, action: AuditAction): Promise<void> {
    if (deps.keyAdminScope === undefined) throw new FailedPreconditionError('producer key administration is disabled (set AUDIT_KEY_ADMIN_SCOPE)');
    await authorize(context, action, deps.keyAdminScope);
  }

  function orgOf(value: string): string {
    if (value === '') throw new InvalidArgumentError('org', 'is required');
    return parseOrgId(value);
  }

  return {
    async append(request) {
      if (request.events.length === 0) throw new InvalidArgumentError('events', 'is empty');
      const outcomes = await log.append(request.events.map(appendInputFromProto));
      return { results: outcomes.map(appendResultToProto) };
    },

    async *query(request, context) {
      const filter = filterFromProto(request.filter, request.order);
      if (request.pageSize > MAX_PAGE) throw new InvalidArgumentError('page_size', `is ${request.pageSize}; at most ${MAX_PAGE}`);
      const cursor = request.cursor === '' ? undefined : decodeCursor(request.cursor, filter.order);
      await authorize(context, 'audit:read', filterScope(filter));
      let sent = false;
      for await (const page of pages(filter, cursor, request.pageSize === 0 ? 100 : request.pageSize, request.limit, context.signal)) {
        if (page.rows.length === 0 && sent) return;
        sent = true;
        yield {
          events: page.rows.map(storedEventToProto),
          nextCursor: page.more && page.cursor !== undefined ? encodeCursor(page.cursor, filter.order) : '',
        };
      }
    },

    async *export(request, context) {
      const format = exportFormatFromProto(request.format);
      if (request.withProofs && format === 'csv') throw new InvalidArgumentError('with_proofs', 'is for JSONL exports');
      if (request.order === Order.ORDER_LOG) {
        if (request.withProofs) throw new InvalidArgumentError('with_proofs', 'is for filtered exports; a log-order export verifies as a whole');
        const f = request.filter;
        if (f === undefined) throw new InvalidArgumentError('filter', 'is required');
        if (f.org === '') throw new InvalidArgumentError('filter.org', 'is required');
        const org = parseOrgId(f.org, 'filter.org');
        if (f.project !== undefined || f.environment !== undefined || f.resource !== undefined || f.resourcePrefix !== undefined || f.actor !== undefined || f.actions.length > 0 || f.since !== undefined || f.until !== undefined) {
          throw new InvalidArgumentError('order', 'ORDER_LOG exports a whole organization log: set only filter.org');
        }
        await authorize(context, 'audit:export', scopePath({ org }));
        if (format === 'csv') yield { data: Buffer.from(CSV_HEADER, 'utf8') };
        let chunk: string[] = [];
        for await (const record of log.scanLog(org, context.signal)) {
          chunk.push(format === 'csv' ? toCsvLine(record) : toJsonLine(record));
          if (chunk.length >= exportPageSize) {
            yield { data: Buffer.from(chunk.join(''), 'utf8') };
            chunk = [];
          }
        }
        if (chunk.length > 0) yield { data: Buffer.from(chunk.join(''), 'utf8') };
        return;
      }
      const filter = filterFromProto(request.filter, request.order);
      await authorize(context, 'audit:export', filterScope(filter));
      if (format === 'csv') yield { data: Buffer.from(CSV_HEADER, 'utf8') };
      const proofs = request.withProofs ? await log.proofContext(filter.org) : undefined;
      if (proofs !== undefined) yield { data: Buffer.from(checkpointLine(proofs.checkpoint.note), 'utf8') };
      for await (const page of pages(filter, undefined, exportPageSize, 0, context.signal)) {
        if (page.rows.length === 0) continue;
        const text = page.rows
          .map((r) => {
            if (format === 'csv') return toCsvLine(r);
            if (proofs === undefined || r.seq >= proofs.checkpoint.treeSize) return toJsonLine(r);
            return toJsonLine(r, { treeSize: proofs.checkpoint.treeSize, path: proofs.tree.inclusionProof(r.seq, proofs.checkpoint.treeSize) });
          })
          .join('');
        yield { data: Buffer.from(text, 'utf8') };
      }
    },

    async verify(request, context) {
      const org = orgOf(request.org);
      if (request.toSeq !== 0 && request.toSeq <= request.fromSeq) throw new InvalidArgumentError('to_seq', 'must be greater than from_seq');
      await authorize(context, 'audit:read', scopePath({ org }));
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
      await authorize(context, 'audit:read', scopePath({ org }));
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
      await authorize(context, 'audit:read', scopePath({ org }));
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
      await authorize(context, 'audit:read', scopePath({ org }));
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
      await keyAdmin(context, 'audit:manage_keys');
      if (request.publicKey.length !== 32) throw new InvalidArgumentError('public_key', `is ${request.publicKey.length} bytes; an Ed25519 public key is 32`);
      await log.addProducerKey(request.producer, request.keyId, Buffer.from(request.publicKey).toString('base64'));
      return {};
    },

    async revokeProducerKey(request, context) {
      await keyAdmin(context, 'audit:manage_keys');
      const revokedAt = await log.revokeProducerKey(request.producer, request.keyId);
      return { revokedAt: new Date(revokedAt) };
    },

    async listProducerKeys(_request, context) {
      await keyAdmin(context, 'audit:read');
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

export { ExportFormat };
