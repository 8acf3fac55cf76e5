/**
 * Delivery on every channel, provider policy written once (see README.md beside this file): a channel stage
 * is `createDeliveryStage({ channel, setup })`, where `setup` returns the channel's provider adapters
 * (contract.ts) in failover order; the Retry-After gate, adaptive rate limit, circuit breaker, failover,
 * retries through the stage's retry topic, token pruning and outcome events are applied around them here.
 */

export { type BreakerState, CircuitBreaker } from './breaker.ts';
export type { Outcome, OutcomeStatus, OutgoingMessage, ProviderAdapter } from './contract.ts';
export { attemptOf, contentFor, type DeliveryContext, deliverRecord } from './deliver.ts';
export { deliveryEvent } from './events.ts';
export { createRoute, type Route, sendOnRoute } from './failover.ts';
export { type DeliveryMetrics, deliveryMetrics } from './metrics.ts';
export { type AttemptOutcome, isProviderFault, ProviderPolicy, type ProviderPolicyOptions } from './provider-policy.ts';
export { createPruner, type Pruner } from './pruning.ts';
export { AdaptiveRateLimiter } from './rate-limit.ts';
export { parseRetryAfter, RetryAfterGate } from './retry-after.ts';
export { createRetryQueue, deliveryAttemptHeader, type ParkedBatch, type RetryQueue } from './retry-queue.ts';
export { type ChannelSetup, createDeliveryStage, type DeliveryStageOptions, type ProviderSpec } from './stage.ts';
export { ttlSecondsOf, urgencyOf } from './urgency.ts';
