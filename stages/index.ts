import type { Config } from '../pipeline/config/index.ts';
import type { AnyStageDefinition, Service } from '../pipeline/runtime/index.ts';

/**
 * The stages `msgxc run <stage…|all>` knows, by name. Each entry loads its stage module only when that
 * stage runs, so one process pays only for the stages it hosts. Add a stage as ONE line:
 *   triage: () => import('./triage/index.ts').then((module) => module.stage),
 */
export const stages: Record<string, () => Promise<AnyStageDefinition>> = {
  audience: () => import('./audience/index.ts').then((module) => module.stage),
  prioritize: () => import('./prioritize/index.ts').then((module) => module.stage),
  'triage.lane4': () => import('./triage/index.ts').then((module) => module.lane4),
  'triage.lane3': () => import('./triage/index.ts').then((module) => module.lane3),
  'triage.lane2': () => import('./triage/index.ts').then((module) => module.lane2),
  'triage.lane1': () => import('./triage/index.ts').then((module) => module.lane1),
  'fanout.urgent': () => import('./fanout/index.ts').then((module) => module.urgentStage),
  fanout: () => import('./fanout/index.ts').then((module) => module.stage),
  'fanout.bulk': () => import('./fanout/index.ts').then((module) => module.bulkStage),
  ack: () => import('./ack/index.ts').then((module) => module.stage),
  gateway: () => import('./gateway/index.ts').then((module) => module.stage),
  'deliver.webpush': () => import('./deliver-webpush/index.ts').then((module) => module.stage),
  'deliver.apns': () => import('./deliver-apns/index.ts').then((module) => module.stage),
  'deliver.fcm': () => import('./deliver-fcm/index.ts').then((module) => module.stage),
};

/**
 * Long-running components that are not Kafka stages, by name: `msgxc run <name>` (and `run all`) starts them
 * beside the stages, and stops them first. Each entry loads its module only when it runs. Add one as ONE line.
 */
export const services: Record<string, (config: Config) => Promise<Service>> = {
  scheduler: (config) => import('./scheduler/index.ts').then((module) => module.createScheduler(config)),
};
