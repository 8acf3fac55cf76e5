import type { Outcome } from './contract.ts';

/** What an AWS SDK v3 error says, read once for every AWS adapter (SES, SNS). */
export interface AwsFailure {
  /** AWS's error name (e.g. ThrottlingException), or undefined for a network error. */
  name: string | undefined;
  /** The HTTP status code for a 5xx (so the breaker sees a provider fault), else the error name or socket code. */
  providerCode: string;
  detail: string | undefined;
  /** True for 429 and the given throttling error names. */
  throttled: boolean;
}

export function readAwsError(error: unknown, throttleNames: readonly string[]): AwsFailure {
  const { name, message, $metadata } = error as {
    name?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const status = $metadata?.httpStatusCode;
  const providerCode =
    status !== undefined && status >= 500
      ? String(status)
      : name && name !== 'Error'
        ? name
        : ((error as { code?: string }).code ?? 'NETWORK');
  return {
    name,
    providerCode,
    detail: message?.slice(0, 300),
    throttled: status === 429 || (name !== undefined && throttleNames.includes(name)),
  };
}

/** A throttled outcome honouring the response's Retry-After (seconds), else `defaultMs`. */
export function awsThrottled(error: unknown, failure: AwsFailure, defaultMs: number): Omit<Outcome, 'deliveryId'> {
  const seconds = Number(
    (error as { $response?: { headers?: Record<string, string> } }).$response?.headers?.['retry-after'],
  );
  return {
    status: 'throttled',
    providerCode: failure.providerCode,
    retryAfterMs: seconds > 0 ? seconds * 1000 : defaultMs,
    detail: failure.detail,
  };
}
