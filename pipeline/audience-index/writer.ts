import { MsgxcError } from '../errors/index.ts';
import type { BulkItemResult, BulkOperation, SearchAdapter } from './adapters/types.ts';
import { bucketOf } from './bucket.ts';
import type { ScriptInput } from './changes.ts';
import { type DeviceSecrets, sealScriptInput } from './device-secrets.ts';
import { APPLY_SCRIPT, CLOCK_RETENTION_MS, MAX_DEVICES_PER_CHANNEL } from './script.ts';

export interface WriteSummary {
  /** Documents created or changed. */
  applied: number;
  /** Writes that found the document already as they would leave it (repeats, late changes). */
  unchanged: number;
}

/** Writes per bulk request. */
const BULK_CHUNK = 500;

/**
 * The audience write path: scripted upserts through the live alias and, while a rebuild runs, its `-next`
 * alias (whose existence is cached for `nextTtl` ms). `target` writes into one concrete index instead.
 */
export function createAudienceWriter(
  adapter: SearchAdapter,
  alias: string,
  next: string,
  nextTtl: number,
  secrets: DeviceSecrets,
) {
  let nextKnown: { exists: boolean; until: number } | undefined;

  async function nextAliasExists(): Promise<boolean> {
    if (nextKnown && nextKnown.until > Date.now()) return nextKnown.exists;
    const exists = (await adapter.aliasTargets(next)).length > 0;
    nextKnown = { exists, until: Date.now() + nextTtl };
    return exists;
  }

  function updateOperation(index: string, input: ScriptInput): BulkOperation {
    const bucket = bucketOf(input.uid);
    return {
      op: 'update',
      index,
      id: input.uid,
      script: {
        source: APPLY_SCRIPT,
        params: { ...input, bucket, maxDevices: MAX_DEVICES_PER_CHANNEL, retention: CLOCK_RETENTION_MS },
      },
      upsert: { uid: input.uid, bucket },
      retryOnConflict: 5,
    };
  }

  async function write(inputs: readonly ScriptInput[], target?: string): Promise<WriteSummary> {
    const summary: WriteSummary = { applied: 0, unchanged: 0 };
    const targets = target ? [target] : (await nextAliasExists()) ? [alias, next] : [alias];
    for (let start = 0; start < inputs.length; start += BULK_CHUNK) {
      // Device tokens and Web Push keys are sealed before they leave the process.
      const chunk = inputs.slice(start, start + BULK_CHUNK).map((input) => sealScriptInput(input, secrets));
      const operations = chunk.flatMap((input) => targets.map((index) => updateOperation(index, input)));
      const items = await adapter.bulk(operations, { requireAlias: !target });
      const failures: { item: BulkItemResult; index: string }[] = [];
      items.forEach((item, position) => {
        const index = operations[position]?.index ?? '';
        if (item.error) {
          // The rebuild finished (or was abandoned) since the alias was looked up: nothing to keep in step.
          if (index === next && item.error.type === 'index_not_found_exception') nextKnown = undefined;
          else failures.push({ item, index });
        } else if (index === targets[0]) {
          if (item.result === 'noop') summary.unchanged += 1;
          else summary.applied += 1;
        }
      });
      if (failures.length > 0) throw bulkFailure(failures);
    }
    return summary;
  }

  return write;
}

/** Overload, conflicts that outlived retry_on_conflict and a missing index can pass; anything else will not. */
function bulkFailure(failures: { item: BulkItemResult; index: string }[]): MsgxcError {
  const retriable = failures.some(
    ({ item }) =>
      item.status === 429 ||
      item.status >= 500 ||
      item.error?.type === 'version_conflict_engine_exception' ||
      item.error?.type === 'index_not_found_exception',
  );
  const first = failures[0]!;
  return new MsgxcError(
    retriable ? 'AUDIENCE_INDEX_UNAVAILABLE' : 'AUDIENCE_INDEX_REJECTED',
    `${failures.length} audience write(s) failed, first ${first.item.id} on ${first.index}: ` +
      `${first.item.error?.type}: ${first.item.error?.reason}`,
    {
      retriable,
      details: {
        failures: failures.slice(0, 20).map(({ item, index }) => ({
          uid: item.id,
          index,
          status: item.status,
          type: item.error?.type,
        })),
      },
    },
  );
}
