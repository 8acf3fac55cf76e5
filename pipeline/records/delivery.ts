/**
 * The key of one delivery: message, user and device. The gateway writes to every live connection of a
 * user, so a ws delivery is per user and its "device" part is `ws`; device ids are opaque tokens from
 * the user store, so the last part is unambiguous even when a uid contains the separator.
 */
export function deliveryIdOf(messageId: string, uid: string, deviceId: string | null): string {
  return `${messageId}:${uid}:${deviceId ?? 'ws'}`;
}
