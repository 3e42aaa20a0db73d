/**
 * @warden/audit-events — what producers, auditors and the audit service share. Pure:
 * node:crypto, canonicalize, zod, @warden/names and @warden/proto's types; no I/O.
 */
// Events and their signatures (producers: the authz outbox relay, the Node SDK).
export {
  auditEventSchema,
  parseEvent,
  canonicalEvent,
  contentHash,
  canonicalContentHash,
  uuidV7Time,
  UUID_V7,
  ISO_MS,
  ACTION,
  PRODUCER,
  KEY_ID,
  type AuditEvent,
  type JsonValue,
  type EventProblem,
} from './event.js';
export { actorFromSubject, type AuditActor, type ActorOptions } from './actor.js';
export {
  generateSigningKey,
  parsePrivateKey,
  parsePublicKey,
  privateKeyToPem,
  publicKeyFromRaw,
  rawPublicKey,
  signEvent,
  verifyEventSignature,
  verifyCanonicalSignature,
  verifyCanonicalSignatureAsync,
  type SigningKeyPair,
} from './keys.js';
export {
  batchMessage,
  batchRecordSignatures,
  BatchSignatureCache,
  BatchTree,
  BATCH_MESSAGE_DOMAIN,
  BATCH_SIGNATURE_VERSION,
  canonicalLeafHash,
  formatBatchSignature,
  isBatchSignature,
  parseBatchSignature,
  signBatch,
  signCanonicalBatch,
  verifyBatch,
  verifyBatchAsync,
  verifyRecordSignature,
  type BatchLeaves,
  type BatchProof,
} from './batch-signature.js';

// The wire (warden.audit.v1), both directions.
export {
  eventToProto,
  eventFromProto,
  signedEventToProto,
  storedSignatureFromProto,
  signedEventFromProto,
  batchSignedAppendRequest,
  appendBatchSigned,
  storedRecordToProto,
  problemKindToProto,
  problemKindFromProto,
  verifyReportToProto,
  type ReceivedEvent,
} from './proto.js';

// Transparency-log verification (auditors, the CLI, the service).
export { CompactRange, consistencyProofFrom, EMPTY_ROOT, hashChildren, hashLeaf, MerkleTree, rangeHashFrom, rootFromInclusion, verifyConsistency, verifyInclusion } from './merkle.js';
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
  type NoteSignature,
  type SignedNote,
  type ParsedNote,
} from './checkpoint.js';
export {
  chainLink,
  computeLeafHash,
  leafData,
  leafDataFromCanonical,
  leafHashFromCanonical,
  logOrigin,
  GENESIS_CHAIN,
  type LogRecord,
  type StoredRecord,
} from './log-record.js';
export {
  verifyLog,
  verifyProvenRecords,
  type Problem,
  type ProblemKind,
  type ProvenRecord,
  type VerifyLogInput,
  type VerifyReport,
} from './verify.js';
export {
  checkpointLine,
  fromJsonLine,
  parseExportLine,
  toJsonLine,
  toExportedRecord,
  toCsvLine,
  CSV_HEADER,
  type ExportedRecord,
  type ParsedLine,
} from './export-format.js';
export { ProducerKeyRegistry, parseProducerKeys, type ProducerKeyEvent, type KeyLookup } from './producer-keys.js';

// What an approval is bound to (the service and the Node SDK compute the same hash).
export { changeContentHash, CHANGE_HASH, type ProposedChange } from './change-hash.js';

// Witnesses (c2sp.org/tlog-cosignature, tlog-witness, tlog-policy) and tiles (c2sp.org/tlog-tiles).
export {
  addSignatureLines,
  checkCosignature,
  cosign,
  cosignatureKeyId,
  originHash,
  cosignedMessage,
  createCosignatureVerifier,
  createCosigner,
  formatAddCheckpoint,
  formatCosignatureVerifierKey,
  parseAddCheckpoint,
  parseCosignatureVerifierKey,
  type AddCheckpointRequest,
  type CosignatureCheck,
  type CosignatureVerifier,
  type Cosigner,
} from './cosignature.js';
export { checkWitnessPolicy, parseWitnessPolicy, quorumMet, type PolicyResult, type PolicyWitness, type WitnessPolicy } from './policy.js';
export { encodeEntryBundle, formatTileIndex, formatTilePath, parseTilePath, tileFromLeafHashes, tileLeafRange, tileWithin, TILE_WIDTH, type TilePath } from './tiles.js';
