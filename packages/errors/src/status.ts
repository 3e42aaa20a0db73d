/**
 * The one table from Warden's error codes to gRPC status codes and HTTP statuses.
 *
 * The codes are gRPC's (grpc/grpc doc/statuscodes.md); the HTTP statuses are the Connect
 * protocol's mapping (connectrpc.com/docs/protocol, "Error Codes"), used for every HTTP
 * route, Connect-style and AuthZEN alike, so one error has one status wherever it is met.
 * Numbers, not imports: the table has no dependency on a gRPC library.
 */
import type { ErrorCode } from './codes.js';
import { WardenError } from './errors.js';

export interface Status {
  readonly code: ErrorCode;
  /** The gRPC status code (numeric, as on the wire). */
  readonly grpc: number;
  /** The HTTP status. */
  readonly http: number;
}

/** gRPC status codes by name (the subset Warden answers with). */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

export const STATUS: Readonly<Record<ErrorCode, Status>> = {
  invalid_argument: { code: 'invalid_argument', grpc: GrpcCode.INVALID_ARGUMENT, http: 400 },
  unauthenticated: { code: 'unauthenticated', grpc: GrpcCode.UNAUTHENTICATED, http: 401 },
  permission_denied: { code: 'permission_denied', grpc: GrpcCode.PERMISSION_DENIED, http: 403 },
  not_found: { code: 'not_found', grpc: GrpcCode.NOT_FOUND, http: 404 },
  already_exists: { code: 'already_exists', grpc: GrpcCode.ALREADY_EXISTS, http: 409 },
  failed_precondition: { code: 'failed_precondition', grpc: GrpcCode.FAILED_PRECONDITION, http: 400 },
  resource_exhausted: { code: 'resource_exhausted', grpc: GrpcCode.RESOURCE_EXHAUSTED, http: 429 },
  unavailable: { code: 'unavailable', grpc: GrpcCode.UNAVAILABLE, http: 503 },
  deadline_exceeded: { code: 'deadline_exceeded', grpc: GrpcCode.DEADLINE_EXCEEDED, http: 504 },
  internal: { code: 'internal', grpc: GrpcCode.INTERNAL, http: 500 },
};

/** The gRPC code → the same row (for errors that arrive as gRPC statuses from a peer). */
const BY_GRPC = new Map<number, Status>(Object.values(STATUS).map((status) => [status.grpc, status]));

/** The status of a Warden error; undefined for anything else (the transport answers INTERNAL and logs it). */
export function statusOf(error: unknown): Status | undefined {
  return error instanceof WardenError ? STATUS[error.code] : undefined;
}

/** The row for a gRPC status code; INTERNAL for codes Warden does not answer with. */
export function statusOfGrpcCode(code: number): Status {
  return BY_GRPC.get(code) ?? STATUS.internal;
}
