import type { Config } from '../pipeline/config/index.ts';
import { MsgxcError } from '../pipeline/errors/index.ts';
import type { Logger } from '../pipeline/log/index.ts';
import { connectorConfig, connectorName, loadSinks, type SinkDeclaration } from './declarations.ts';
import { type ConnectorStatus, connectorStatus, deleteConnector, putConnectorConfig } from './rest.ts';

export {
  connectorConfig,
  connectorName,
  deadLetterTopic,
  loadSinks,
  registryV2Url,
  type SinkDeclaration,
} from './declarations.ts';
export { type ConnectorStatus, connectorStatus, deleteConnector, listConnectors } from './rest.ts';

type ConnectConfig = Pick<Config, 'kafka' | 'registry' | 'cassandra' | 'connect'>;

export interface ApplyOptions {
  sinks?: SinkDeclaration[];
  log?: Pick<Logger, 'info'>;
  /** How long to wait for every connector and task to be RUNNING. */
  timeoutMs?: number;
  /** Connect settings laid over every declaration's (e.g. consumer.override.max.poll.records). */
  overrides?: Record<string, string>;
}

const sleep = (ms: number) => new Promise<void>((resolvePromise) => setTimeout(resolvePromise, ms));

/**
 * Creates or updates every declared sink on the Connect cluster and waits until each connector and
 * all its tasks run. Idempotent: applying the same declarations again leaves the connectors as they are.
 */
export async function applyConnectors(config: ConnectConfig, options: ApplyOptions = {}): Promise<ConnectorStatus[]> {
  const sinks = options.sinks ?? loadSinks();
  const timeoutMs = options.timeoutMs ?? 180_000;
  for (const sink of sinks) {
    const name = connectorName(config, sink);
    const settings = { ...connectorConfig(config, sink), ...options.overrides };
    const outcome = await retryWhileRetriable(() => putConnectorConfig(config.connect.url, name, settings), timeoutMs);
    options.log?.info({ connector: name, table: sink.table }, `connector ${outcome}`);
  }
  return Promise.all(sinks.map((sink) => waitUntilRunning(config, connectorName(config, sink), timeoutMs)));
}

/**
 * A worker that is starting or rebalancing answers 409 or 5xx, or not at all, for a while: a PUT is
 * idempotent, so it is simply sent again until the deadline. A refusal (400) ends at once.
 */
async function retryWhileRetriable<T>(work: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof MsgxcError && error.retriable) || Date.now() > deadline) throw error;
      await sleep(1000);
    }
  }
}

/** Polls the connector's status until it and tasks.max tasks are RUNNING; a FAILED task ends the wait with its trace. */
export async function waitUntilRunning(
  config: Pick<Config, 'connect'>,
  name: string,
  timeoutMs: number,
): Promise<ConnectorStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: ConnectorStatus | undefined;
  while (Date.now() < deadline) {
    last = await connectorStatus(config.connect.url, name);
    const failed = last && [last.connector, ...last.tasks].find((part) => part.state === 'FAILED');
    if (failed) {
      throw new MsgxcError('CONNECTOR_FAILED', `connector ${name} failed: ${failed.trace?.split('\n')[0] ?? ''}`, {
        details: { trace: failed.trace },
      });
    }
    const running =
      last?.connector.state === 'RUNNING' &&
      last.tasks.length > 0 &&
      last.tasks.every((task) => task.state === 'RUNNING');
    if (running && last) return last;
    await sleep(500);
  }
  throw new MsgxcError('CONNECTOR_NOT_RUNNING', `connector ${name} not RUNNING within ${timeoutMs / 1000}s`, {
    retriable: true,
    details: { status: last },
  });
}

export async function removeConnectors(config: ConnectConfig, sinks = loadSinks()): Promise<void> {
  for (const sink of sinks) await deleteConnector(config.connect.url, connectorName(config, sink));
}
