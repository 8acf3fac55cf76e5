import { z } from 'zod';
import { type ChannelPreference, DEVICE_CHANNELS, type Device as StoredDevice } from '../../../pipeline/store/user.ts';
import type { Channel } from '../../../schemas/index.ts';
import { dependency, notFound } from '../errors.ts';
import type { AppDeps } from '../ports.ts';
import { audienceChange, traceOf, writeThenEmit } from '../requests.ts';
import type { Router } from '../router.ts';
import { channelSchema, type Validators } from '../validators.ts';

/**
 * The caller's own devices and channel preferences. Tokens and subscription keys are never shown back:
 * they are credentials for pushing to the user. Writes follow the enlist rule: Cassandra first, then the
 * audience change, undone if Kafka refuses it.
 */

const deviceParams = z.strictObject({
  channel: z.enum(DEVICE_CHANNELS),
  id: z.string().regex(/^[0-9a-f]{32}$/, 'a device id is 32 hex digits'),
});

const deviceSchema = z
  .object({
    channel: z.enum(DEVICE_CHANNELS),
    id: z.string(),
    platform: z.string().nullable(),
    endpointOrigin: z.string().nullable().meta({ description: 'For Web Push: the push service origin.' }),
    addedAt: z.iso.datetime(),
  })
  .meta({ title: 'Device' });

const preferenceSchema = z.union([z.literal('~'), z.array(channelSchema)]);
const preferencesSchema = z
  .object({
    channels: preferenceSchema.nullable().meta({ description: 'Global preference; null = never set.' }),
    threads: z.record(z.string(), preferenceSchema),
  })
  .meta({ title: 'Preferences' });

const apiPreference = (preference: ChannelPreference | null | undefined): Channel[] | '~' | null =>
  preference === null || preference === undefined ? null : preference[0] === '~' ? '~' : (preference as Channel[]);

const deviceJson = (device: StoredDevice) => ({
  channel: device.channel,
  id: device.id,
  platform: device.platform,
  endpointOrigin: device.subscription === null ? null : new URL(device.subscription.endpoint).origin,
  addedAt: device.addedAt.toISOString(),
});

export function addUserRoutes(router: Router, deps: AppDeps, v: Validators): void {
  const timeout = deps.limits.dependencyTimeoutMs;

  router.add(
    {
      method: 'get',
      path: '/api/v1/devices',
      operationId: 'listDevices',
      summary: "The caller's devices, newest first.",
      tags: ['devices'],
      access: 'user',
      responses: { 200: { description: 'The devices.', schema: z.array(deviceSchema) } },
    },
    async ({ principal }) => {
      const devices = await dependency('cassandra', timeout, () => deps.users.devicesOf(principal.uid));
      return devices.sort((a, b) => b.addedAt.getTime() - a.addedAt.getTime()).map(deviceJson);
    },
  );

  router.add(
    {
      method: 'delete',
      path: '/api/v1/devices/:channel/:id',
      operationId: 'removeDevice',
      summary: 'Remove one of the caller’s devices.',
      tags: ['devices'],
      access: 'user',
      params: deviceParams,
      responses: { 200: { description: 'Removed.', schema: z.literal(true) }, 404: { description: 'No such device.' } },
    },
    async ({ c, principal, params, log }) => {
      const devices = await dependency('cassandra', timeout, () => deps.users.devicesOf(principal.uid, params.channel));
      const device = devices.find((candidate) => candidate.id === params.id);
      if (device === undefined) throw notFound('device');
      const { addedAt: _addedAt, ...avroDevice } = device;
      await writeThenEmit<boolean>(deps, log, {
        change: audienceChange('remove_device', principal.uid, deps.clock(), traceOf(c), { device: avroDevice }),
        write: () => deps.users.removeDevice(principal.uid, params.channel, params.id),
        undo: async (removed) => {
          if (!removed) return;
          const input =
            device.subscription !== null
              ? { channel: 'webpush' as const, subscription: device.subscription, platform: device.platform }
              : device.token !== null && (device.channel === 'apns' || device.channel === 'fcm')
                ? { channel: device.channel, token: device.token, platform: device.platform }
                : null;
          if (input !== null) await deps.users.enlistDevice(principal.uid, input, device.addedAt);
        },
      });
      return true;
    },
  );

  router.add(
    {
      method: 'get',
      path: '/api/v1/preferences',
      operationId: 'getPreferences',
      summary: 'The caller\'s channel preferences: global and per thread; "~" = nothing.',
      tags: ['preferences'],
      access: 'user',
      responses: { 200: { description: 'The preferences.', schema: preferencesSchema } },
    },
    async ({ principal }) => {
      const stored = await dependency('cassandra', timeout, () => deps.users.preferencesOf(principal.uid));
      return {
        channels: apiPreference(stored.global),
        threads: Object.fromEntries(
          Object.entries(stored.threads).map(([tid, preference]) => [tid, apiPreference(preference)]),
        ),
      };
    },
  );

  router.add(
    {
      method: 'put',
      path: '/api/v1/preferences',
      operationId: 'setPreferences',
      summary: 'Set the caller’s channel preferences, globally or for one thread.',
      description: '`channels`: the accepted channels in order, `"~"` for nothing, `[]` to clear (no restriction).',
      tags: ['preferences'],
      access: 'user',
      body: v.preferences,
      idempotent: true,
      responses: { 200: { description: 'Stored.', schema: z.literal(true) } },
    },
    async ({ c, principal, body, log }) => {
      const tid = body.tid ?? null;
      const optOut = body.channels === '~';
      const channels: Channel[] = optOut ? [] : (body.channels as Channel[]);
      const stored = optOut ? ['~'] : channels.length === 0 ? null : channels;
      const now = deps.clock();
      const before = await dependency('cassandra', timeout, () => deps.users.preferencesOf(principal.uid));
      const previous = tid === null ? before.global : (before.threads[tid] ?? null);
      await writeThenEmit<void>(deps, log, {
        change: audienceChange('preferences', principal.uid, now, traceOf(c), {
          preferences: { tid, channels, optOut },
        }),
        write: () => deps.users.setPreferences(principal.uid, stored, tid ?? undefined, new Date(now)),
        undo: () => deps.users.setPreferences(principal.uid, previous, tid ?? undefined),
      });
      return true;
    },
  );
}
