import type { Thread } from '../../pipeline/store/thread-types.ts';

/** A thread for tests: every setting not given is the default a new thread gets. */
export function thread(fields: Partial<Thread> & Pick<Thread, 'tid' | 'owner'>): Thread {
  return {
    name: null,
    alias: null,
    admins: [],
    publishers: [],
    openSubscribe: false,
    openPublish: false,
    channelTypes: [],
    urgency: null,
    experiment: null,
    createdAt: new Date(0),
    updatedAt: new Date(0),
    ...fields,
  };
}
