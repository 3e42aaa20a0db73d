/**
 * @warden/audit — what users and sibling packages need, by name. Everything
 * exported here is pure (node:crypto, canonicalize, zod: no chdb, no gRPC), so
 * producers such as the authz outbox relay can import it to sign events.
 * The service itself is `@warden/audit/service`; the CLI `@warden/audit/cli`.
 */
// Events and signatures (producers).
export { auditEventSchema, canonicalEvent, contentHash, parseEvent, UUID_V7, type AuditEvent, type JsonValue, type EventProblem } from './domain/event.js';
export {
  generateSigningKey,
  parsePrivateKey,
  parsePublicKey,
  privateKeyToPem,
  publicKeyFromRaw,
  rawPublicKey,
  signEvent,
  verifyEventSignature,
  type SigningKeyPair,
} from './domain/keys.js';
export { scopeOf, parseSubject, scopePath, type Scope } from '@warden/names';

// Transparency-log verification (auditors, SDKs, the CLI).
export { CompactRange, EMPTY_ROOT, hashChildren, hashLeaf, MerkleTree, verifyConsistency, verifyInclusion } from './domain/merkle.js';
export {
  createNoteSigner,
  createNoteVerifier,
  formatCheckpointBody,
  formatVerifierKey,
  keyHash,
  openCheckpoint,
  parseCheckpointNote,
  parseSignedNote,
  parseVerifierKey,
  signCheckpoint,
  verifyNote,
  type Checkpoint,
  type NoteSigner,
  type NoteVerifier,
} from './domain/checkpoint.js';
export { chainLink, computeLeafHash, leafData, logOrigin, GENESIS_CHAIN, type LogRecord, type StoredRecord } from './domain/log-record.js';
export { verifyLog, verifyProvenRecords, type Problem, type ProblemKind, type ProvenRecord, type VerifyLogInput, type VerifyReport } from './domain/verify.js';
export { checkpointLine, fromJsonLine, parseExportLine, toJsonLine, type ExportedRecord, type ParsedLine } from './domain/export-format.js';

// The ports of the core, for adapters written elsewhere (e.g. an AccessPolicy).
export type { AccessPolicy, AuditStore, Caller, CheckpointWitness, Spool } from './domain/ports.js';

// The producer side of the wire (relay, SDK): what producers sign, as Append carries it.
export { eventToProto, signedEventToProto } from './producer.js';
