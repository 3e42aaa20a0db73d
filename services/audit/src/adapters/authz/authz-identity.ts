/**
 * The audit service's callers, authenticated by authz (IdentityService, identity.proto):
 * the same API keys and tokens as authz, one revocation. Audit asks with its OWN credential
 * (AUDIT_AUTHZ_CREDENTIAL_FILE) — authz authenticates audit like any caller, no loopback
 * trust — and every decision (who may read, export, manage keys where) is authz's, asked as
 * the caller's credential (CheckCredential), so an organization's key acts only there.
 *
 * Invariants:
 *  - every call to authz carries a deadline (`timeoutMs`) and the call's signal;
 *  - answers are remembered at most `cacheMs` (and never longer than authz says), in bounded
 *    caches keyed by the credential's SHA-256 — a key revoked in authz is refused here within
 *    cacheMs + authz's own AUTHZ_KEY_CACHE_MS; refusals are not remembered;
 *  - an unreachable or slow authz, or one refusing audit's own credential, is UNAVAILABLE
 *    (fail closed); a caller's invalid credential (authz's refusal) is UNAUTHENTICATED;
 *    anything but DECISION_ALLOW is a no;
 *  - the credential is kept beside the Caller (a WeakMap), never inside it: a logged Caller
 *    carries no secret.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { ClientError, createChannel, createClient, Metadata, Status, type Channel } from 'nice-grpc';
import { Decision } from '@warden/proto/authz/v1';
import { IdentityServiceDefinition, type IdentityServiceClient } from '@warden/proto/authz/v1/identity';
import { UnauthenticatedError, UnavailableError } from '@warden/errors';
import { deadline } from '@warden/service-kit';
import type { AccessPolicy, Caller, StoreCallOptions } from '../../domain/ports.js';

const TRANSIENT = new Set([Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED, Status.RESOURCE_EXHAUSTED, Status.ABORTED]);

export type AuthzIdentityOptions = {
  readonly address: string;
  /** Audit's own credential (an API key authz issued to it, or a token). */
  readonly credential: string;
  /** How long an answer is remembered at most (0: ask every call). */
  readonly cacheMs: number;
  /** The deadline of every call to authz. */
  readonly timeoutMs: number;
  /** Entries per cache. @defaultValue 10000 */
  readonly maxEntries?: number;
};

export class AuthzIdentity implements AccessPolicy {
  private readonly callers: LRUCache<string, Caller> | undefined;
  private readonly decisions: LRUCache<string, boolean> | undefined;
  private readonly credentials = new WeakMap<Caller, string>();
  private readonly metadata: Metadata;

  private constructor(
    private readonly channel: Channel,
    private readonly client: IdentityServiceClient,
    private readonly options: AuthzIdentityOptions,
  ) {
    const max = options.maxEntries ?? 10_000;
    // lru-cache treats ttl 0 as "forever": with 0, nothing is remembered at all.
    if (options.cacheMs > 0) {
      this.callers = new LRUCache({ max, ttl: options.cacheMs });
      this.decisions = new LRUCache({ max, ttl: options.cacheMs });
    }
    this.metadata = Metadata({ authorization: `Bearer ${options.credential}` });
  }

  static connect(options: AuthzIdentityOptions): AuthzIdentity {
    const channel = createChannel(options.address);
    return new AuthzIdentity(channel, createClient(IdentityServiceDefinition, channel), options);
  }

  /** The caller a credential (as presented to audit) belongs to. */
  async authenticate(credential: string, signal?: AbortSignal): Promise<Caller> {
    const digest = sha256(credential);
    const cached = this.callers?.get(digest);
    if (cached !== undefined) return cached;
    const response = await this.ask(() => this.client.authenticate({ credential }, this.callOptions(signal)), 'authenticate');
    if (response.refusal !== '') throw new UnauthenticatedError(response.refusal);
    const c = response.caller;
    if (c === undefined || c.subject === '') throw new Error('authz answered Authenticate without a caller or a refusal');
    const caller: Caller = { subject: c.subject, ...(c.org !== '' ? { org: c.org } : {}), platformAdmin: c.platformAdmin };
    this.credentials.set(caller, credential);
    const ttl = Math.min(this.options.cacheMs, response.cacheTtlMs > 0 ? response.cacheTtlMs : this.options.cacheMs);
    if (ttl > 0) this.callers?.set(digest, caller, { ttl });
    return caller;
  }

  async allowed(caller: Caller, action: string, scope: string, options?: StoreCallOptions): Promise<boolean> {
    const credential = this.credentials.get(caller);
    // A caller this adapter did not authenticate (a bug in the wiring): never an allow.
    if (credential === undefined) return false;
    const key = `${sha256(credential)}\n${action}\n${scope}`;
    const cached = this.decisions?.get(key);
    if (cached !== undefined) return cached;
    const response = await this.ask(() => this.client.checkCredential({ credential, action, resource: scope }, this.callOptions(options?.signal)), 'check');
    const allowed = response.decision === Decision.DECISION_ALLOW;
    this.decisions?.set(key, allowed);
    return allowed;
  }

  close(): void {
    this.channel.close();
  }

  private callOptions(signal: AbortSignal | undefined): { metadata: Metadata; signal: AbortSignal } {
    return { metadata: this.metadata, signal: deadline(this.options.timeoutMs, signal) };
  }

  private async ask<T>(call: () => Promise<T>, what: string): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof ClientError) {
        // UNAUTHENTICATED is about audit itself (a caller's bad credential is an answer).
        if (error.code === Status.UNAUTHENTICATED) throw new UnavailableError('authz refused the audit service\'s own credential (AUDIT_AUTHZ_CREDENTIAL_FILE)', { cause: error });
        if (error.code === Status.PERMISSION_DENIED) throw new UnavailableError('authz does not let the audit service authenticate callers (AUTHZ_IDENTITY_CALLERS)', { cause: error });
        if (!TRANSIENT.has(error.code)) throw new Error(`authz refused the ${what} call: ${error.details}`, { cause: error });
      }
      // Unreachable, overloaded, past the deadline (an AbortError): the caller may retry. Never an allow.
      throw new UnavailableError(`authz could not be asked (${what})`, { cause: error });
    }
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64');
}
