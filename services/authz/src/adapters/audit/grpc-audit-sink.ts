/**
 * The audit service as the outbox relay's sink (the `AuditSink` port): signs the batch
 * once with authz's producer key (a batch signature over the RFC 9162 root of the events,
 * @warden/audit-events `appendBatchSigned`) and appends it over gRPC, with a deadline.
 */
import type { KeyObject } from 'node:crypto';
import { ClientError, createChannel, createClient, Status } from 'nice-grpc';
import { AppendStatus, AuditServiceDefinition, type AppendRequest } from '@warden/proto/audit/v1';
import { appendBatchSigned } from '@warden/audit-events';
import { deadline } from '@warden/service-kit';
import type { AuditSink } from '../../ports.js';

export interface GrpcAuditSinkOptions {
  /** `host:port` of the audit service's gRPC API. */
  readonly address: string;
  readonly privateKey: KeyObject;
  /** Deadline of one Append. */
  readonly timeoutMs?: number;
}

export function createGrpcAuditSink(options: GrpcAuditSinkOptions): AuditSink {
  const channel = createChannel(options.address);
  const audit = createClient(AuditServiceDefinition, channel);
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    async append(events, signal) {
      const send = (request: AppendRequest) => audit.append(request, { signal: deadline(timeoutMs, signal) });
      const results = await appendBatchSigned(events, options.privateKey, send);
      return results.map((result) =>
        result.status === AppendStatus.APPEND_STATUS_ACCEPTED || result.status === AppendStatus.APPEND_STATUS_DUPLICATE
          ? { accepted: true }
          : { accepted: false, error: result.error?.message ?? 'refused without a reason' },
      );
    },
    isUnreachable(error) {
      return error instanceof ClientError && [Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED].includes(error.code);
    },
    close() {
      channel.close();
    },
  };
}
