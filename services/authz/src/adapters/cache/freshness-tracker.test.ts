/**
 * The freshness tracker against a simulated world, no servers: random interleavings of writes
 * (this process's and others'), change notices on NOTIFY (in order, lost while disconnected)
 * and Redis pub/sub (any order, duplicated, dropped), heartbeats, disconnects and reconnects,
 * catch-ups, unit fills from the primary and a lagging standby, Redis reads of units written
 * at any past revision, clock ticks, and reads. The simulation drives the tracker exactly as
 * invalidation-listener.ts and cached-grant-source.ts do; queries complete in any order, and
 * each reads a snapshot taken between its sending and its completion.
 *
 * Checked after every step: every unit in the in-process layer equals the truth at `applied`
 * (so no unit older than an invalidation the tracker took in survives it). Checked on every
 * answer: each unit used equals the truth at the answer's revision, that revision is
 * committed, and every write committed more than `maxStalenessMs` before the read arrived
 * is in it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FreshnessTracker, type InvalidationTarget, type TouchedByRevision } from './freshness-tracker.js';

const KEYS = ['s:a', 's:b', 's:c', 'r:x', 'o:o'] as const;
const MAX_STALENESS = 50;
/** Revisions a changelog read lists at most (more: "too many", as CHANGES_LIMIT). */
const CHANGES_CAP = 4;

type Op =
  | { readonly t: 'write'; readonly keys: readonly number[] | null; readonly own: boolean; readonly unlisted: boolean }
  | { readonly t: 'deliverPg' }
  | { readonly t: 'deliverRedis'; readonly pick: number; readonly drop: boolean }
  | { readonly t: 'deliverOwn'; readonly pick: number }
  | { readonly t: 'heartbeat' }
  | { readonly t: 'disconnect' }
  | { readonly t: 'reconnect' }
  | { readonly t: 'fill'; readonly keys: readonly number[]; readonly standby: boolean }
  | { readonly t: 'redisRead'; readonly keys: readonly number[] }
  | { readonly t: 'foreignFill'; readonly key: number; readonly at: number }
  | { readonly t: 'standby'; readonly by: number }
  | { readonly t: 'complete'; readonly pick: number; readonly at: number; readonly fail: boolean }
  | { readonly t: 'tick'; readonly ms: number }
  | { readonly t: 'read'; readonly keys: readonly number[]; readonly standby: boolean };

const keyIndexes = fc.uniqueArray(fc.integer({ min: 0, max: KEYS.length - 1 }), { minLength: 1, maxLength: 3 });
/** true about one time in six. */
const rarely = fc.integer({ min: 0, max: 5 }).map((n) => n === 0);
const fraction = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ t: fc.constant('write' as const), keys: fc.option(keyIndexes, { freq: 8, nil: null }), own: fc.boolean(), unlisted: rarely }), weight: 4 },
  { arbitrary: fc.constant({ t: 'deliverPg' as const }), weight: 4 },
  { arbitrary: fc.record({ t: fc.constant('deliverRedis' as const), pick: fc.nat(), drop: fc.boolean() }), weight: 3 },
  { arbitrary: fc.record({ t: fc.constant('deliverOwn' as const), pick: fc.nat() }), weight: 2 },
  { arbitrary: fc.constant({ t: 'heartbeat' as const }), weight: 2 },
  { arbitrary: fc.constant({ t: 'disconnect' as const }), weight: 1 },
  { arbitrary: fc.constant({ t: 'reconnect' as const }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('fill' as const), keys: keyIndexes, standby: fc.boolean() }), weight: 3 },
  { arbitrary: fc.record({ t: fc.constant('redisRead' as const), keys: keyIndexes }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('foreignFill' as const), key: fc.nat(KEYS.length - 1), at: fraction }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('standby' as const), by: fc.integer({ min: 1, max: 3 }) }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('complete' as const), pick: fc.nat(), at: fraction, fail: rarely }), weight: 8 },
  { arbitrary: fc.record({ t: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 2 * MAX_STALENESS }) }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('read' as const), keys: keyIndexes, standby: fc.boolean() }), weight: 5 },
);

interface Notice {
  readonly revision: number;
  readonly keys: readonly string[] | null;
}
/** A query in flight: `run` completes it with a snapshot revision in [minRev, current] (a standby: its own). */
interface InFlight {
  readonly minRev: number;
  readonly standby: boolean;
  readonly run: (snapshot: number) => void;
  readonly fail: () => void;
}

class Violation extends Error {}

/** The world: Postgres's history, the clock, the channels, Redis, and this process's glue. */
class World {
  t = 1000;
  /** history[r]: unit keys revision r touched (null: every unit). Revision 1 creates everything. */
  readonly history: Array<readonly string[] | null> = [[], null];
  readonly committedAt: number[] = [0, 0];
  standby = 1;
  connected = true;
  connection = 0;
  pgQueue: Notice[] = [];
  readonly redisBag: Notice[] = [];
  readonly ownBag: Notice[] = [];
  readonly redis = new Map<string, number>();
  readonly local = new Map<string, { rev: number }>();
  readonly inFlight: InFlight[] = [];
  heartbeatBusy = false;
  catchingUp: { readonly sentAt: number; readonly then: Array<(ok: boolean) => void> } | undefined;
  readonly tracker: FreshnessTracker;
  answers = 0;

  constructor(tracker?: (target: InvalidationTarget, now: () => number) => FreshnessTracker) {
    const target: InvalidationTarget = {
      invalidate: (key, revision) => {
        const entry = this.local.get(key);
        if (entry !== undefined && entry.rev < revision) this.local.delete(key);
      },
      clear: () => this.local.clear(),
    };
    const now = () => this.t;
    this.tracker = tracker?.(target, now) ?? new FreshnessTracker({ now, maxStalenessMs: MAX_STALENESS, target, maxInvalidatedKeys: 3 });
    // start(): LISTEN, the first revision, a catch-up (nothing to read yet).
    this.tracker.begin(this.current);
    this.tracker.confirm(this.t);
  }

  get current(): number {
    return this.history.length - 1;
  }

  /** Whether revisions in (from, to] touched `key`. */
  touched(key: string, from: number, to: number): boolean {
    for (let r = from + 1; r <= to; r++) {
      const keys = this.history[r]!;
      if (keys === null || keys.includes(key)) return true;
    }
    return false;
  }

  changesSince(since: number, snapshot: number): TouchedByRevision {
    if (snapshot - since > CHANGES_CAP) return undefined;
    const out = new Map<number, readonly string[] | null>();
    for (let r = since + 1; r <= snapshot; r++) out.set(r, this.history[r]!);
    return out;
  }

  send(minRev: number, standby: boolean, run: (snapshot: number) => void, fail: () => void = () => undefined): void {
    this.inFlight.push({ minRev, standby, run, fail });
  }

  /** invalidation-listener.ts catchUp(): single-flight, on the primary. */
  catchUp(then: (ok: boolean) => void = () => undefined): void {
    if (this.catchingUp !== undefined) {
      this.catchingUp.then.push(then);
      return;
    }
    const sentAt = this.t;
    const flight = { sentAt, then: [then] };
    this.catchingUp = flight;
    const since = this.tracker.applied;
    const done = (ok: boolean) => {
      this.catchingUp = undefined;
      for (const f of flight.then) f(ok);
    };
    this.send(
      this.current,
      false,
      (snapshot) => {
        this.tracker.heard(snapshot);
        this.tracker.applyChanges(since, snapshot, this.changesSince(since, snapshot));
        this.tracker.confirm(sentAt);
        done(true);
      },
      () => done(false),
    );
  }

  /** catchUpFrom(time): waits out a catch-up in flight sent before `time`, then catches up. */
  catchUpFrom(time: number, then: (ok: boolean) => void): void {
    if (this.catchingUp !== undefined && this.catchingUp.sentAt < time) this.catchingUp.then.push(() => this.catchUp(then));
    else this.catchUp(then);
  }

  disconnect(): void {
    this.connected = false;
    this.connection++;
    this.pgQueue = [];
  }

  /** cached-grant-source.ts fillFrom(): one statement; admits what is current; writes Redis. */
  fill(keys: readonly string[], standby: boolean, then: (found: Map<string, number>) => void = () => undefined): void {
    const since = this.tracker.applied;
    const sentAt = this.t;
    this.send(this.current, standby, (snapshot) => {
      if (!standby) this.tracker.heard(snapshot);
      this.tracker.applyChanges(since, snapshot, this.changesSince(since, snapshot));
      if (!standby) this.tracker.confirm(sentAt);
      const found = new Map<string, number>();
      for (const key of keys) {
        if (!this.tracker.isCurrent(key, snapshot)) continue;
        found.set(key, snapshot);
        this.local.set(key, { rev: snapshot });
        if ((this.redis.get(key) ?? -1) < snapshot) this.redis.set(key, snapshot);
      }
      then(found);
    });
  }

  /**
   * An answer at `applied` from units read at the given revisions, to a read that arrived at
   * `asked`: the bound is on the state when it was asked (the I/O after takes what it takes).
   */
  answer(units: ReadonlyMap<string, number>, asked: number): void {
    const at = this.tracker.applied;
    this.answers++;
    if (at > this.current) throw new Violation(`answered at ${at}, beyond the newest committed ${this.current}`);
    for (const [key, rev] of units) {
      if (rev > at || this.touched(key, rev, at)) throw new Violation(`answered at ${at} from ${key} read at ${rev}: it changed in between`);
    }
    for (let r = at + 1; r <= this.current; r++) {
      if (this.committedAt[r]! < asked - MAX_STALENESS) throw new Violation(`answered at ${at} a read asked at ${asked}: revision ${r} committed at ${this.committedAt[r]} is older than the bound`);
    }
  }

  /** view(): not confirmed fresh → catch up first; then the in-process layer, else assemble through a fill. */
  read(keys: readonly string[], standby: boolean): void {
    const asked = this.t;
    const go = () => {
      if (keys.every((key) => this.local.has(key))) {
        this.answer(new Map(keys.map((key) => [key, this.local.get(key)!.rev])), asked);
        return;
      }
      const generation = this.tracker.generation;
      const fromLocal = new Map(keys.filter((key) => this.local.has(key)).map((key) => [key, this.local.get(key)!] as const));
      this.fill(keys.filter((key) => !fromLocal.has(key)), standby, (found) => {
        if (keys.some((key) => !fromLocal.has(key) && !found.has(key))) return; // retried in the real code
        const units = new Map<string, number>([...[...fromLocal].map(([key, entry]) => [key, entry.rev] as const), ...found]);
        if (this.tracker.generation !== generation) {
          for (const [key, rev] of units) {
            const entry = fromLocal.get(key);
            if (entry !== undefined && this.local.get(key) === entry) continue;
            if (!this.tracker.isCurrent(key, rev)) return; // retried in the real code
          }
        }
        this.answer(units, asked);
      });
    };
    if (this.tracker.fresh()) go();
    else this.catchUpFrom(asked, (ok) => ok && go()); // a failed catch-up refuses (UnavailableError)
  }

  step(o: Op): void {
    const tracker = this.tracker;
    switch (o.t) {
      case 'write': {
        this.t += 1; // commits are ordered after every earlier send
        const keys = o.keys === null ? null : o.keys.map((i) => KEYS[i]!);
        this.history.push(keys);
        this.committedAt.push(this.t);
        const notice: Notice = { revision: this.current, keys: o.unlisted ? null : keys };
        if (this.connected) this.pgQueue.push(notice);
        this.redisBag.push(notice);
        if (o.own) this.ownBag.push({ revision: this.current, keys });
        return;
      }
      case 'deliverPg': {
        const notice = this.pgQueue.shift();
        if (notice !== undefined && tracker.receive(notice.revision, notice.keys)) this.catchUp();
        return;
      }
      case 'deliverRedis': {
        if (this.redisBag.length === 0) return;
        const i = o.pick % this.redisBag.length;
        const notice = this.redisBag[i]!;
        if (o.drop) this.redisBag.splice(i, 1);
        if (tracker.receive(notice.revision, notice.keys)) this.catchUp();
        return;
      }
      case 'deliverOwn': {
        if (this.ownBag.length === 0) return;
        const [write] = this.ownBag.splice(o.pick % this.ownBag.length, 1);
        if (tracker.noteWrite(write!.revision, write!.keys)) this.catchUp();
        return;
      }
      case 'heartbeat': {
        if (!this.connected || this.heartbeatBusy) return;
        this.heartbeatBusy = true;
        const sentAt = this.t;
        const connection = this.connection;
        const failed = () => {
          this.heartbeatBusy = false;
          if (this.connection === connection) this.disconnect();
        };
        this.send(
          this.current,
          false,
          (revision) => {
            if (this.connection !== connection) return failed();
            tracker.heard(revision);
            const confirm = () => {
              tracker.confirmIfApplied(revision, sentAt);
              this.heartbeatBusy = false;
            };
            if (revision > tracker.applied) this.catchUp((ok) => (ok ? confirm() : failed()));
            else confirm();
          },
          failed,
        );
        return;
      }
      case 'disconnect':
        if (this.connected) this.disconnect();
        return;
      case 'reconnect': {
        if (this.connected) return;
        // connect(): LISTEN (notices flow from now), then a catch-up sent after it; a failure disconnects again.
        this.connected = true;
        const connection = this.connection;
        this.catchUpFrom(this.t, (ok) => {
          if (!ok && this.connection === connection) this.disconnect();
        });
        return;
      }
      case 'fill':
        this.fill(o.keys.map((i) => KEYS[i]!), o.standby);
        return;
      case 'redisRead': {
        const keys = o.keys.map((i) => KEYS[i]!);
        this.send(this.current, false, () => {
          for (const key of keys) {
            const rev = this.redis.get(key);
            if (rev !== undefined && tracker.isCurrent(key, rev)) this.local.set(key, { rev });
          }
        });
        return;
      }
      case 'foreignFill': {
        // Another process stored a unit read at some committed revision (SET_IF_NEWER).
        const key = KEYS[o.key]!;
        const rev = 1 + Math.floor(o.at * this.current);
        if ((this.redis.get(key) ?? -1) < rev) this.redis.set(key, rev);
        return;
      }
      case 'standby':
        this.standby = Math.min(this.current, this.standby + o.by);
        return;
      case 'complete': {
        if (this.inFlight.length === 0) return;
        const [flight] = this.inFlight.splice(o.pick % this.inFlight.length, 1);
        if (o.fail) return flight!.fail();
        const snapshot = flight!.standby ? this.standby : flight!.minRev + Math.floor(o.at * (this.current - flight!.minRev + 1));
        flight!.run(snapshot);
        return;
      }
      case 'tick':
        this.t += o.ms;
        return;
      case 'read':
        this.read(o.keys.map((i) => KEYS[i]!), o.standby);
        return;
    }
  }

  /** The in-process layer's invariant: every unit equals the truth at `applied`. */
  checkLayer(): void {
    const at = this.tracker.applied;
    if (at > this.current) throw new Violation(`applied ${at} is beyond the newest committed ${this.current}`);
    for (const [key, { rev }] of this.local) {
      if (rev > at || this.touched(key, rev, at)) throw new Violation(`the in-process layer holds ${key} read at ${rev}, changed before applied ${at}`);
    }
  }
}

function run(ops: readonly Op[], make?: ConstructorParameters<typeof World>[0]): World {
  const world = new World(make);
  for (const o of ops) {
    world.step(o);
    world.checkLayer();
  }
  // Drain: every query completes, every notice arrives; the answers stay true.
  for (let i = 0; i < 200 && world.inFlight.length > 0; i++) {
    world.step({ t: 'complete', pick: 0, at: 0.5, fail: false });
    world.checkLayer();
  }
  return world;
}

const PARAMS = { numRuns: 1000, seed: 20261122 } as const;

describe('FreshnessTracker (property, no servers)', () => {
  it('never answers from a unit older than an invalidation it took in, nor older than the staleness bound', () => {
    let answers = 0;
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 120, size: "max" }), (ops) => {
        answers += run(ops).answers;
      }),
      PARAMS,
    );
    // The property is about answers: make sure there were plenty.
    expect(answers).toBeGreaterThan(PARAMS.numRuns * 2);
  });

  it('catches up to the newest revision once every query completes and every notice arrives', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 80, size: "max" }), (ops) => {
        const world = run(ops);
        if (!world.connected) world.step({ t: 'reconnect' });
        world.step({ t: 'heartbeat' });
        for (let i = 0; i < 20 && world.inFlight.length > 0; i++) world.step({ t: 'complete', pick: 0, at: 0.99, fail: false });
        world.step({ t: 'heartbeat' });
        for (let i = 0; i < 20 && world.inFlight.length > 0; i++) world.step({ t: 'complete', pick: 0, at: 0.99, fail: false });
        expect(world.tracker.applied).toBe(world.current);
        expect(world.tracker.fresh()).toBe(true);
      }),
      PARAMS,
    );
  });
});

describe('FreshnessTracker (examples)', () => {
  it('applies the next revision, asks for a catch-up on a gap or an unlisted notice, ignores old ones', () => {
    const world = new World();
    const tracker = world.tracker;
    world.local.set('s:a', { rev: 1 });
    world.local.set('s:b', { rev: 1 });
    expect(tracker.receive(2, ['s:a'])).toBe(false);
    expect(tracker.applied).toBe(2);
    expect([...world.local.keys()]).toEqual(['s:b']);
    expect(tracker.isCurrent('s:a', 1)).toBe(false);
    expect(tracker.isCurrent('s:a', 2)).toBe(true);
    expect(tracker.isCurrent('s:b', 1)).toBe(true);
    expect(tracker.isCurrent('s:b', 3)).toBe(false); // newer than applied: not provably current
    expect(tracker.receive(4, ['s:b'])).toBe(true);
    expect(tracker.receive(3, null)).toBe(true);
    expect(tracker.receive(2, ['s:b'])).toBe(false);
    expect(tracker.applied).toBe(2);
    expect(tracker.newest).toBe(4);
    tracker.applyChanges(2, 4, new Map([[4, ['s:b']]]));
    expect(tracker.applied).toBe(4);
    expect(world.local.size).toBe(0);
    tracker.applyChanges(4, 5, undefined); // too many to list: everything goes
    expect(tracker.floor).toBe(5);
    expect(tracker.isCurrent('o:o', 4)).toBe(false);
  });

  it('is fresh only within the bound of the last confirmation', () => {
    const world = new World();
    expect(world.tracker.fresh()).toBe(true);
    world.t += MAX_STALENESS + 1;
    expect(world.tracker.fresh()).toBe(false);
    world.tracker.confirmIfApplied(world.tracker.applied + 1, world.t);
    expect(world.tracker.fresh()).toBe(false);
    world.tracker.confirmIfApplied(world.tracker.applied, world.t);
    expect(world.tracker.fresh()).toBe(true);
  });

  it('raises the floor when it forgets a key, so an older read of it is refused', () => {
    const world = new World();
    const tracker = world.tracker;
    tracker.receive(2, ['s:a']);
    tracker.receive(3, ['s:b']);
    tracker.receive(4, ['s:c']);
    expect(tracker.floor).toBe(1);
    tracker.receive(5, ['r:x']); // the fourth key: s:a's history (revision 2) is evicted
    expect(tracker.floor).toBe(2);
    expect(tracker.isCurrent('s:a', 1)).toBe(false);
    expect(tracker.isCurrent('o:o', 1)).toBe(false);
    expect(tracker.isCurrent('o:o', 2)).toBe(true);
  });
});
