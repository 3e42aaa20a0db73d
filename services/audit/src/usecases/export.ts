/**
 * Export, authorized with `audit:export`: either a whole organization log in seq order
 * (verifiable offline as a whole: `warden audit verify --file`), or a filtered
 * timeline, in JSON Lines or CSV. A filtered JSON Lines export may carry proofs: it
 * starts with the latest checkpoint and each event covered by it carries its
 * inclusion proof, so it verifies offline on its own. Yields text chunks.
 */
import { checkpointLine, CSV_HEADER, toCsvLine, toJsonLine } from '@warden/audit-events';
import { InvalidArgumentError } from '@warden/errors';
import { scopePath } from '@warden/names';
import type { AuditStore, Caller } from '../domain/ports.js';
import { filterScope, type EventFilter } from '../domain/query.js';
import type { Access } from './access.js';
import type { Proofs } from './proofs.js';
import { pages } from './timeline.js';

export type ExportFormat = 'jsonl' | 'csv';

export type ExportRequest =
  | { readonly kind: 'log'; readonly org: string; readonly format: ExportFormat }
  | { readonly kind: 'filtered'; readonly filter: EventFilter; readonly format: ExportFormat; readonly withProofs: boolean };

export type ExportDeps = {
  readonly store: AuditStore;
  readonly access: Access;
  readonly proofs: Pick<Proofs, 'context'>;
  /** Rows per store round-trip (and per chunk of a log export). */
  readonly pageSize: number;
};

export async function* exportEvents(deps: ExportDeps, caller: Caller | undefined, request: ExportRequest, signal: AbortSignal): AsyncGenerator<string> {
  const csv = request.format === 'csv';
  if (request.kind === 'log') {
    await deps.access.authorize(caller, 'audit:export', scopePath({ org: request.org }), signal);
    if (csv) yield CSV_HEADER;
    let chunk: string[] = [];
    for await (const record of deps.store.scan(request.org, 0, Number.MAX_SAFE_INTEGER, { signal })) {
      chunk.push(csv ? toCsvLine(record) : toJsonLine(record));
      if (chunk.length >= deps.pageSize) {
        yield chunk.join('');
        chunk = [];
      }
    }
    if (chunk.length > 0) yield chunk.join('');
    return;
  }
  if (request.withProofs && csv) throw new InvalidArgumentError('with_proofs', 'is for JSONL exports');
  const { filter } = request;
  await deps.access.authorize(caller, 'audit:export', filterScope(filter), signal);
  if (csv) yield CSV_HEADER;
  const proofs = request.withProofs ? await deps.proofs.context(filter.org) : undefined;
  if (proofs !== undefined) yield checkpointLine(proofs.checkpoint.note);
  const size = proofs?.checkpoint.treeSize ?? 0;
  for await (const page of pages(deps.store, filter, undefined, deps.pageSize, 0, signal)) {
    if (page.records.length === 0) continue;
    yield page.records
      .map((r) => {
        if (csv) return toCsvLine(r);
        if (proofs === undefined || r.seq >= size) return toJsonLine(r);
        return toJsonLine(r, { treeSize: size, path: proofs.tree.inclusionProof(r.seq, size) });
      })
      .join('');
  }
}
