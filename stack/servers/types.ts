import type { StackConfig } from '../../pipeline/config/index.ts';
import type { Java } from '../java.ts';
import type { Launch } from '../process.ts';
import type { Artifact } from '../resolve.ts';

export interface ServerContext {
  stack: StackConfig;
  java: Java;
  /** Where this server's jars live in the cache. */
  home: string;
  /** This server's data, configuration and log under the state directory. */
  dir: string;
}

export interface ServerPort {
  port: number;
  variable: string;
  /** Clients connect here (docker-compose publishes it); internal ports are false. */
  published: boolean;
}

/** One server of the local stack, declared: what to fetch, how to start it, how to tell it is healthy. */
export interface ServerDefinition {
  name: 'kafka' | 'registry' | 'cassandra' | 'opensearch' | 'connect';
  title: string;
  version: string;
  artifact: Artifact;
  heap: string;
  /** Servers that must be healthy before this one is launched (Connect needs Kafka at start-up). */
  requires?: ServerDefinition['name'][];
  ports(stack: StackConfig): ServerPort[];
  /** Writes configuration and formats storage; runs before every start, must be idempotent. */
  prepare(context: ServerContext): Promise<void>;
  launch(context: ServerContext): Omit<Launch, 'logFile' | 'pidFile'>;
  healthy(stack: StackConfig): Promise<boolean>;
  endpoint(stack: StackConfig): string;
}
