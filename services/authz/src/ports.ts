/**
 * What the use cases need from the outside world, reads and writes alike. Adapters
 * (adapters/postgres, adapters/cache, adapters/memory) implement these; use cases import
 * this file, never an adapter. Every method that does I/O takes the call's AbortSignal.
 */
import type { ApiKeyRecord, VerifiedKey } from './domain/api-key-format.js';
import type { ChangeRequest, RequestState } from './domain/approvals.js';
import type { Change } from './domain/changes.js';
import type { GraphSpec } from './domain/graph-spec.js';
import type { OrgGraph } from './domain/org-graph.js';
import type { GrantView } from './domain/engine.js';
import type { Binding, Consistency, Effect } from './domain/model.js';
import type { ResourcePath } from '@warden/names';
import type { AuditEvent } from '@warden/audit-events';

export interface ViewRequest {
  readonly subject: string;
  readonly resource: ResourcePath;
}

export interface GrantSource {
  /**
   * One consistent view of the grant graph covering every (subject, resource)
   * asked for, at the newest revision this source has. A caching source uses
   * `consistency` to decide how fresh the view must be (at least the revision
   * asked for; Postgres itself for fully_consistent); a store that always reads
   * the newest revision may ignore it.
   */
  view(requests: readonly ViewRequest[], signal?: AbortSignal, consistency?: Consistency): Promise<GrantView>;
  /**
   * Optional, for sources with an in-process layer: one view per request, all at one
   * revision, when every request can be answered at once without I/O and as fresh as
   * `consistency` asks; otherwise undefined (then `view` answers). Lets a batch decide
   * each check over its own small view instead of assembling one for the whole batch.
   */
  localViews?(requests: readonly ViewRequest[], consistency?: Consistency): GrantView[] | undefined;
}

/** Where lookups find their candidates; every candidate is then decided by the engine. */
export interface CandidateSource {
  /**
   * Known resources (in the store's resource registry) whose type is `type` and
   * which are `scope` itself or below it, in byte order of their paths, after `after`.
   */
  resourcesUnder(scope: string, type: string, after: string | undefined, limit: number, signal?: AbortSignal): Promise<string[]>;
  /**
   * Every subject that could be allowed anything on a resource with this scope chain:
   * subjects bound on a scope of the chain or strictly below its last resource (unless that is the
   * organization), and every member (transitively) of groups among them.
   * Only subjects of `subjectType` when given. In byte order, after `after`.
   */
  subjectsOn(chain: readonly string[], subjectType: string | undefined, after: string | undefined, limit: number, signal?: AbortSignal): Promise<string[]>;
}

/** Who makes a write and why: recorded in the changelog and the audit event of every change. */
export interface WriteMeta {
  /** A subject, or `system:<component>` for the service itself. */
  readonly actor: string;
  readonly reason?: string | undefined;
}

/** One change as the changelog and the audit trail record it. */
export interface ChangeRecord {
  /** e.g. `binding.created`, `resource.updated`. */
  readonly kind: string;
  /** What changed: a binding id, a resource path, `org/role`, `group<-member`, an API key id. */
  readonly key: string;
  /** The resource the change is about (for the audit trail's filters). */
  readonly resource: string;
  readonly before: unknown;
  readonly after: unknown;
}

export interface WriteResult {
  /** The revision after the write (unchanged when the write changed nothing). */
  readonly revision: number;
  readonly changes: readonly ChangeRecord[];
}

/** A binding as stored, with who granted it and when. */
export interface StoredBinding {
  readonly binding: Binding;
  readonly org: string;
  readonly createdAt: Date;
}

/**
 * The state a write's guard reads: the newest committed state, inside the write's own
 * transaction and under the writers' lock, so nothing can change between the guard's
 * reads and the write.
 */
export interface GraphReader {
  binding(id: string): Promise<StoredBinding | undefined>;
  /** How many bindings of the organization name this role. */
  bindingsUsingRole(org: string, role: string): Promise<number>;
  /** Allow bindings of `owner` at the organization, with no condition and no expiry (or one after `at`), other than `exceptId`. */
  ownerBindings(org: string, options: { readonly exceptId?: string | undefined; readonly validAt: Date }): Promise<number>;
  roleExists(org: string, name: string): Promise<boolean>;
  /** The part of an organization's grant graph a change can touch (domain/graph-spec.ts). */
  orgGraph(spec: GraphSpec): Promise<OrgGraph>;
  /** A change request as committed (its newest version). */
  request(id: string): Promise<ChangeRequest | undefined>;
  /** The subject's break-glass requests in the organization whose review is still open. */
  openReviews(org: string, subject: string): Promise<readonly ChangeRequest[]>;
}

export interface GrantWriter {
  /**
   * Applies every change in one transaction with its changelog rows and audit events (the
   * outbox), or none. `guard` runs first, inside the transaction under the writers' lock;
   * what it throws aborts the write. A change set that changes nothing keeps the revision.
   */
  apply(changes: readonly Change[], meta: WriteMeta, guard?: (state: GraphReader) => Promise<void>): Promise<WriteResult>;
}

/** Reads the admin use cases make besides grant views. */
export interface GrantQueries {
  /** The action patterns of a custom role, or undefined when the organization has no such role. */
  roleActions(org: string, name: string, signal?: AbortSignal): Promise<readonly string[] | undefined>;
  /** Which of these paths are known resources. */
  existingResources(paths: readonly string[], signal?: AbortSignal): Promise<ReadonlySet<string>>;
  binding(id: string, signal?: AbortSignal): Promise<StoredBinding | undefined>;
  /** The binding with this natural key (subject, scope, effect, grant). */
  bindingByGrant(input: { subject: string; scope: string; effect: Effect; grantKey: string }, signal?: AbortSignal): Promise<StoredBinding | undefined>;
  /** Bindings at `scope` and below (optionally of one subject), in (scope, id) byte order after `after`. */
  listBindings(
    input: { scope: string; subject?: string | undefined; after?: string | undefined; limit: number },
    signal?: AbortSignal,
  ): Promise<{ bindings: StoredBinding[]; revision: number }>;
  /** The newest committed revision. */
  revision(signal?: AbortSignal): Promise<number>;
  /** The part of an organization's grant graph a change can touch, at the newest revision (previews). */
  orgGraph(spec: GraphSpec, signal?: AbortSignal): Promise<OrgGraph>;
  /** Whether the organization exists. */
  orgExists(org: string, signal?: AbortSignal): Promise<boolean>;
}

/** Reads of change requests (writes go through GrantWriter as `request.put` changes). */
export interface RequestQueries {
  get(id: string, signal?: AbortSignal): Promise<ChangeRequest | undefined>;
  /** Requests of the organization on `scope` or below, newest first, before the id `before`; of one stored state when given. */
  list(input: { org: string; scope: string; state?: RequestState | undefined; before?: string | undefined; limit: number }, signal?: AbortSignal): Promise<ChangeRequest[]>;
  /** The request opened with this idempotency key (`<submitter> <key>`). */
  byIdempotencyKey(key: string, signal?: AbortSignal): Promise<ChangeRequest | undefined>;
  /** Pending or approved requests whose expiry is at or before `at`, soonest first. */
  due(at: Date, limit: number, signal?: AbortSignal): Promise<ChangeRequest[]>;
}

/** Service API keys: only a hash of the secret is stored. */
export interface ApiKeyStore {
  /** Creates a key (the secret is returned once) and records the change like any other write. */
  create(
    /** `platform`: only the operator's bootstrap sets it (domain/caller.ts isPlatformAdmin). */
    input: { org: string; subject: string; description?: string | undefined; expiresAt?: Date | undefined; platform?: boolean | undefined },
    meta: WriteMeta,
  ): Promise<{ key: string; record: ApiKeyRecord } & WriteResult>;
  get(id: string, signal?: AbortSignal): Promise<ApiKeyRecord | undefined>;
  revoke(id: string, meta: WriteMeta): Promise<WriteResult>;
  /** The key's identity if it is well-formed, known, unrevoked, unexpired and its secret matches. */
  verify(key: string, signal?: AbortSignal): Promise<VerifiedKey | undefined>;
}

/** One change as Watch streams it. */
export interface ChangeEvent {
  /** The organization the change belongs to (undefined for changes recorded before organizations were tracked). */
  readonly org: string | undefined;
  readonly kind: string;
  readonly key: string;
  readonly before: Record<string, unknown> | null;
  readonly after: Record<string, unknown> | null;
  readonly actor: string;
  readonly reason: string | null;
  readonly at: Date;
}

export interface RevisionChanges {
  readonly revision: number;
  readonly changes: readonly ChangeEvent[];
}

export type WatchItem = RevisionChanges | { readonly caughtUp: true; readonly revision: number };

/** The grant-change feed behind Watch. */
export interface ChangeFeed {
  /**
   * The changes after `afterRevision` (or from now), revision by revision, then live; only
   * `org`'s when given (revisions with none of its changes are skipped). Ends with
   * ResourceExhaustedError when the watcher falls too far behind; InvalidArgumentError when
   * `afterRevision` is newer than the newest committed revision.
   */
  watch(afterRevision: number, fromNow: boolean, signal: AbortSignal, org?: string): AsyncIterable<WatchItem>;
  /** Ends every watch (shutdown). */
  close(): void;
}

/** A row of the changelog as the directory lists it. */
export interface ChangeRow {
  readonly revision: number;
  readonly seq: number;
  readonly at: Date;
  readonly actor: string;
  readonly kind: string;
  readonly key: string;
  /** The resource the change is about (a binding's scope, a resource's path, else the organization). */
  readonly resource: string;
  readonly before: Record<string, unknown> | null;
  readonly after: Record<string, unknown> | null;
  readonly reason: string | null;
  /** The id of the change's audit event (its outbox row; the audit service stores it under this id); null when unknown (rows older than the column that could not be matched). */
  readonly eventId: string | null;
}

export interface ApiKeyRow {
  readonly id: string;
  readonly subject: string;
  readonly description: string | null;
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
}

/** The directory's reads (usecases/directory.ts): bounded pages in keyset order, each with the revision it was read at. */
export interface DirectoryQueries {
  /** The stored attributes of these resources (unknown paths are absent). */
  attributes(paths: readonly string[], signal?: AbortSignal): Promise<ReadonlyMap<string, Record<string, unknown>>>;
  /** The organization's custom roles, by name. */
  customRoles(org: string, signal?: AbortSignal): Promise<{ roles: Array<{ name: string; description: string | null; actions: string[]; membership: boolean; ceiling: string[] | null }>; revision: number }>;
  /** (group, member) pairs in (group, member) byte order after `after` (`<group> <member>`). */
  groupMembers(input: { org: string; group?: string | undefined; after?: string | undefined; limit: number }, signal?: AbortSignal): Promise<{ members: Array<{ group: string; member: string }>; revision: number }>;
  /** API keys in id order after `after`. */
  apiKeys(input: { org: string; after?: string | undefined; limit: number }, signal?: AbortSignal): Promise<{ keys: ApiKeyRow[]; revision: number }>;
  /** Changes about `scope` or below, newest first, before the position `after` (`<revision>.<seq>`). */
  changes(
    input: { org: string; scope: string; actor?: string | undefined; kind?: string | undefined; since?: Date | undefined; until?: Date | undefined; after?: { revision: number; seq: number } | undefined; limit: number },
    signal?: AbortSignal,
  ): Promise<{ changes: ChangeRow[]; revision: number }>;
}

/** An audit event as a write put it in the outbox (JSON, snake_case as stored). */
export interface OutboxEvent {
  readonly id: string;
  readonly occurred_at: string;
  readonly actor: { readonly type: string; readonly id: string };
  readonly action: string;
  readonly resource: string;
  readonly before: unknown;
  readonly after: unknown;
  readonly reason: string | null;
}

export interface OutboxEntry {
  /** The outbox row id (UUIDv7): the audit event's id, stable across retries. */
  readonly id: string;
  readonly event: OutboxEvent;
}

/** What the sink answered for a claimed batch: shipped rows are marked, refused ones keep their last error. */
export interface OutboxOutcome {
  readonly shipped: readonly string[];
  readonly refused: ReadonlyArray<{ readonly id: string; readonly error: string }>;
}

/** The outbox of audit events every write leaves, as the relay drains it. */
export interface Outbox {
  /**
   * Claims up to `limit` of the oldest unshipped entries (in revision order; entries another
   * relay holds are skipped), hands them to `ship`, and records its outcome atomically with
   * the claim. Resolves with how many entries were claimed (0: nothing to ship). If `ship`
   * throws, nothing is recorded and the entries are claimed again later.
   */
  claim(limit: number, ship: (entries: readonly OutboxEntry[]) => Promise<OutboxOutcome>): Promise<number>;
}

/** Where the relay appends audit events (the audit service). */
export interface AuditSink {
  /** One answer per event, in order: accepted (a duplicate counts as accepted) or refused with a reason. */
  append(events: readonly AuditEvent[], signal: AbortSignal): Promise<ReadonlyArray<{ readonly accepted: boolean; readonly error?: string }>>;
  /** Whether an error from `append` means the sink is unreachable (wait and retry) rather than failing. */
  isUnreachable(error: unknown): boolean;
  close(): void;
}
