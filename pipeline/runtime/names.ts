import type { Config } from '../config/index.ts';
import { hasTopic, topicName, topicSpec } from '../topics/index.ts';

export { topicName as kafkaTopicName };

export const retryTopic = (stage: string) => `${stage}.retry`;
export const deadLetterTopic = (stage: string) => `${stage}.dlq`;

const day = 86_400_000;

/** Partitions and retention of a retry or dead-letter topic: the topology's row, or defaults for stages not in it. */
export function failureTopicLayout(
  logical: string,
  inputPartitions: number,
): { partitions: number; retentionMs: number } {
  if (hasTopic(logical)) {
    const spec = topicSpec(logical);
    return { partitions: spec.partitions, retentionMs: spec.retentionMs };
  }
  return { partitions: inputPartitions, retentionMs: (logical.endsWith('.dlq') ? 30 : 7) * day };
}

export function groupIdFor(config: Config, stage: string, mode: 'shared' | 'per-instance', instance: string): string {
  const base = `${config.kafka.topicPrefix}msgxc.${stage}`;
  return mode === 'shared' ? base : `${base}.${instance}`;
}
