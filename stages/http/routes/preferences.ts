import { z } from 'zod';
import type { ChannelPreference } from '../../../pipeline/store/user.ts';
import type { Channel } from '../../../schemas/index.ts';
import { dependency } from '../errors.ts';
import type { AppDeps } from '../ports.ts';
import { audienceChange, traceOf, writeThenEmit } from '../requests.ts';
import type { Router } from '../router.ts';
import { channelSchema, type Validators } from '../validators.ts';

/** The caller's channel preferences, global and per thread; written like devices (Cassandra, then the change). */

const preferenceSchema = z.union([z.literal('~'), z.array(channelSchema)]);
const preferencesSchema = z
  .object({
    channels: preferenceSchema.nullable().meta({ description: 'Global preference; null = never set.' }),
    threads: z.record(z.string(), preferenceSchema),
  })
  .meta({ title: 'Preferences' });

const apiPreference = (preference: ChannelPreference | null | undefined): Channel[] | '~' | null =>
  preference === null || preference === undefined ? null : preference[0] === '~' ? '~' : (preference as Channel[]);

export function addPreferenceRoutes(router: Router, deps: AppDeps, v: Validators): void {
  const timeout = deps.limits.dependencyTimeoutMs;

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
