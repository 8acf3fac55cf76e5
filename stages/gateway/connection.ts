import { randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import type { GatewayMetrics } from './metrics.ts';
import { closeCodes, encodeFrame, type ServerFrame } from './protocol.ts';
import type { SentMessage, WrittenMessages } from './recent.ts';

/** Invalid frames are counted over this window; past `maxInvalidFrames` in it the socket is closed. */
const invalidWindowMs = 60_000;
/** Frames awaiting a lookup or the sink, per connection; more are answered BUSY rather than queued. */
const maxPending = 16;

export interface ConnectionIdentity {
  uid: string;
  /** Platform admins and services may read every thread. */
  admin: boolean;
  connectedAt: number;
  userAgent: string | null;
  expiresAt: number | null;
}

export interface ConnectionLimits {
  maxBufferedBytes: number;
  maxInvalidFrames: number;
}

/** What a heartbeat tick did to a connection. */
export type HeartbeatOutcome = 'pinged' | 'terminated' | 'expired' | 'dead';

/**
 * One open socket and everything the gateway knows about it. Like `ws`'s WebSocket, the object owns its
 * state: liveness, the garbage count, closing, frames in flight, the live subscriptions, the ids it
 * recently wrote and, while a resume replays the inbox, the live frames held back until the replay ends.
 * Other parts of the gateway change that state only through these methods.
 */
export class Connection {
  readonly sessionId = randomUUID();
  readonly uid: string;
  readonly admin: boolean;
  readonly connectedAt: number;
  /** The upgrade's User-Agent, truncated; recorded on check-ins. */
  readonly userAgent: string | null;
  /** Token expiry in epoch ms (the JWT's `exp`), or null when the token has none. */
  readonly expiresAt: number | null;
  readonly socket: WebSocket;

  readonly #limits: ConnectionLimits;
  readonly #metrics: GatewayMetrics;
  readonly #threads = new Set<string>();
  /** This connection's bit in the records of what was written where (recent.ts). */
  readonly serial: number;
  readonly #written: WrittenMessages;
  #alive = true;
  #invalidFrames: number[] = [];
  #closing = false;
  #closeReason: string | null = null;
  #pending = 0;
  /** Live message frames held back while the inbox is replayed; null when not replaying. */
  #heldBack: { messageId: string; frame: Buffer; sent: SentMessage }[] | null = null;

  /** `written` is the registry's record of which sockets each recent message was written to. */
  constructor(
    socket: WebSocket,
    identity: ConnectionIdentity,
    limits: ConnectionLimits,
    metrics: GatewayMetrics,
    written: WrittenMessages,
  ) {
    this.socket = socket;
    this.uid = identity.uid;
    this.admin = identity.admin;
    this.connectedAt = identity.connectedAt;
    this.userAgent = identity.userAgent;
    this.expiresAt = identity.expiresAt;
    this.#limits = limits;
    this.#metrics = metrics;
    this.#written = written;
    this.serial = written.allocate();
  }

  /** The gateway has started closing it: no more deliveries; terminated at the next heartbeat. */
  get closing(): boolean {
    return this.#closing;
  }

  /** Why the gateway closed it, for the disconnect check-in; null when the client closed. */
  get closeReason(): string | null {
    return this.#closeReason;
  }

  get threads(): ReadonlySet<string> {
    return this.#threads;
  }

  /** The one place frames reach the socket; enforces the slow-consumer limit before buffering more. */
  write(frame: Buffer): boolean {
    if (this.#closing || this.socket.readyState !== WebSocket.OPEN) return false;
    if (this.socket.bufferedAmount + frame.length > this.#limits.maxBufferedBytes) {
      this.close(closeCodes.slowConsumer, 'slow consumer', 'slow_consumer');
      return false;
    }
    this.socket.send(frame, { binary: false });
    return true;
  }

  send(frame: ServerFrame): void {
    if (this.write(encodeFrame(frame))) this.#metrics.framesOut.inc({ type: frame.type });
  }

  close(code: number, reason: string, metric: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#closeReason = `${code} ${reason}`;
    this.#metrics.closes.inc({ reason: metric });
    // The close frame queues behind what is buffered; the next heartbeat terminates a socket that is
    // still not gone, so a client that stopped reading cannot hold the buffer.
    this.socket.close(code, reason);
  }

  /** Ends the socket without a close handshake (a heartbeat, or a shutdown past its grace). */
  terminate(reason: string): void {
    this.#closeReason ??= reason;
    this.socket.terminate();
  }

  /** A pong, or an application-level ping: the client is alive. */
  markAlive(): void {
    this.#alive = true;
  }

  /** One heartbeat tick: terminate what is closing or silent, close what expired, ping the rest. */
  heartbeat(at: number): HeartbeatOutcome {
    if (this.#closing) {
      this.terminate('terminated');
      return 'terminated';
    }
    if (this.expiresAt !== null && at >= this.expiresAt) {
      this.close(closeCodes.tokenExpired, 'token expired', 'token_expired');
      return 'expired';
    }
    if (!this.#alive) {
      this.#metrics.closes.inc({ reason: 'heartbeat' });
      this.#closeReason = 'heartbeat timeout';
      this.socket.terminate();
      return 'dead';
    }
    this.#alive = false;
    this.socket.ping();
    return 'pinged';
  }

  /** Counts a garbage frame; true when the socket is past its limit (and now closing with 1008). */
  countInvalidFrame(at: number): boolean {
    this.#invalidFrames = this.#invalidFrames.filter((time) => at - time < invalidWindowMs);
    this.#invalidFrames.push(at);
    if (this.#invalidFrames.length <= this.#limits.maxInvalidFrames) return false;
    this.close(closeCodes.policyViolation, 'too many invalid frames', 'garbage');
    return true;
  }

  /** Takes a slot for a frame that awaits a lookup or the sink; false when too many are in flight. */
  beginPending(): boolean {
    if (this.#pending >= maxPending) return false;
    this.#pending++;
    return true;
  }

  endPending(): void {
    this.#pending--;
  }

  addThread(tid: string): void {
    this.#threads.add(tid);
  }

  removeThread(tid: string): void {
    this.#threads.delete(tid);
  }

  /** Ends every live subscription; returns the threads it had, for the registry's index. */
  dropThreads(): string[] {
    const threads = [...this.#threads];
    this.#threads.clear();
    return threads;
  }

  /** What the gateway remembers of a message it wrote here recently. */
  sent(messageId: string): SentMessage | undefined {
    return this.#written.sent(messageId, this.serial);
  }

  hasSent(messageId: string): boolean {
    return (
      this.#written.has(messageId, this.serial) ||
      (this.#heldBack?.some((held) => held.messageId === messageId) ?? false)
    );
  }

  /** Forgets what it was written and gives up its serial; the registry calls this when the socket is gone. */
  forgetSent(): void {
    this.#written.free(this.serial);
  }

  /**
   * Writes a message frame unless this id was written recently. While the inbox is being replayed the
   * frame is held back (and counts as written): it goes out after the replay, unless the replay had it.
   */
  deliverMessage(messageId: string, frame: Buffer, sent: SentMessage): boolean {
    if (this.#heldBack) {
      if (this.#closing) return false;
      this.#heldBack.push({ messageId, frame, sent });
      return true;
    }
    if (!this.write(frame)) return false;
    this.#remember(messageId, sent);
    return true;
  }

  /** From now until `endReplay`, live message frames are held back. */
  beginReplay(): void {
    this.#heldBack = [];
  }

  /** Writes a replayed message; false when the socket cannot take it. */
  replay(messageId: string, frame: Buffer, sent: SentMessage): boolean {
    if (this.#written.has(messageId, this.serial)) return true;
    if (!this.write(frame)) return false;
    this.#remember(messageId, sent);
    this.#metrics.framesOut.inc({ type: 'message' });
    return true;
  }

  /** Writes the held-back live frames that the replay did not already write, in arrival order. */
  endReplay(replayed: ReadonlySet<string>): number {
    const held = this.#heldBack ?? [];
    this.#heldBack = null;
    let written = 0;
    for (const { messageId, frame, sent } of held) {
      if (replayed.has(messageId) || this.#written.has(messageId, this.serial)) continue;
      if (!this.write(frame)) break;
      this.#remember(messageId, sent);
      written++;
    }
    return written;
  }

  #remember(messageId: string, sent: SentMessage): void {
    this.#written.mark(messageId, this.serial, sent);
  }
}
