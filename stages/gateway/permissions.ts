import type { Thread, ThreadStore } from '../../pipeline/store/index.ts';

/**
 * Who may read a thread, and so live-subscribe to it or mark it read over the gateway: its owner, its
 * admins and publishers, anyone when it is open to subscription, and its subscribers. (Platform admins
 * and services are let through by the gateway before this is asked.) An unknown thread is unreadable.
 */
export function mayReadThread(thread: Thread, uid: string): boolean {
  return thread.openSubscribe || thread.owner === uid || thread.admins.includes(uid) || thread.publishers.includes(uid);
}

export function createThreadReadPermission(threads: Pick<ThreadStore, 'getThread' | 'isSubscribed'>) {
  return async (uid: string, tid: string): Promise<boolean> => {
    const thread = await threads.getThread(tid);
    if (!thread) return false;
    return mayReadThread(thread, uid) || (await threads.isSubscribed(tid, uid));
  };
}
