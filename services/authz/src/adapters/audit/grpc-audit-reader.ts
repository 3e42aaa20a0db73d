/**
 * The audit service as AuditStatusService reads it (the `AuditReader` port): the newest
 * checkpoint and inclusion proofs over gRPC, with the CALLER's credential forwarded (so the
 * audit service's own access rules apply) and a deadline on every call.
 */
import { ClientError, createChannel, createClient, Metadata, Status } from 'nice-grpc';
import { AuditServiceDefinition } from '@warden/proto/audit/v1';
import { deadline } from '@warden/service-kit';
import type { AuditReader, ProofAnswer } from '../../usecases/audit-status.js';

export function createGrpcAuditReader(options: { readonly address: string; readonly timeoutMs?: number }): AuditReader & { close(): void } {
  const channel = createChannel(options.address);
  const audit = createClient(AuditServiceDefinition, channel);
  const timeoutMs = options.timeoutMs ?? 5_000;
  const callOptions = (authorization: string | undefined, signal: AbortSignal) => ({
    metadata: authorization === undefined ? Metadata() : Metadata({ authorization }),
    signal: deadline(timeoutMs, signal),
  });
  return {
    async checkpoint(org, authorization, signal) {
      const response = await audit.checkpoint({ org }, callOptions(authorization, signal));
      if (response.checkpoint === undefined) throw new Error(`the log of ${org} has no checkpoint yet`);
      return response.checkpoint.note;
    },
    async inclusionProof(org, eventId, treeSize, authorization, signal): Promise<ProofAnswer> {
      try {
        const proof = await audit.inclusionProof({ org, eventId, treeSize }, callOptions(authorization, signal));
        return { kind: 'proof', seq: Number(proof.seq), treeSize: Number(proof.treeSize), leafHash: proof.leafHash, path: proof.path };
      } catch (error) {
        if (error instanceof ClientError && error.code === Status.NOT_FOUND) return { kind: 'not_found' };
        if (error instanceof ClientError && error.code === Status.FAILED_PRECONDITION) return { kind: 'beyond_checkpoint' };
        return { kind: 'error', reason: error instanceof ClientError ? `the audit service answered ${Status[error.code]}: ${error.details}` : (error as Error).message };
      }
    },
    close() {
      channel.close();
    },
  };
}
