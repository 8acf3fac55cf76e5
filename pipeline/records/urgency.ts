/** The urgency used when neither the request nor its thread names one (RFC 8030 "normal"). */
export const DEFAULT_URGENCY = 3;

/**
 * The one urgency rule, used by prioritize (lane choice) and triage (the stored message): the request's own
 * urgency wins, else the thread's default, else `fallback`; the result is clamped to 1–4.
 */
export function resolveUrgency(
  requested: number | null | undefined,
  threadDefault: number | null | undefined,
  fallback: number = DEFAULT_URGENCY,
): number {
  const urgency = requested ?? threadDefault ?? fallback;
  return Math.min(4, Math.max(1, Math.trunc(urgency)));
}
