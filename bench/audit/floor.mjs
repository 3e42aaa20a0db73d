#!/usr/bin/env node
/**
 * The CPU floor of one batch-signed audit event, step by step, against the budget of
 * issue 16's throughput target (20,000 events/s on this machine's 2 cores = 100 µs of
 * CPU per event for producer, service and engine together):
 *
 *   node bench/audit/floor.mjs [--events 20000] [--rounds 5]     (after a build)
 *
 * Each step is the function the real pipeline calls (from the built packages and
 * services/audit/dist), run alone over `--events` bench events (bench-event.mjs, the
 * events of run.mjs) in batches of 500, as run.mjs's producer sends them: no gRPC, no
 * event loop, no locks, no GC pressure from anything else. So the sum is a lower bound
 * of what the pipeline costs, and 2 cores ÷ the sum an upper bound of the rate this
 * box could reach with these steps, however the rest were arranged. CPU time of this
 * process (process.cpuUsage: every thread, so the engine's insert threads count),
 * best of `--rounds` passes.
 *
 * The steps (protobuf encoding and decoding are also timed alone, for scale; the sums count them once, in transport):
 *  - transport: the Append over gRPC (nice-grpc, loopback) to a null AuditService in
 *    this process that answers every event accepted — protobuf encoding and decoding,
 *    HTTP/2 and the answer, both sides;
 *  - producer (signing included): building and batch-signing the request (canonical
 *    JSON, the RFC 9162 batch tree, one Ed25519 signature per 500 events); with signing
 *    excluded the requests are built beforehand and the producer's share is transport;
 *  - service: the event from its proto, the schema, RFC 8785, the
 *    content hash, the batch tree and the stored batch form (`batch-v1.…`), the log's
 *    leaf, chain link and Merkle tree, the group's rows encoded once as UTF-8 bytes (the
 *    bytes the write-ahead spool writes and the store write sends), the spool's write and
 *    the store write's payload made of them — admission, sequencing and durability without
 *    their bookkeeping;
 *  - engine: chdb taking the rows (JSONCompactEachRow, 2,000 rows per insert, as the
 *    service's store writes) into a fresh database with the service's own DDL, and
 *    merging the parts those inserts made.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { createChannel, createClient, createServer } from 'nice-grpc';
import { AppendRequest, AppendStatus, AuditServiceDefinition } from '@warden/proto/audit/v1';
import {
  BatchTree,
  batchSignedAppendRequest,
  canonicalContentHash,
  canonicalEvent,
  chainLink,
  CompactRange,
  generateSigningKey,
  leafHashFromCanonical,
  parseEvent,
  signedEventFromProto,
} from '@warden/audit-events';
import { benchEvent } from './bench-event.mjs';

const root = resolve(import.meta.dirname, '../..');
const audit = (p) => import(join(root, 'services/audit/dist', p));
const { ChdbDriver } = await audit('adapters/stores/chdb/chdb-driver.js');
const { ClickHouseAuditStore, EVENT_COLUMNS, eventRowLine } = await audit('adapters/stores/clickhouse-audit-store.js');

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const BATCH = 500;
const N = Math.max(BATCH, Math.floor(arg('events', 20_000) / BATCH) * BATCH);
const ROUNDS = arg('rounds', 5);
const TARGET = 20_000;
const CORES = 2;

// ------------------------------------------------------------------ fixtures (untimed)
const key = generateSigningKey();
const t0 = Date.now() - 3_600_000;
const events = Array.from({ length: N }, (_, i) => benchEvent(i, t0 + i, t0 + i));
const batches = Array.from({ length: N / BATCH }, (_, b) => events.slice(b * BATCH, (b + 1) * BATCH));
const requests = batches.map((batch) => batchSignedAppendRequest(batch, key.privateKey));
const wires = requests.map((request) => AppendRequest.encode(request).finish());
const inputs = requests.flatMap((request) => request.events.map(signedEventFromProto));
const parsed = inputs.map((input) => {
  const result = parseEvent(input.event);
  if (!result.ok) throw new Error(`bench event refused: ${JSON.stringify(result.problem)}`);
  return result.event;
});
const canonicals = parsed.map(canonicalEvent);
const trees = batches.map((_, b) => new BatchTree(canonicals.slice(b * BATCH, (b + 1) * BATCH)));
const stored = trees.flatMap((tree, b) => tree.recordSignatures(requests[b].batchSignature));
const loggedAt = new Date().toISOString();
const records = parsed.map((event, seq) => {
  const canonical = canonicals[seq];
  const leaf = leafHashFromCanonical(canonical, { org: 'bench', seq, loggedAt, signature: stored[seq] });
  return {
    org: 'bench', seq, loggedAt, event, signature: stored[seq], project: 'p0', environment: 'production',
    contentHash: canonicalContentHash(canonical), leafHash: leaf.toString('hex'), chainHash: leaf.toString('hex'),
  };
});
// encodeRows never reaches the driver.
const encoder = new ClickHouseAuditStore({ driver: null, database: 'floor' });
const groupRows = [];
for (let i = 0; i < N; i += BATCH) groupRows.push(encoder.encodeRows(records.slice(i, i + BATCH)));
const rowBytes = [];
for (let i = 0; i < N; i += 2_000) rowBytes.push(Buffer.from(records.slice(i, i + 2_000).map(eventRowLine).join(''), 'utf8'));

// ------------------------------------------------------------------ steps
let sink = 0;
const steps = [
  ['scale', 'encode the AppendRequest (protobuf, part of transport)', () => { for (const r of requests) sink += AppendRequest.encode(r).finish().length; }],
  ['producer+', 'build and batch-sign the request (canonical JSON, batch tree, 1 Ed25519 per 500)', () => { for (const b of batches) sink += batchSignedAppendRequest(b, key.privateKey).events.length; }],
  ['scale', 'decode the AppendRequest (protobuf, part of transport)', () => { for (const w of wires) sink += AppendRequest.decode(w).events.length; }],
  ['service', 'the event from its proto', () => { for (const r of requests) for (const e of r.events) sink += signedEventFromProto(e).event === undefined ? 0 : 1; }],
  ['service', 'the schema (parseEvent)', () => { for (const input of inputs) sink += parseEvent(input.event).ok ? 1 : 0; }],
  ['service', 'RFC 8785 canonical JSON', () => { for (const e of parsed) sink += canonicalEvent(e).length; }],
  ['service', 'content hash (SHA-256 of the canonical JSON)', () => { for (const c of canonicals) sink += canonicalContentHash(c).length; }],
  ['service', 'batch tree: leaves and root (the signed message)', () => { for (let b = 0; b < batches.length; b++) sink += new BatchTree(canonicals.slice(b * BATCH, (b + 1) * BATCH)).message().length; }],
  ['service', 'stored batch form of each event (index, size, signature, path)', () => { for (let b = 0; b < trees.length; b++) sink += trees[b].recordSignatures(requests[b].batchSignature).length; }],
  ['service', "the log's leaf (RFC 9162 leaf hash of the record's text)", () => { for (const r of records) sink += leafHashFromCanonical(canonicals[r.seq], r).length; }],
  ['service', 'chain link and Merkle tree append', () => {
    const tree = new CompactRange();
    let last = Buffer.alloc(32);
    for (const r of records) {
      const leaf = Buffer.from(r.leafHash, 'hex');
      last = chainLink(last, leaf);
      tree.append(leaf);
    }
    sink += tree.size;
  }],
  ['service', "the group's rows, encoded once as UTF-8 (JSONCompactEachRow: the spool writes them, the store write sends them)", () => { for (let i = 0; i < N; i += BATCH) sink += encoder.encodeRows(records.slice(i, i + BATCH)).count; }],
  ['service', "the spool's write: a header line (with the rows' CRC-32) before the rows", () => { for (const rows of groupRows) sink += Buffer.concat([Buffer.from(`${JSON.stringify({ token: 't', rows: rows.count, seg: 1, crc: crc32(rows.bytes) })}\n`, 'utf8'), rows.bytes]).length; }],
  ['service', "the store write's payload (2,000 rows: four groups' bytes)", () => { for (let g = 0; g < groupRows.length; g += 4) sink += Buffer.concat(groupRows.slice(g, g + 4).map((rows) => rows.bytes)).length; }],
];

/** Best CPU µs per event of `run` over ROUNDS passes (after one warm-up pass). */
async function measure(run) {
  await run();
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const before = process.cpuUsage();
    await run();
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / N);
  }
  return best;
}

const rows = [];
for (const [where, what, run] of steps) {
  rows.push({ where, what, us: await measure(run) });
  process.stderr.write(`  ${where}: ${what}: ${rows.at(-1).us.toFixed(2)} µs\n`);
}

// Transport: a null AuditService in this process, the producer's 4 Appends in flight.
{
  const server = createServer();
  const unused = async () => {
    throw new Error('not part of the floor');
  };
  const impl = Object.fromEntries(Object.keys(AuditServiceDefinition.methods).map((method) => [method, unused]));
  impl.append = async (request) => ({ results: request.events.map((e, seq) => ({ status: AppendStatus.APPEND_STATUS_ACCEPTED, id: e.event?.id ?? '', seq })) });
  server.add(AuditServiceDefinition, impl);
  const port = await server.listen('127.0.0.1:0');
  const channel = createChannel(`127.0.0.1:${port}`);
  const client = createClient(AuditServiceDefinition, channel);
  try {
    const us = await measure(async () => {
      let next = 0;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next < requests.length) sink += (await client.append(requests[next++], { signal: AbortSignal.timeout(30_000) })).results.length;
        }),
      );
    });
    rows.push({ where: 'transport', what: 'the Append over gRPC to a null service, both sides (protobuf, HTTP/2, the answer)', us });
    process.stderr.write(`  transport: ${us.toFixed(2)} µs\n`);
  } finally {
    channel.close();
    await server.shutdown();
  }
}

// The engine: each pass inserts every row into a fresh database with the service's DDL and
// waits until the merges its parts started are done (their CPU is part of taking the rows).
const dir = mkdtempSync(join(tmpdir(), 'warden-audit-floor-'));
const driver = ChdbDriver.open(join(dir, 'chdb'));
try {
  let best = Infinity;
  for (let pass = 0; pass <= ROUNDS; pass++) {
    const database = `floor_${pass}`;
    await new ClickHouseAuditStore({ driver, database }).migrate();
    const before = process.cpuUsage();
    for (const [i, bytes] of rowBytes.entries()) {
      await driver.insertCompactRows(database, 'events', EVENT_COLUMNS, bytes, { insert_deduplication_token: `floor-${i}`, max_insert_block_size: 1_048_576 });
    }
    for (let wait = 0; wait < 600; wait++) {
      const [row] = await driver.query(`SELECT count() AS merges FROM system.merges WHERE database = {db:String}`, { db: database });
      if (Number(row?.merges ?? 0) === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const used = process.cpuUsage(before);
    if (pass > 0) best = Math.min(best, (used.user + used.system) / N); // pass 0 warms up
    await driver.command(`DROP DATABASE ${database} SYNC`, {});
  }
  rows.push({ where: 'engine', what: 'chdb takes the rows (2,000 per insert) and merges the parts (all its threads)', us: best });
  process.stderr.write(`  engine: ${best.toFixed(2)} µs\n`);
} finally {
  await driver.close();
  rmSync(dir, { recursive: true, force: true });
}
if (sink === 0) throw new Error('nothing was computed');

// ------------------------------------------------------------------ table
const sum = (wheres) => rows.filter((r) => wheres.includes(r.where)).reduce((a, r) => a + r.us, 0);
const budget = (CORES * 1e6) / TARGET;
const excluded = sum(['transport', 'service', 'engine']);
const included = sum(['producer+', 'transport', 'service', 'engine']);
const rate = (us) => Math.round((CORES * 1e6) / us).toLocaleString('en-US');
const lines = [
  `## Audit ingest CPU floor (${N.toLocaleString('en-US')} events in batches of ${BATCH}, best of ${ROUNDS}, node ${process.version})`,
  '',
  '| where | step | CPU µs per event |',
  '|---|---|---:|',
  ...rows.map((r) => `| ${r.where === 'producer+' ? 'producer (signing included)' : r.where === 'scale' ? '(in transport)' : r.where} | ${r.what} | ${r.us.toFixed(2)} |`),
  `| | **service steps** | **${sum(['service']).toFixed(1)}** |`,
  `| | **producer signing excluded: transport + service + engine** | **${excluded.toFixed(1)}** → at most ${rate(excluded)} events/s on ${CORES} cores |`,
  `| | **producer signing included** | **${included.toFixed(1)}** → at most ${rate(included)} events/s on ${CORES} cores |`,
  `| | budget for ${TARGET.toLocaleString('en-US')} events/s on ${CORES} cores | ${budget.toFixed(0)} |`,
];
console.log(lines.join('\n'));
