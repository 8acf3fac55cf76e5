import { Counter } from 'prom-client';
import { type AudienceIndex, createAudienceIndex } from '../../pipeline/audience-index/index.ts';
import { registry } from '../../pipeline/metrics/index.ts';
import { defineStage } from '../../pipeline/runtime/index.ts';
import type { AudienceChange } from '../../schemas/types.generated.ts';

/**
 * Applies audience changes to the audience index, a batch per bulk request, in partition order (the
 * topic is keyed by uid, so one user's changes arrive in the order they were made).
 *
 * Cassandra is not written here. Every AudienceChange is emitted after its producer wrote Cassandra
 * (the schema's contract; the HTTP facade does so), and the stores' writes are not timestamped with
 * the change's `at` (only `touchUser` is): re-applying a change that arrives late from the retry topic
 * would put an older state back into the source of truth. The index, whose writes are ordered per
 * element by `at`, is the only place where a late or repeated change is harmless.
 *
 * A malformed change fails permanently and the runtime bisects the batch down to it (dead letter);
 * an engine outage fails retriably and the whole batch is applied again later, which is idempotent.
 */
interface AudienceStageDeps {
  index: AudienceIndex;
}

const changesSeen = new Counter({
  name: 'msgxc_audience_changes_total',
  help: 'Audience changes consumed, by type.',
  labelNames: ['type'],
  registers: [registry],
});

const documentWrites = new Counter({
  name: 'msgxc_audience_writes_total',
  help: 'Audience index writes: "applied" changed a document, "unchanged" was a repeat or older than the document.',
  labelNames: ['result'],
  registers: [registry],
});

export const stage = defineStage<AudienceChange, AudienceStageDeps>({
  name: 'audience',
  input: ['audience'],
  output: [],
  async setup(config, log) {
    const index = createAudienceIndex(config, { log: log.child({ component: 'audience-index' }) });
    await index.ensureIndex();
    return { index, close: () => index.close() };
  },
  async handler(batch, { deps, log }) {
    const changes = batch.map((record) => record.value);
    const summary = await deps.index.applyChanges(changes);
    for (const change of changes) changesSeen.inc({ type: change.type });
    documentWrites.inc({ result: 'applied' }, summary.applied);
    documentWrites.inc({ result: 'unchanged' }, summary.unchanged);
    log.debug({ changes: changes.length, ...summary }, 'applied audience changes');
    return [];
  },
});
