/**
 * Keeps the freshness tracker current from the primary: a dedicated LISTEN connection for the
 * writer's change notices, a heartbeat on it that confirms the revision, reconnects when it is
 * lost, and the changelog catch-up (single-flight) for gaps. Change notices from Redis pub/sub
 * come in through `receive` too.
 *
 * Invariants:
 *   - a notice is applied only as the revision after `applied`; a gap or a notice without its
 *     list reads the changelog instead (the tracker decides, this file reads);
 *   - freshness is confirmed only by the primary: the heartbeat confirms its send time only
 *     once the revision it read is applied, a catch-up confirms its send time after applying;
 *     whoever needs "current as of now" (a reconnect, a stale or at_least_revision read) waits
 *     for a catch-up sent after it asked (`catchUpFrom`), never one already in flight before;
 *   - when the connection is lost nothing is confirmed until it is back, so cached answers stop
 *     once the staleness bound passes (the orchestrator then catches up or refuses).
 */
import pg from 'pg';
import { UnavailableError } from '@warden/errors';
import { GRANT_CHANGES_CHANNEL, parseGrantChangeNotice } from '../postgres/grant-changes.js';
import type { CacheCounters } from './cache-options.js';
import { unitKeysOf } from './cache-keys.js';
import type { FreshnessTracker } from './freshness-tracker.js';
import type { PgUnitReader } from './pg-unit-reader.js';

export interface InvalidationListenerOptions {
  /** Connection string of the primary (the LISTEN connection is its own client). */
  readonly databaseUrl: string;
  /** Pool on the primary (catch-up reads). */
  readonly pool: pg.Pool;
  readonly tracker: FreshnessTracker;
  readonly reader: PgUnitReader;
  readonly counters: CacheCounters;
  readonly heartbeatMs: number;
  readonly warn: (message: string, error?: unknown) => void;
}

export class InvalidationListener {
  private client: pg.Client | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private heartbeatBusy = false;
  private reconnecting: NodeJS.Timeout | undefined;
  private catchingUp: Promise<void> | undefined;
  /** When the catch-up in flight was sent. */
  private catchingUpSentAt = 0;
  private closed = false;

  constructor(private readonly o: InvalidationListenerOptions) {}

  /** LISTENs, reads the current revision and catches up; then the heartbeat runs. */
  async start(): Promise<void> {
    await this.connect();
    this.heartbeat = setInterval(() => void this.beat(), this.o.heartbeatMs);
    this.heartbeat.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.reconnecting);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  /** A change notice's payload, from NOTIFY or Redis pub/sub. */
  receive(payload: string): void {
    const notice = parseGrantChangeNotice(payload);
    if (notice === undefined) return;
    if (this.o.tracker.receive(notice.revision, unitKeysOf(notice.touched))) this.catchUpInBackground();
  }

  catchUpInBackground(): void {
    void this.catchUp().catch((error: unknown) => this.o.warn('cache catch-up failed', error));
  }

  /** Reads the changelog since `applied` on the primary and applies it (single-flight: joins one in flight). */
  catchUp(): Promise<void> {
    this.catchingUp ??= (async () => {
      try {
        const tracker = this.o.tracker;
        this.o.counters.catchUps++;
        const since = tracker.applied;
        const sentAt = (this.catchingUpSentAt = tracker.now());
        const { revision, changes } = await this.o.reader.changesSince(this.o.pool, since);
        tracker.heard(revision);
        tracker.applyChanges(since, revision, changes);
        tracker.confirm(sentAt);
      } finally {
        this.catchingUp = undefined;
      }
    })();
    return this.catchingUp;
  }

  /**
   * A catch-up sent at or after `time`: one in flight that was sent before is waited out
   * first (its snapshot may predate `time`, and it confirms only its own send time).
   */
  async catchUpFrom(time: number): Promise<void> {
    const inFlight = this.catchingUp;
    if (inFlight !== undefined && this.catchingUpSentAt < time) await inFlight.catch(() => undefined);
    await this.catchUp();
  }

  private async connect(): Promise<void> {
    const { tracker, heartbeatMs } = this.o;
    const client = new pg.Client({ connectionString: this.o.databaseUrl, query_timeout: Math.max(2 * heartbeatMs, 1000), connectionTimeoutMillis: 2000 });
    const lost = (error?: unknown) => {
      if (this.client !== client) return;
      this.client = undefined;
      client.end().catch(() => undefined);
      if (!this.closed) {
        this.o.warn('LISTEN connection lost; cached answers only within the staleness bound until it is back', error);
        this.scheduleReconnect();
      }
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (message) => {
      if (message.channel === GRANT_CHANGES_CHANNEL && message.payload !== undefined) this.receive(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${GRANT_CHANGES_CHANNEL}`);
      const sentAt = tracker.now();
      if (tracker.applied === 0 && tracker.confirmedAt === 0) tracker.begin(await this.o.reader.revision(client));
      this.client = client;
      // Notices flow from LISTEN on; what committed before it comes from a catch-up sent after it.
      await this.catchUpFrom(sentAt);
    } catch (error) {
      this.client = undefined;
      await client.end().catch(() => undefined);
      throw new UnavailableError('cannot LISTEN for grant changes on Postgres', { cause: error });
    }
  }

  private scheduleReconnect(): void {
    if (this.reconnecting !== undefined || this.closed) return;
    this.reconnecting = setTimeout(() => {
      this.reconnecting = undefined;
      this.connect().catch(() => this.scheduleReconnect());
    }, Math.min(this.o.heartbeatMs, 500));
    this.reconnecting.unref();
  }

  private async beat(): Promise<void> {
    const client = this.client;
    if (client === undefined || this.heartbeatBusy) return;
    this.heartbeatBusy = true;
    const tracker = this.o.tracker;
    const sentAt = tracker.now();
    try {
      const revision = await this.o.reader.revision(client);
      tracker.heard(revision);
      if (revision > tracker.applied) await this.catchUp();
      tracker.confirmIfApplied(revision, sentAt);
    } catch (error) {
      if (this.client === client) {
        this.client = undefined;
        client.end().catch(() => undefined);
        this.o.warn('heartbeat on the LISTEN connection failed; reconnecting', error);
        this.scheduleReconnect();
      }
    } finally {
      this.heartbeatBusy = false;
    }
  }
}
