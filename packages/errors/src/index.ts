export {
  WardenError,
  InvalidArgumentError,
  UnauthenticatedError,
  PermissionDeniedError,
  NotFoundError,
  ConflictError,
  FailedPreconditionError,
  ResourceExhaustedError,
  UnavailableError,
  DeadlineExceededError,
} from './errors.js';
export { STATUS, GrpcCode, statusOf, statusOfGrpcCode, type Status } from './status.js';
export type { ErrorCode } from './codes.js';
