import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/index.ts';
import { defineStage } from './run-stages.ts';
import { StageTopics } from './stage-topics.ts';

const config = parseConfig({ MSGXC_TOPIC_PREFIX: 'p.' });
const stage = (name: string, input: string[]) => defineStage({ name, input, output: [], handler: async () => [] });

describe('stage feeds', () => {
  it('reads urgency 4’s own topics with a consumer of their own, the rest and the retry topic with the main one', () => {
    const topics = new StageTopics(config, stage('deliver.apns', ['deliver.apns.urgent', 'deliver.apns']), true);
    expect(topics.feeds).toEqual([
      { groupSuffix: '.urgent', topics: ['p.msgxc.deliver.apns.urgent'] },
      { groupSuffix: '', topics: ['p.msgxc.deliver.apns', 'p.msgxc.deliver.apns.retry'] },
    ]);
  });

  it('keeps one consumer when every input has the same urgency', () => {
    expect(new StageTopics(config, stage('triage.lane4', ['lane.4']), true).feeds).toEqual([
      { groupSuffix: '', topics: ['p.msgxc.lane.4', 'p.msgxc.triage.lane4.retry'] },
    ]);
    expect(new StageTopics(config, stage('ack', ['acks', 'checkins', 'events']), false).feeds).toEqual([
      { groupSuffix: '', topics: ['p.msgxc.acks', 'p.msgxc.checkins', 'p.msgxc.events'] },
    ]);
  });
});
