/**
 * AccessPolicy over the authz service: one gRPC Check per question
 * (subject = caller, action = audit:read|audit:export, resource = scope).
 * Anything but DECISION_ALLOW is a no; an unreachable authz is UNAVAILABLE
 * (fail closed, never allow by accident).
 */
import { ClientError, createChannel, createClient, Status, type Channel } from 'nice-grpc';
import { AuthzServiceDefinition, Decision, type AuthzServiceClient } from '@warden/proto/authz/v1';
import { UnavailableError } from '@warden/errors';
import type { AccessPolicy, Caller, StoreCallOptions } from '../../domain/ports.js';

const TRANSIENT = new Set([Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED, Status.RESOURCE_EXHAUSTED, Status.ABORTED]);

export class AuthzAccessPolicy implements AccessPolicy {
  private constructor(
    private readonly channel: Channel,
    private readonly client: AuthzServiceClient,
  ) {}

  static connect(address: string): AuthzAccessPolicy {
    const channel = createChannel(address);
    return new AuthzAccessPolicy(channel, createClient(AuthzServiceDefinition, channel));
  }

  async allowed(caller: Caller, action: string, scope: string, options?: StoreCallOptions): Promise<boolean> {
    try {
      const response = await this.client.check(
        { subject: caller.subject, action, resource: scope },
        options?.signal !== undefined ? { signal: options.signal } : {},
      );
      return response.decision === Decision.DECISION_ALLOW;
    } catch (error) {
      // Transient (unreachable, overloaded, too slow): the caller may retry. Anything else is a
      // bug on one side or the other: INTERNAL (logged with its cause), never an allow.
      if (error instanceof ClientError && !TRANSIENT.has(error.code)) throw new Error(`authz refused the check: ${error.details}`, { cause: error });
      throw new UnavailableError('authz could not be asked', { cause: error });
    }
  }

  close(): void {
    this.channel.close();
  }
}

/** Development only: every authenticated caller may read everything. */
export const allowAuthenticatedPolicy: AccessPolicy = {
  async allowed() {
    return true;
  },
};
