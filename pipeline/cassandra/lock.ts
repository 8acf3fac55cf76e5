import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'cassandra-driver';
import { MsgxcError } from '../errors/index.ts';
import type { Logger } from '../log/index.ts';
import { cassandraError } from './errors.ts';

export interface HeldLock {
  readonly owner: string;
  /** Throws MIGRATION_LOCK_LOST when a renewal found the lock gone or taken over. */
  assertHeld(): void;
  release(): Promise<void>;
}

export interface LockOptions {
  /** The lock row expires this long after its last renewal, so a crashed holder frees it. */
  ttlSeconds: number;
  /** How long to wait for another holder before giving up. */
  waitMs: number;
  log: Logger;
}

/**
 * A lease on one row of `schema_lock`, taken with a lightweight transaction (`IF NOT EXISTS`) and
 * renewed (`IF owner = ?`) every third of its TTL. Two processes can never both hold it: Paxos
 * orders the inserts, and a holder that misses its renewals notices before its next step.
 */
export async function acquireLock(
  client: Client,
  name: string,
  owner: string,
  options: LockOptions,
): Promise<HeldLock> {
  const deadline = Date.now() + options.waitMs;
  let attempt = 0;
  let reportedHolder: string | undefined;
  for (;;) {
    const result = await client
      .execute('INSERT INTO schema_lock (name, owner, acquired_at) VALUES (?, ?, ?) IF NOT EXISTS USING TTL ?', [
        name,
        owner,
        new Date(),
        options.ttlSeconds,
      ])
      .catch((error: unknown) => {
        throw cassandraError(error, 'take the migration lock');
      });
    if (result.wasApplied()) break;
    const holder = String(result.first()?.get('owner') ?? 'unknown');
    // An unknown-outcome LWT retried by us finds our own row: that is a success.
    if (holder === owner) break;
    if (holder !== reportedHolder) {
      options.log.info({ lock: name, holder }, 'waiting for the migration lock held by another run');
      reportedHolder = holder;
    }
    if (Date.now() >= deadline) {
      throw new MsgxcError('MIGRATION_LOCK_TIMEOUT', `the ${name} lock is still held by ${holder}`, {
        retriable: true,
        status: 503,
      });
    }
    attempt += 1;
    await sleep(Math.min(2_000, 100 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random() / 2));
  }

  let lost: Error | undefined;
  const renew = async () => {
    try {
      const result = await client.execute(
        'UPDATE schema_lock USING TTL ? SET owner = ?, acquired_at = ? WHERE name = ? IF owner = ?',
        [options.ttlSeconds, owner, new Date(), name, owner],
      );
      if (!result.wasApplied()) lost = new MsgxcError('MIGRATION_LOCK_LOST', `the ${name} lock expired or was taken`);
    } catch (error) {
      // One failed renewal is not yet a lost lock; the TTL leaves two more chances.
      options.log.warn({ lock: name, err: error }, 'renewing the migration lock failed');
    }
  };
  const timer = setInterval(() => void renew(), Math.max(1_000, (options.ttlSeconds * 1_000) / 3));
  timer.unref();

  return {
    owner,
    assertHeld() {
      if (lost) throw lost;
    },
    async release() {
      clearInterval(timer);
      await client
        .execute('DELETE FROM schema_lock WHERE name = ? IF owner = ?', [name, owner])
        .catch((error: unknown) => options.log.warn({ lock: name, err: error }, 'releasing the migration lock failed'));
    },
  };
}
