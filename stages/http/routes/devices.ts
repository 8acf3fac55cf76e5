import { z } from 'zod';
import {
  DEVICE_CHANNELS,
  deviceFromEnlist,
  deviceId,
  type EnlistResult,
  type Device as StoredDevice,
} from '../../../pipeline/store/user.ts';
import type { Device } from '../../../schemas/index.ts';
import { dependency, notFound } from '../errors.ts';
import type { AppDeps } from '../ports.ts';
import { audienceChange, traceOf, writeThenEmit } from '../requests.ts';
import type { Router } from '../router.ts';
import { parseDevice, type Validators } from '../validators.ts';

/**
 * The caller's devices: enlist (an iOS token, an Android token or a Web Push subscription), list, remove.
 * Tokens and subscription keys are never shown back: they are credentials for pushing to the user. Writes
 * follow one rule: Cassandra first, then the audience change, undone if Kafka refuses it.
 */

const yes = { 200: { description: 'Done (durable).', schema: z.literal(true) } };

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

const deviceJson = (device: StoredDevice) => ({
  channel: device.channel,
  id: device.id,
  platform: device.platform,
  endpointOrigin: device.subscription === null ? null : new URL(device.subscription.endpoint).origin,
  addedAt: device.addedAt.toISOString(),
});

export function addDeviceRoutes(router: Router, deps: AppDeps, v: Validators): void {
  const timeout = deps.limits.dependencyTimeoutMs;

  router.add(
    {
      method: 'post',
      path: '/api/v1/enlist',
      operationId: 'enlist',
      summary: 'Enlist a device: an iOS token, an Android token or a Web Push subscription.',
      description:
        'Re-enlisting the same token is idempotent and moves it first. Web Push endpoints must be https and public.',
      tags: ['seed'],
      access: 'user',
      body: v.enlist,
      parseBody: (value) => parseDevice(v, value),
      idempotent: true,
      responses: yes,
    },
    async ({ c, principal, body, log }) => {
      if ('endpoint' in body) await deps.endpointGuard.check(body.endpoint);
      const input = deviceFromEnlist(body);
      const device: Device = {
        channel: input.channel,
        id: deviceId(input),
        token: 'token' in input ? input.token : null,
        subscription: 'subscription' in input ? input.subscription : null,
        address: null,
        platform: input.platform ?? null,
      };
      const now = deps.clock();
      const trace = traceOf(c);
      await writeThenEmit<EnlistResult>(deps, log, {
        change: audienceChange('enlist_device', principal.uid, now, trace, { device }),
        write: () => deps.users.enlistDevice(principal.uid, input, new Date(now)),
        // The token moved from another user: their index entry loses it.
        more: (result) =>
          result.previousOwner === null
            ? []
            : [audienceChange('remove_device', result.previousOwner, now, trace, { device })],
        undo: async (result) => {
          if (result.previousOwner !== null) await deps.users.enlistDevice(result.previousOwner, input);
          else if (result.created) await deps.users.removeDevice(principal.uid, input.channel, device.id);
        },
      });
      return true;
    },
  );

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
}
