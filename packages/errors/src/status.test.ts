import { describe, expect, it } from 'vitest';
import {
  ConflictError,
  DeadlineExceededError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnauthenticatedError,
  UnavailableError,
} from './errors.js';
import { statusOf, statusOfGrpcCode } from './status.js';

describe('one status table', () => {
  it('maps every error class to its gRPC code and HTTP status', () => {
    const rows: Array<[Error, number, number]> = [
      [new InvalidArgumentError('resource', 'is required'), 3, 400],
      [new UnauthenticatedError('no key'), 16, 401],
      [new PermissionDeniedError('no'), 7, 403],
      [new NotFoundError('gone'), 5, 404],
      [new ConflictError('taken'), 6, 409],
      [new FailedPreconditionError('last owner'), 9, 400],
      [new ResourceExhaustedError('full'), 8, 429],
      [new UnavailableError('down'), 14, 503],
      [new DeadlineExceededError('slow'), 4, 504],
    ];
    for (const [error, grpc, http] of rows) {
      expect(statusOf(error), error.name).toMatchObject({ grpc, http });
    }
  });

  it('has no status for errors that are not Warden errors (the transport answers INTERNAL)', () => {
    expect(statusOf(new Error('boom'))).toBeUndefined();
    expect(statusOf('boom')).toBeUndefined();
  });

  it('reads a peer gRPC code back into the same row', () => {
    expect(statusOfGrpcCode(7).code).toBe('permission_denied');
    expect(statusOfGrpcCode(12).code).toBe('internal');
  });

  it('names the field of an invalid argument, nested when asked', () => {
    const error = new InvalidArgumentError('subject', 'is required').under('checks[2]');
    expect(error.message).toBe('checks[2].subject: is required');
    expect(error.field).toBe('checks[2].subject');
  });
});
