import type { IHeaders } from 'kafkajs';

/** Headers the runtime puts on records it sends to `<stage>.retry` and `<stage>.dlq`. */
export const failureHeader = {
  stage: 'msgxc-stage',
  errorCode: 'msgxc-error-code',
  errorMessage: 'msgxc-error-message',
  attempt: 'msgxc-attempt',
  sourceTopic: 'msgxc-source-topic',
  sourcePartition: 'msgxc-source-partition',
  sourceOffset: 'msgxc-source-offset',
  failedAt: 'msgxc-failed-at',
  retryAt: 'msgxc-retry-at',
} as const;

const runtimeHeaderNames: ReadonlySet<string> = new Set(Object.values(failureHeader));

/** Long messages (stack-like SDK errors) would bloat every dead letter; the head says what went wrong. */
export const maxErrorMessageLength = 1_000;

export interface FailureDescription {
  stage: string;
  code: string;
  message: string;
  /** How many times the record has failed, this failure included. */
  attempt: number;
  /** Where the record was first consumed from (the Kafka topic name), kept across trips through the retry topic. */
  source: { topic: string; partition: number; offset: string };
  failedAt: Date;
  /** Epoch milliseconds before which the retry topic must not hand the record back; only for retries. */
  retryAt?: number;
}

export function buildFailureHeaders(failure: FailureDescription): Record<string, string> {
  const message =
    failure.message.length > maxErrorMessageLength
      ? `${failure.message.slice(0, maxErrorMessageLength - 1)}…`
      : failure.message;
  const headers: Record<string, string> = {
    [failureHeader.stage]: failure.stage,
    [failureHeader.errorCode]: failure.code,
    [failureHeader.errorMessage]: message,
    [failureHeader.attempt]: String(failure.attempt),
    [failureHeader.sourceTopic]: failure.source.topic,
    [failureHeader.sourcePartition]: String(failure.source.partition),
    [failureHeader.sourceOffset]: failure.source.offset,
    [failureHeader.failedAt]: failure.failedAt.toISOString(),
  };
  if (failure.retryAt !== undefined) headers[failureHeader.retryAt] = String(failure.retryAt);
  return headers;
}

/**
 * The original headers (bytes untouched) with the failure headers laid over them, so a dead letter can be
 * replayed as it arrived while saying why it failed. A stale `msgxc-retry-at` from an earlier trip is dropped.
 */
export function mergeFailureHeaders(original: IHeaders | undefined, failure: Record<string, string>): IHeaders {
  const merged: IHeaders = {};
  for (const [name, value] of Object.entries(original ?? {})) {
    if (value !== undefined && !runtimeHeaderNames.has(name)) merged[name] = value;
  }
  return Object.assign(merged, failure);
}

function headerText(value: IHeaders[string]): string | undefined {
  if (value === undefined) return undefined;
  const last = Array.isArray(value) ? value[value.length - 1] : value;
  if (last === undefined) return undefined;
  return typeof last === 'string' ? last : last.toString('utf8');
}

/** Kafka headers as text, the last value winning; with `hideRuntime`, the runtime's own failure headers are left out. */
export function textHeaders(headers: IHeaders | undefined, hideRuntime = false): Record<string, string> {
  const text: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (hideRuntime && runtimeHeaderNames.has(name)) continue;
    const decoded = headerText(value);
    if (decoded !== undefined) text[name] = decoded;
  }
  return text;
}

/** What an earlier failure recorded on a record consumed from the retry topic; undefined for a fresh record. */
export interface PriorFailure {
  attempt: number;
  retryAt: number;
  source: { topic: string; partition: number; offset: string };
}

export function readPriorFailure(headers: IHeaders | undefined): PriorFailure | undefined {
  const text = textHeaders(headers);
  const attempt = Number(text[failureHeader.attempt]);
  const topic = text[failureHeader.sourceTopic];
  const partition = Number(text[failureHeader.sourcePartition]);
  const offset = text[failureHeader.sourceOffset];
  if (!Number.isInteger(attempt) || attempt < 1 || !topic || !Number.isInteger(partition) || !offset) return undefined;
  const retryAt = Number(text[failureHeader.retryAt]);
  return { attempt, retryAt: Number.isFinite(retryAt) ? retryAt : 0, source: { topic, partition, offset } };
}
