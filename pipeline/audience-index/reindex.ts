import type { Config } from '../config/index.ts';
import { permanent } from '../errors/index.ts';
import { createLogger, type Logger } from '../log/index.ts';
import { type AudienceIndex, createAudienceIndex, NEXT_ALIAS_TTL_MS } from './index.ts';
import { audienceAlias, audienceMappings, audienceSettings, nextAlias, rebuildIndexName } from './mapping.ts';
import type { AudienceSnapshot } from './types.ts';

/**
 * Rebuilds the audience index from the source of truth without stopping the audience stage:
 *
 * 1. create a fresh index and point the `-next` alias at it: from then on every writer (after its
 *    alias cache expires, hence the settle wait) applies live changes to the new index as well;
 * 2. stream every user from the source as a snapshot dated a little before it was read, merged (not
 *    overwritten) into the new index, so a live change already applied there and newer than the read
 *    survives, and a change older than the read that arrives late cannot undo it;
 * 3. refresh, then move the live alias to the new index and drop `-next` in one atomic alias update.
 *
 * Old indices are kept unless asked otherwise: a fanout walk may still hold a point in time on them.
 */
export interface AudienceSource {
  /** How many users there are (for progress); an estimate is fine. */
  count(): Promise<number>;
  /** Every user, a batch at a time; each snapshot's `updatedAt` is when it was read. */
  snapshots(): AsyncIterable<AudienceSnapshot[]>;
  close?(): Promise<void>;
}

export interface RebuildOptions {
  /** How long to wait after creating `-next` before reading, so every writer has noticed it. */
  settleMs?: number;
  /** Delete the indices the alias pointed at before the swap. */
  deleteOld?: boolean;
  /** Replace a `-next` alias left by an earlier rebuild that did not finish. */
  force?: boolean;
  onProgress?: (done: number, total: number) => void;
  log?: Logger;
  index?: AudienceIndex;
}

export interface RebuildResult {
  index: string;
  previous: string[];
  users: number;
  deleted: string[];
}

export async function rebuildAudienceIndex(
  config: Config,
  source: AudienceSource,
  options: RebuildOptions = {},
): Promise<RebuildResult> {
  const log = options.log ?? createLogger(config, 'reindex');
  const audience = options.index ?? createAudienceIndex(config, { log });
  const { adapter } = audience;
  const alias = audienceAlias(config);
  const next = nextAlias(config);
  try {
    const unfinished = await adapter.aliasTargets(next);
    if (unfinished.length > 0) {
      if (!options.force) {
        throw permanent(
          'REINDEX_IN_PROGRESS',
          `${next} points at ${unfinished.join(', ')}: another rebuild is running or one stopped half-way (--force replaces it)`,
        );
      }
      await adapter.updateAliases(unfinished.map((index) => ({ remove: { index, alias: next } })));
      for (const index of unfinished) await adapter.deleteIndex(index);
      log.warn({ indices: unfinished }, 'removed an unfinished rebuild');
    }

    const index = rebuildIndexName(config);
    await adapter.createIndex(index, {
      settings: audienceSettings(config),
      mappings: audienceMappings,
      aliases: [next],
    });
    log.info({ index, alias: next }, 'created the new audience index; waiting for writers to notice it');
    await sleep(options.settleMs ?? 2 * NEXT_ALIAS_TTL_MS);

    let users = 0;
    try {
      const total = await source.count();
      options.onProgress?.(0, total);
      for await (const snapshots of source.snapshots()) {
        await audience.upsertMany(snapshots, { index });
        users += snapshots.length;
        options.onProgress?.(users, Math.max(total, users));
      }
      await adapter.refresh(index);
    } catch (error) {
      // Leave the live index as it was and stop writers from feeding a rebuild nobody will finish.
      await adapter.updateAliases([{ remove: { index, alias: next } }]);
      await adapter.deleteIndex(index);
      throw error;
    }

    const previous = (await adapter.aliasTargets(alias)).filter((target) => target !== index);
    await adapter.updateAliases([
      ...previous.map((old) => ({ remove: { index: old, alias } })),
      { add: { index, alias } },
      { remove: { index, alias: next } },
    ]);
    log.info({ index, previous, users }, 'the audience alias now points at the rebuilt index');

    const deleted: string[] = [];
    if (options.deleteOld) {
      for (const old of previous) {
        await adapter.deleteIndex(old);
        deleted.push(old);
      }
    }
    return { index, previous, users, deleted };
  } finally {
    if (!options.index) await audience.close();
  }
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
