/**
 * `createWarden`: one client for the authz service — check, checkBatch, enforce,
 * lookups and the guarded change — with deadlines, retries of read-only calls on
 * UNAVAILABLE only, typed errors, an optional Watch-fed decision cache and
 * OpenTelemetry spans and metrics.
 */
import { isSpanContextValid, SpanStatusCode } from '@opentelemetry/api';
import {
  ClientError,
  createChannel,
  createClientFactory,
  Metadata,
  Status,
  type CallOptions,
  type Channel,
  type ClientMiddleware,
  type ClientMiddlewareCall,
} from 'nice-grpc';
import { deadlineMiddleware } from 'nice-grpc-client-middleware-deadline';
import { retryMiddleware } from 'nice-grpc-client-middleware-retry';
import { AuthzServiceDefinition, type CheckRequest, type Consistency } from '@warden/proto/authz/v1';
import { WatchServiceDefinition } from '@warden/proto/authz/v1/watch';
import { ApprovalsServiceDefinition } from '@warden/proto/authz/v1/approvals';
import { createApprovalFlow, type ApplyApprovedOptions, type ApprovedChange, type PendingChange } from './approvals.js';
import { createAuditClient, newCorrelationId, type AuditClientOptions } from './audit-client.js';
import type { AuditRecorder, ChangeRecord } from './audit-recorder.js';
import { cacheKey, DecisionCache } from './decision-cache.js';
import { decisionFromProto, type Decision } from './decision.js';
import {
  ApprovalRequiredError,
  PermissionDeniedError,
  WardenAuthError,
  WardenError,
  WardenInvalidArgumentError,
  WardenUnavailableError,
} from './errors.js';
import type { CallerCredentials, WardenOptions } from './options.js';
import { checkInstruments, tracer } from './telemetry.js';
import { createBackoff, delay } from '@warden/client-kit';

export type Attributes = Readonly<Record<string, unknown>>;

export interface CheckInput {
  readonly subject: string;
  readonly action: string;
  readonly resource: string;
  readonly context?: Attributes | undefined;
  readonly resourceAttributes?: Attributes | undefined;
  readonly subjectAttributes?: Attributes | undefined;
  /** Never answer from state older than this revision (returned by a write). */
  readonly atLeastRevision?: number | undefined;
  /** Bypass every cache and read the newest committed state. */
  readonly fullyConsistent?: boolean | undefined;
}

export interface ChangeInput extends CheckInput {
  readonly before: unknown;
  readonly after: unknown;
  readonly reason?: string | undefined;
  /** The audit trail's action name; defaults to the checked action. */
  readonly auditAction?: string | undefined;
  /** Reuse a UUIDv7 from the caller; otherwise one is made. It is also the audit event's id. */
  readonly correlationId?: string | undefined;
  /** A ticket the change request cites when the change needs approval. */
  readonly ticket?: string | undefined;
}

export interface ChangeContext {
  readonly correlationId: string;
  readonly decision: Decision;
}

export interface Page<T> {
  readonly items: T[];
  readonly nextPageToken: string;
  readonly revision: number;
}

export interface Warden {
  check(input: CheckInput, options?: { signal?: AbortSignal }): Promise<Decision>;
  checkBatch(inputs: readonly CheckInput[], options?: { signal?: AbortSignal }): Promise<Decision[]>;
  /** Resolves with the decision when allowed; throws PermissionDeniedError or ApprovalRequiredError otherwise. */
  enforce(input: CheckInput, options?: { signal?: AbortSignal }): Promise<Decision>;
  /**
   * Check (fresh), apply, then record the signed audit event with the outcome — one correlation
   * id for all three. When the change needs approval, nothing is applied: a change request is
   * opened for exactly this change and a PendingChange with its id is returned (isPendingChange).
   */
  change<T>(input: ChangeInput, apply: (context: ChangeContext) => Promise<T> | T): Promise<T | PendingChange>;
  /**
   * Applies an approved change request: refuses unless the approved content hashes to the
   * request's content hash (and to `options.expected` when given), claims the approval once,
   * runs `apply` with the approved change, and records the audit event citing the request and
   * its approvers.
   */
  applyApproved<T>(requestId: string, apply: (change: ApprovedChange) => Promise<T> | T, options?: ApplyApprovedOptions): Promise<T>;
  lookupResources(input: { subject: string; action: string; resourceType: string; scope: string; pageToken?: string; limit?: number }): Promise<Page<string>>;
  lookupSubjects(input: { action: string; resource: string; subjectType?: string; pageToken?: string; limit?: number }): Promise<Page<string>>;
  /**
   * Tell the client about a revision returned by a write: from then on nothing older is
   * served, from its cache or the service's (calls carry it as at_least_revision).
   */
  noteRevision(revision: number): void;
  readonly cache: { readonly ready: boolean; readonly hits: number; readonly misses: number; readonly size: number } | undefined;
  close(): Promise<void>;
}

function authMiddleware(credentials: CallerCredentials): ClientMiddleware {
  return async function* auth<Request, Response>(call: ClientMiddlewareCall<Request, Response>, options: CallOptions) {
    if ('none' in credentials) return yield* call.next(call.request, options);
    const secret = 'apiKey' in credentials ? credentials.apiKey : await credentials.token();
    const metadata = Metadata(options.metadata);
    metadata.set('authorization', `Bearer ${secret}`);
    return yield* call.next(call.request, { ...options, metadata });
  };
}

export function toWardenError(error: unknown): unknown {
  if (error instanceof ClientError) {
    const message = `${Status[error.code]}: ${error.details}`;
    switch (error.code) {
      case Status.INVALID_ARGUMENT:
        return new WardenInvalidArgumentError(message, 'INVALID_ARGUMENT', { cause: error });
      case Status.UNAUTHENTICATED:
      case Status.PERMISSION_DENIED:
        return new WardenAuthError(message, Status[error.code], { cause: error });
      case Status.UNAVAILABLE:
      case Status.DEADLINE_EXCEEDED:
      case Status.RESOURCE_EXHAUSTED:
        return new WardenUnavailableError(message, Status[error.code], { cause: error });
      default:
        return new WardenError(message, Status[error.code], { cause: error });
    }
  }
  if (error instanceof Error && error.name === 'AbortError') return new WardenUnavailableError('the call was cancelled or ran out of time', 'DEADLINE_EXCEEDED', { cause: error });
  return error;
}

function toRequest(input: CheckInput): CheckRequest {
  const consistency: Consistency | undefined = input.fullyConsistent
    ? { requirement: { $case: 'fullyConsistent', value: true } }
    : input.atLeastRevision !== undefined
      ? { requirement: { $case: 'atLeastRevision', value: input.atLeastRevision } }
      : undefined;
  return {
    subject: input.subject,
    action: input.action,
    resource: input.resource,
    context: input.context,
    resourceAttributes: input.resourceAttributes,
    subjectAttributes: input.subjectAttributes,
    consistency,
  };
}

export function createWarden(options: WardenOptions & { audit?: AuditRecorder | AuditClientOptions | undefined }): Warden {
  const timeoutMs = options.timeoutMs ?? 2000;
  const recorder: AuditRecorder | undefined =
    options.audit === undefined ? undefined : 'record' in options.audit ? options.audit : createAuditClient(options.audit);
  const channel: Channel = createChannel(options.authz.address, options.authz.channelCredentials);
  const factory = createClientFactory().use(retryMiddleware).use(deadlineMiddleware).use(authMiddleware(options.credentials));
  const authz = factory.create(AuthzServiceDefinition, channel, {
    '*': { retryMaxAttempts: options.maxAttempts ?? 3, retryableStatuses: [Status.UNAVAILABLE] },
  });
  const callOptions = (signal?: AbortSignal) => ({ deadline: new Date(Date.now() + timeoutMs), ...(signal ? { signal } : {}) });
  // Writes are not retried: a retry of an open could open a second request.
  const approvals = createClientFactory().use(deadlineMiddleware).use(authMiddleware(options.credentials)).create(ApprovalsServiceDefinition, channel);

  let cache: DecisionCache | undefined;
  /** The newest revision this client knows exists: every call asks for state at least that new. */
  let knownRevision = 0;
  const know = (revision: number) => {
    if (revision > knownRevision) knownRevision = revision;
  };
  const fresh = (input: CheckInput): CheckInput =>
    input.fullyConsistent || knownRevision === 0 ? input : { ...input, atLeastRevision: Math.max(input.atLeastRevision ?? 0, knownRevision) };
  const watchAbort = new AbortController();
  let watching: Promise<void> | undefined;
  if (options.cache !== undefined) {
    cache = new DecisionCache(options.cache.maxEntries ?? 10_000, options.cache.ttlMs ?? 10_000);
    const watch = createClientFactory().use(authMiddleware(options.credentials)).create(WatchServiceDefinition, channel);
    const live = cache;
    watching = (async () => {
      const reconnect = createBackoff({ initialMs: 100, maxMs: 5000 });
      let first = true;
      while (!watchAbort.signal.aborted) {
        try {
          const request = first ? { afterRevision: 0, fromNow: true } : { afterRevision: live.resumeFrom, fromNow: false };
          for await (const event of watch.watch(request, { signal: watchAbort.signal })) {
            first = false;
            reconnect.reset();
            // Change and access request steps change no decision (an access grant comes with its binding change).
            const grants = event.changes.filter((c) => !c.kind.startsWith('request.')).length;
            live.onEvent({ revision: event.revision, changes: grants, caughtUp: event.caughtUp });
            if (grants > 0) know(event.revision);
          }
        } catch {
          // Reconnect below; nothing is served while disconnected.
        }
        live.onDisconnect();
        if (watchAbort.signal.aborted) return;
        await delay(reconnect.next(), watchAbort.signal);
      }
    })();
  }

  function record(decision: Decision, seconds: number, cached: boolean) {
    const { checkDuration, decisions } = checkInstruments();
    checkDuration.record(seconds, { 'warden.decision': decision.decision, 'warden.cache.hit': cached });
    decisions.add(1, { 'warden.decision': decision.decision });
  }

  async function check(input: CheckInput, signal?: AbortSignal): Promise<Decision> {
    return tracer.startActiveSpan('warden.check', { attributes: { 'warden.action': input.action, 'warden.resource': input.resource } }, async (span) => {
      const started = performance.now();
      try {
        const key = cache && !input.fullyConsistent ? cacheKey([input.subject, input.action, input.resource, input.context, input.resourceAttributes, input.subjectAttributes]) : undefined;
        if (key !== undefined && cache!.ready) {
          const hit = cache!.get(key, input.atLeastRevision);
          checkInstruments().cacheRequests.add(1, { result: hit ? 'hit' : 'miss' });
          if (hit !== undefined) {
            span.setAttributes({ 'warden.decision': hit.decision, 'warden.reason': hit.reason.code, 'warden.revision': hit.revision, 'warden.cache.hit': true });
            record(hit, (performance.now() - started) / 1000, true);
            return hit;
          }
        }
        const response = await authz.check(toRequest(fresh(input)), callOptions(signal));
        const decision = decisionFromProto(response);
        if (key !== undefined) cache!.set(key, decision);
        span.setAttributes({ 'warden.decision': decision.decision, 'warden.reason': decision.reason.code, 'warden.revision': decision.revision, 'warden.cache.hit': false });
        record(decision, (performance.now() - started) / 1000, false);
        return decision;
      } catch (error) {
        const mapped = toWardenError(error);
        span.recordException(mapped as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (mapped as Error).message });
        throw mapped;
      } finally {
        span.end();
      }
    });
  }

  const flow = createApprovalFlow({ approvals, check: (input) => check(input), recorder, callOptions: () => callOptions(), toWardenError });

  async function enforce(input: CheckInput, signal?: AbortSignal): Promise<Decision> {
    const decision = await check(input, signal);
    if (decision.decision === 'REQUIRES_APPROVAL') throw new ApprovalRequiredError(decision);
    if (!decision.allowed) throw new PermissionDeniedError(decision);
    return decision;
  }

  return {
    check: (input, opts) => check(input, opts?.signal),
    enforce: (input, opts) => enforce(input, opts?.signal),

    async checkBatch(inputs, opts) {
      return tracer.startActiveSpan('warden.check_batch', { attributes: { 'warden.batch.size': inputs.length } }, async (span) => {
        try {
          const for0 = inputs[0];
          const consistency = for0 === undefined ? undefined : toRequest(fresh(for0)).consistency;
          const response = await authz.checkBatch(
            { checks: inputs.map((input) => ({ ...toRequest(input), consistency: undefined })), consistency },
            callOptions(opts?.signal),
          );
          const results = response.results.map(decisionFromProto);
          const { decisions } = checkInstruments();
          for (const decision of results) decisions.add(1, { 'warden.decision': decision.decision });
          return results;
        } catch (error) {
          const mapped = toWardenError(error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: (mapped as Error).message });
          throw mapped;
        } finally {
          span.end();
        }
      });
    },

    async change(input, apply) {
      const correlationId = input.correlationId ?? newCorrelationId();
      return tracer.startActiveSpan('warden.change', { attributes: { 'warden.correlation_id': correlationId, 'warden.action': input.action, 'warden.resource': input.resource } }, async (span) => {
        // The change's own span: with no tracer installed it is a no-op span with an invalid context.
        const traceId = isSpanContextValid(span.spanContext()) ? span.spanContext().traceId : undefined;
        try {
          // A change is checked against fresh state, never a cached answer.
          const checked = await check({ ...input, fullyConsistent: true });
          if (checked.decision === 'REQUIRES_APPROVAL') {
            const pending = await flow.open(input, checked);
            span.setAttributes({ 'warden.change.outcome': 'pending', 'warden.request_id': pending.requestId });
            return pending;
          }
          const decision = await enforce({ ...input, fullyConsistent: true });
          const draft = (outcome: 'success' | 'failure', error?: string): ChangeRecord => ({
            correlationId, traceId, actor: input.subject, action: input.auditAction ?? input.action, resource: input.resource,
            before: input.before, after: input.after, reason: input.reason, outcome, error, decision,
          });
          // Never apply a change that could not be recorded.
          recorder?.validate?.(draft('success'));
          let outcome: 'success' | 'failure' = 'success';
          let failure: unknown;
          let result: Awaited<ReturnType<typeof apply>> | undefined;
          try {
            result = await apply({ correlationId, decision });
          } catch (error) {
            outcome = 'failure';
            failure = error;
          }
          await recorder?.record(draft(outcome, failure === undefined ? undefined : failure instanceof Error ? failure.message : String(failure)));
          span.setAttribute('warden.change.outcome', outcome);
          if (failure !== undefined) throw failure;
          return result as Awaited<ReturnType<typeof apply>> | PendingChange;
        } catch (error) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
          throw error;
        } finally {
          span.end();
        }
      });
    },

    applyApproved: (requestId, apply, opts) => flow.applyApproved(requestId, apply, opts),

    async lookupResources(input) {
      try {
        const response = await authz.lookupResources(
          { subject: input.subject, action: input.action, resourceType: input.resourceType, scope: input.scope, page: { token: input.pageToken ?? '', limit: input.limit ?? 0 } },
          callOptions(),
        );
        return { items: response.resources, nextPageToken: response.nextPageToken, revision: response.revision };
      } catch (error) {
        throw toWardenError(error);
      }
    },

    async lookupSubjects(input) {
      try {
        const response = await authz.lookupSubjects(
          { action: input.action, resource: input.resource, subjectType: input.subjectType ?? '', page: { token: input.pageToken ?? '', limit: input.limit ?? 0 } },
          callOptions(),
        );
        return { items: response.subjects, nextPageToken: response.nextPageToken, revision: response.revision };
      } catch (error) {
        throw toWardenError(error);
      }
    },

    noteRevision(revision) {
      know(revision);
      cache?.noteRevision(revision);
    },

    get cache() {
      return cache === undefined ? undefined : { ready: cache.ready, hits: cache.hits, misses: cache.misses, size: cache.size };
    },

    async close() {
      watchAbort.abort();
      await watching;
      await recorder?.close();
      channel.close();
    },
  };
}

