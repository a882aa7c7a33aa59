import type { Logger } from 'pino';
import type { Db } from '../db/database.js';
import { formatPosition, isAfter, type Position } from './position.js';
import { settledEventsAfter, settledEventsOf, settledHead, type Audience, type EventRow } from './repository.js';

/** Why a stream ended, as its last event says (a client that left is told nothing). */
export const END_REASONS = ['session_revoked', 'credential_expired', 'shutting_down', 'too_slow', 'unavailable'] as const;
export type EndReason = (typeof END_REASONS)[number];

/** The comment line an idle stream gets (SSE comments start with a colon; clients skip them). */
export const HEARTBEAT = ': still here';

/** Where a stream's events go: hono's SSE stream, as far as the hub needs it. */
export interface Sink {
  writeSSE(message: { event?: string; id?: string; data: string; retry?: number }): Promise<void>;
  write(text: string): Promise<unknown>;
  close(): Promise<void>;
}

export interface HubOptions {
  pollMs: number;
  heartbeatMs: number;
  /** Whether this instance knows the session to be revoked (the authenticator's poll). */
  isRevoked: (sessionId: string) => boolean;
  present: (row: EventRow) => { event: string; id: string; data: string };
}

// A reader's page: rows beyond it are read at once, without waiting for the next poll.
const PAGE = 1000;
// Events waiting for a client that does not read them: past this it is cut off, and resumes.
const MAX_UNREAD = 1000;
// How often each stream is checked for a revoked session or an expired credential.
const CHECK_MS = 1000;

/**
 * One stream: what it has sent (its cursor), and the handover from replaying the log to live
 * events. While it replays, the live events the hub offers are held; afterwards those after the
 * cursor are sent, so the stream neither skips nor repeats an event.
 */
export class Subscription {
  private replaying = true;
  private held: EventRow[] = [];
  private unread = 0;
  private lastWriteMs = Date.now();
  private ended = false;
  private resolveDone!: () => void;
  /** Resolves when the stream has ended, for whatever reason. */
  readonly done = new Promise<void>((resolve) => (this.resolveDone = resolve));

  constructor(
    readonly audience: Audience,
    readonly sessionId: string,
    readonly userId: string,
    private readonly closesAtMs: number,
    private cursor: Position,
    private readonly sink: Sink,
    private readonly hub: EventHub,
  ) {}

  /** Sends what the log holds after the cursor, then goes live. */
  async replay(): Promise<void> {
    for (;;) {
      const rows = await settledEventsOf(this.hub.db, this.audience, this.cursor, PAGE);
      for (const row of rows) this.send(row);
      if (rows.length < PAGE || this.ended) break;
    }
    for (const row of this.held) if (isAfter(row, this.cursor)) this.send(row);
    this.held = [];
    this.replaying = false;
  }

  offer(row: EventRow): void {
    if (this.ended) return;
    if (this.replaying) {
      this.held.push(row);
      if (this.held.length > MAX_UNREAD) this.end('too_slow');
    } else if (isAfter(row, this.cursor)) this.send(row);
  }

  check(nowMs: number): void {
    const options = this.hub.options;
    if (options.isRevoked(this.sessionId)) this.end('session_revoked');
    else if (nowMs >= this.closesAtMs) this.end('credential_expired');
    else if (nowMs - this.lastWriteMs >= options.heartbeatMs) this.write(() => this.sink.write(`${HEARTBEAT}\n\n`));
  }

  /**
   * Ends the stream, saying why (unless the client is gone), and lets go of it. Nothing here waits
   * for the client: the last event and the end go out as fast as it reads them.
   */
  end(reason: EndReason | 'client_left'): void {
    if (this.ended) return;
    this.ended = true;
    this.hub.remove(this);
    // Written as text: write() queues it at once, ahead of the close (writeSSE would queue it later).
    if (reason !== 'client_left') void this.sink.write(`event: stream.ended\ndata: ${JSON.stringify({ reason })}\n\n`);
    void this.sink.close();
    this.resolveDone();
  }

  private send(row: EventRow): void {
    this.cursor = { xid: row.xid, id: row.id };
    const message = this.hub.options.present(row);
    this.write(() => this.sink.writeSSE(message));
  }

  // A write resolves when the client has taken it: those not yet taken are counted, not awaited.
  private write(write: () => Promise<unknown>): void {
    this.lastWriteMs = Date.now();
    this.unread++;
    if (this.unread > MAX_UNREAD) {
      this.end('too_slow');
      return;
    }
    void write().finally(() => this.unread--);
  }
}

/**
 * An instance's live events: one reader of the log, running only while someone listens, fanning
 * each settled row out to the streams of its recipient. One timer checks every stream each second
 * (revocation, expiry, the heartbeat), so a stream costs no timer of its own.
 */
export class EventHub {
  private readonly byUser = new Map<string, Set<Subscription>>();
  private readonly byStore = new Map<string, Set<Subscription>>();
  private readonly perUser = new Map<string, number>();
  private count = 0;
  private head: Promise<Position> | undefined;
  private reader: Promise<void> | undefined;
  private checker: NodeJS.Timeout | undefined;

  constructor(
    readonly db: Db,
    private readonly logger: Logger,
    readonly options: HubOptions,
  ) {}

  get size(): number {
    return this.count;
  }

  /** The streams a user has open here, whatever they follow. */
  streamsOf(userId: string): number {
    return this.perUser.get(userId) ?? 0;
  }

  /**
   * Adds a stream; resolves once the reader has its starting point, so a replay that starts after
   * this covers everything the reader will not offer.
   */
  async add(subscription: Subscription): Promise<void> {
    const [map, key] = this.slotOf(subscription.audience);
    let set = map.get(key);
    if (!set) map.set(key, (set = new Set()));
    set.add(subscription);
    this.count++;
    this.perUser.set(subscription.userId, this.streamsOf(subscription.userId) + 1);
    if (!this.reader) this.startReading();
    await this.head;
  }

  remove(subscription: Subscription): void {
    const [map, key] = this.slotOf(subscription.audience);
    const set = map.get(key);
    if (!set?.delete(subscription)) return;
    if (set.size === 0) map.delete(key);
    this.count--;
    const left = this.streamsOf(subscription.userId) - 1;
    if (left > 0) this.perUser.set(subscription.userId, left);
    else this.perUser.delete(subscription.userId);
  }

  /** Ends every stream (a shutdown): each is told, so its client resumes elsewhere. */
  async endAll(reason: EndReason): Promise<void> {
    const all = [...this.byUser.values(), ...this.byStore.values()].flatMap((set) => [...set]);
    for (const s of all) s.end(reason);
    await Promise.all(all.map((s) => s.done));
    await this.reader;
  }

  private slotOf(audience: Audience): [Map<string, Set<Subscription>>, string] {
    return 'userId' in audience ? [this.byUser, audience.userId] : [this.byStore, audience.storeId];
  }

  private startReading(): void {
    this.head = settledHead(this.db);
    this.checker = setInterval(() => this.checkAll(), CHECK_MS);
    this.reader = this.read();
  }

  /**
   * Stops when nobody listens. The check and the stop are one synchronous step, so a stream added
   * a moment later finds no reader and starts a new one from a new head (after its own replay
   * could have missed anything), and one added a moment earlier keeps this one reading.
   */
  private stopIfUnheard(): boolean {
    if (this.count > 0) return false;
    clearInterval(this.checker);
    this.reader = undefined;
    this.head = undefined;
    return true;
  }

  private async read(): Promise<void> {
    let head: Position;
    try {
      head = await this.head!;
    } catch (error) {
      this.logger.warn({ err: error }, 'live events: could not read the log; ending the streams so they resume');
      for (const set of [...this.byUser.values(), ...this.byStore.values()]) for (const s of set) s.end('unavailable');
      this.stopIfUnheard();
      return;
    }
    for (;;) {
      let rows: EventRow[] = [];
      try {
        rows = await settledEventsAfter(this.db, head, PAGE);
      } catch (error) {
        this.logger.warn({ err: error, after: formatPosition(head) }, 'live events: could not read the log; trying again');
      }
      for (const row of rows) {
        const set = row.user_id ? this.byUser.get(row.user_id) : this.byStore.get(row.store_id!);
        if (set) for (const s of set) s.offer(row);
      }
      if (rows.length) head = rows[rows.length - 1];
      if (this.stopIfUnheard()) return;
      if (rows.length < PAGE) await new Promise((resolve) => setTimeout(resolve, this.options.pollMs));
      if (this.stopIfUnheard()) return;
    }
  }

  private checkAll(): void {
    const now = Date.now();
    for (const set of [...this.byUser.values(), ...this.byStore.values()]) for (const s of set) s.check(now);
  }
}
