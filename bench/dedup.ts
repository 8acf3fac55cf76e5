import { randomBytes } from 'node:crypto';
import type { Config } from '../pipeline/config/index.ts';
import { createDedupStore } from '../pipeline/store/dedup.ts';
import { withBenchKeyspace } from './harness/keyspace.ts';

/**
 * Prioritize's de-duplication gate on the real Cassandra, per chunk of `n` requests: `admitMany` (one
 * conditional batch per shard) against its raw baseline in the same run, one lightweight transaction per
 * request (`firstSeenMany`, 32 in flight, as prioritize ran it before). Fresh request ids every round, so
 * every claim is a first sighting (the common case). A keyspace of its own, dropped at the end.
 *
 *   npm run bench -- dedup [rounds=20] [sizes=1,10,100,1000]
 */
export async function run(base: Config, args: string[]): Promise<number> {
  const options = Object.fromEntries(args.map((arg) => arg.split('=') as [string, string]));
  const rounds = Number(options.rounds ?? 20);
  const sizes = (options.sizes ?? '1,10,100,1000').split(',').map(Number);
  return withBenchKeyspace(base, 'bench_dedup', async (client) => {
    const dedup = createDedupStore(client);
    console.log(`dedup bench — ${rounds} rounds per chunk size, ms per chunk (min / median / max)`);
    for (const size of sizes) {
      const batched: number[] = [];
      const perRequest: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const ids = (tag: string) =>
          Array.from({ length: size }, (_, index) => ({
            requestId: `${tag}-${round}-${index}-${randomBytes(4).toString('hex')}`,
            origin: `ingest/${round % 6}/${index}`,
          }));
        const fresh = ids('b');
        let started = performance.now();
        await dedup.admitMany(fresh);
        batched.push(performance.now() - started);
        const raw = ids('r').map(({ requestId, origin }) => ({ requestId, claimant: origin }));
        started = performance.now();
        await dedup.firstSeenMany(raw, { concurrency: 32 });
        perRequest.push(performance.now() - started);
      }
      console.log(
        `  n=${String(size).padStart(4)}  admitMany ${spread(batched)}   per-request LWT (raw) ${spread(perRequest)}`,
      );
    }
    return 0;
  });
}

function spread(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(1);
  return `${at(0)} / ${at(0.5)} / ${at(0.999)} ms`;
}
