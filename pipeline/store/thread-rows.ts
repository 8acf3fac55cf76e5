import type { Channel } from './shared.ts';
import { date, list, type Row, text } from './shared.ts';
import {
  completeExperiment,
  type Experiment,
  type ExperimentVariant,
  type Thread,
  type ThreadPatch,
} from './thread-types.ts';

export const threadColumns =
  'tid, name, alias, owner, admins, publishers, open_subscribe, open_publish, channel_types, urgency, ' +
  'experiment_id, experiment_variants, created_at, updated_at';

/** Column values for the fields present in `fields` (absent fields are not written). */
export function threadValues(fields: ThreadPatch): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  if (fields.name !== undefined) values.name = fields.name;
  if (fields.alias !== undefined) values.alias = fields.alias;
  if (fields.admins !== undefined) values.admins = fields.admins;
  if (fields.publishers !== undefined) values.publishers = fields.publishers;
  if (fields.openSubscribe !== undefined) values.open_subscribe = fields.openSubscribe;
  if (fields.openPublish !== undefined) values.open_publish = fields.openPublish;
  if (fields.channelTypes !== undefined) values.channel_types = fields.channelTypes;
  if (fields.urgency !== undefined) values.urgency = fields.urgency;
  if (fields.experiment !== undefined) {
    values.experiment_id = fields.experiment?.id ?? null;
    values.experiment_variants = fields.experiment ? completeExperiment(fields.experiment).variants : null;
  }
  return values;
}

export function toThread(row: Row): Thread {
  const experimentId = text(row, 'experiment_id');
  const variants = (row.get('experiment_variants') as Record<string, unknown>[] | null) ?? [];
  const experiment: Experiment | null =
    experimentId === null
      ? null
      : {
          id: experimentId,
          variants: variants.map(
            (variant): ExperimentVariant => ({
              name: variant.name as string,
              weight: variant.weight as number,
              uids: (variant.uids as string[] | null) ?? null,
              subject: (variant.subject as string | null) ?? null,
              msg: (variant.msg as string | null) ?? null,
              channels: (variant.channels as Channel[] | null) ?? null,
            }),
          ),
        };
  return {
    tid: row.get('tid') as string,
    name: text(row, 'name'),
    alias: text(row, 'alias'),
    owner: row.get('owner') as string,
    admins: list(row, 'admins'),
    publishers: list(row, 'publishers'),
    openSubscribe: (row.get('open_subscribe') as boolean | null) ?? false,
    openPublish: (row.get('open_publish') as boolean | null) ?? false,
    channelTypes: list(row, 'channel_types') as Channel[],
    urgency: (row.get('urgency') as number | null) ?? null,
    experiment,
    createdAt: date(row, 'created_at') as Date,
    updatedAt: date(row, 'updated_at') as Date,
  };
}
