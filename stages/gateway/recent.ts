/**
 * Which sockets each recent message was written to, to drop repeats (a batch read twice, a live thread copy
 * and an addressed one) and to enrich acks. One record per message; each connection holds a small serial
 * number. A record lists the serials it was written to while they are few (a `send`), and turns into a bit
 * per socket past `sparseMembers` (a broadcast).
 *
 * A broadcast writes one id to every socket, so this runs once per delivery. Until 2026-12-02 each connection
 * kept a Map of its last 64 ids; the lookup and the update each touched that socket's own structure, 10k of
 * them spread over the heap, and cost about a tenth of the gateway's throughput against a plain send loop
 * (`npm run bench -- gateway`; a ring per socket cost as much). A record of 10k sockets takes 2 KB
 * and stays in the processor's cache for the whole batch.
 *
 * What is remembered is bounded by bytes, oldest message first: `budgetBytes` (16 MiB: about 8,000
 * broadcasts with 10k sockets, whose bits round up to 2 KB, and about 65,000 sends), never fewer than
 * `minMessages`.
 */

/** What an ack for a message written to a socket should carry. */
export interface SentMessage {
  tid: string | null;
  /** True when the user was a recipient of the batch; false for a live thread subscription's copy. */
  addressed: boolean;
}

export interface WrittenLimits {
  budgetBytes: number;
  minMessages: number;
}

export const defaultWrittenLimits: WrittenLimits = { budgetBytes: 16 * 1024 * 1024, minMessages: 256 };

/** Serials a record lists before it turns into bits. */
const sparseMembers = 32;
/** Closed connections gathered before their bits are cleared in one pass. */
const sweepAfter = 1024;
/** What a record listing serials is counted as against the budget, whatever it holds. */
const sparseBytes = 8 * sparseMembers;

interface Written {
  tid: string | null;
  /** The serials written, while they are few; null once `bits` holds them. */
  members: number[] | null;
  bits: Uint8Array | null;
  /** The serials written a live thread copy rather than an addressed one (rare, so a set). */
  live: Set<number> | null;
}

export class WrittenMessages {
  readonly #limits: WrittenLimits;
  /** In insertion order, so the first is the oldest. */
  readonly #records = new Map<string, Written>();
  #bytes = 0;
  /** Bytes a record's bits take: enough for every serial handed out. */
  #width = 16;
  #nextSerial = 0;
  readonly #freeSerials: number[] = [];
  /** Serials of closed connections whose bits are not yet cleared (see free). */
  #released: number[] = [];
  /** The record looked up last: a batch asks about one message for each of its sockets. */
  #lastId: string | undefined;
  #last: Written | undefined;

  constructor(limits: WrittenLimits = defaultWrittenLimits) {
    this.#limits = limits;
  }

  /** Messages remembered. */
  get size(): number {
    return this.#records.size;
  }

  /** A serial for a new connection; a freed one first, so the bits stay dense. */
  allocate(): number {
    const serial = this.#freeSerials.pop() ?? this.#nextSerial++;
    while (serial >= this.#width * 8) this.#width *= 2;
    return serial;
  }

  /**
   * The connection is gone. Its serial waits until `sweepAfter` have gathered, then one pass over the records
   * clears all of their bits and they are handed out again. Clearing one serial visits every record (0.1–0.4 ms
   * with 20,000–65,000 of them), which 10k sockets dropping at once would have paid 10k times; the pass took
   * 5 ms over 13,000 records, mostly sends, and 22 ms over 8,192 broadcasts to 10k sockets.
   */
  free(serial: number): void {
    this.#released.push(serial);
    if (this.#released.length >= sweepAfter) this.sweep();
  }

  /** Clears the released serials' bits from every record and hands them out again. */
  sweep(): void {
    if (this.#released.length === 0) return;
    const keep = new Uint8Array(this.#width).fill(0xff);
    for (const serial of this.#released) keep[serial >> 3]! &= ~(1 << (serial & 7));
    const kept = (serial: number) => (keep[serial >> 3]! & (1 << (serial & 7))) !== 0;
    for (const record of this.#records.values()) {
      if (record.bits !== null) {
        const bits = record.bits;
        for (let byte = 0; byte < bits.length; byte++) bits[byte]! &= keep[byte]!;
      } else if (record.members!.length > 0) record.members = record.members!.filter(kept);
      if (record.live !== null) for (const serial of this.#released) record.live.delete(serial);
    }
    this.#freeSerials.push(...this.#released);
    this.#released = [];
  }

  has(messageId: string, serial: number): boolean {
    const record = this.#find(messageId);
    return record !== undefined && holds(record, serial);
  }

  sent(messageId: string, serial: number): SentMessage | undefined {
    const record = this.#find(messageId);
    if (record === undefined || !holds(record, serial)) return undefined;
    return { tid: record.tid, addressed: !(record.live?.has(serial) ?? false) };
  }

  mark(messageId: string, serial: number, sent: SentMessage): void {
    const record = this.#find(messageId) ?? this.#create(messageId, sent.tid);
    if (record.bits !== null) this.#setBit(record, record.bits, serial);
    else {
      const members = record.members!;
      if (!members.includes(serial)) {
        if (members.length < sparseMembers) members.push(serial);
        else this.#setBit(record, this.#toBits(record), serial);
      }
    }
    if (sent.addressed) record.live?.delete(serial);
    else {
      record.live ??= new Set();
      record.live.add(serial);
    }
  }

  #setBit(record: Written, current: Uint8Array, serial: number): void {
    let bits = current;
    const byte = serial >> 3;
    if (byte >= bits.length) {
      bits = new Uint8Array(this.#width);
      bits.set(current);
      this.#bytes += bits.length - current.length;
      record.bits = bits;
    }
    bits[byte]! |= 1 << (serial & 7);
  }

  #toBits(record: Written): Uint8Array {
    const bits = new Uint8Array(this.#width);
    for (const member of record.members!) bits[member >> 3]! |= 1 << (member & 7);
    record.members = null;
    record.bits = bits;
    this.#bytes += bits.length - sparseBytes;
    return bits;
  }

  #find(messageId: string): Written | undefined {
    if (messageId === this.#lastId) return this.#last;
    const record = this.#records.get(messageId);
    if (record !== undefined) {
      this.#lastId = messageId;
      this.#last = record;
    }
    return record;
  }

  #create(messageId: string, tid: string | null): Written {
    const record: Written = { tid, members: [], bits: null, live: null };
    this.#records.set(messageId, record);
    this.#bytes += sparseBytes;
    // The evicted may be the cached record; the new one replaces it in the cache below.
    for (const [oldest, evicted] of this.#records) {
      if (this.#bytes <= this.#limits.budgetBytes || this.#records.size <= this.#limits.minMessages) break;
      this.#records.delete(oldest);
      this.#bytes -= evicted.bits?.length ?? sparseBytes;
    }
    this.#lastId = messageId;
    this.#last = record;
    return record;
  }
}

function holds(record: Written, serial: number): boolean {
  if (record.bits === null) return record.members!.includes(serial);
  const byte = serial >> 3;
  return byte < record.bits.length && (record.bits[byte]! & (1 << (serial & 7))) !== 0;
}
