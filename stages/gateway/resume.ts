import type { Logger } from '../../pipeline/log/index.ts';
import type { InboxPage } from '../../pipeline/store/inbox.ts';
import type { Connection } from './connection.ts';
import { messageFrame } from './deliver.ts';
import { closeCodes, encodeFrame } from './protocol.ts';

/**
 * Resume: a client that reconnects with the last message id it saw gets what the inbox holds after it,
 * in order, then the live frames that arrived meanwhile. The connection is registered for live frames
 * BEFORE the inbox is read and holds them back (`beginReplay`), and fanout writes the inbox before it
 * emits the deliveries, so a message is either in what the replay reads or among the held-back frames
 * (or both: the replay wins and the held copy is dropped by id). Nothing falls in between.
 */

export interface InboxReader {
  after(uid: string, cursor: string | null, limit: number): Promise<InboxPage>;
}

export interface ResumeSettings {
  maxBufferedBytes: number;
}

/** Messages read from the inbox per query while replaying. */
const replayPage = 200;

/** Replays after `beginReplay` was called (before the connection was registered); resolves with the count. */
export async function replayInbox(
  connection: Connection,
  inbox: InboxReader,
  after: string,
  settings: ResumeSettings,
  log: Logger,
): Promise<number> {
  const replayed = new Set<string>();
  let cursor = after;
  try {
    for (;;) {
      const page = await inbox.after(connection.uid, cursor, replayPage);
      for (const message of page.messages) {
        if (
          !connection.replay(message.messageId, encodeFrame(messageFrame({ id: message.messageId, ...message })), {
            tid: message.tid,
            addressed: true,
          })
        ) {
          return replayed.size;
        }
        replayed.add(message.messageId);
      }
      if (page.messages.length < replayPage || page.next === null) break;
      cursor = page.next;
      // A long replay must not trip the slow-consumer limit: let the socket drain between pages.
      if (!(await drained(connection, settings.maxBufferedBytes / 2))) return replayed.size;
    }
  } catch (error) {
    log.warn({ err: error, sessionId: connection.sessionId }, 'inbox replay failed');
    connection.endReplay(replayed);
    connection.send({
      type: 'error',
      code: 'UNAVAILABLE',
      message: 'the inbox could not be read; reconnect to resume',
    });
    connection.close(closeCodes.tryAgainLater, 'try again later', 'resume_failed');
    return replayed.size;
  }
  connection.send({ type: 'resumed', replayed: replayed.size, cursor: [...replayed].at(-1) ?? after });
  connection.endReplay(replayed);
  return replayed.size;
}

async function drained(connection: Connection, below: number): Promise<boolean> {
  while (connection.socket.bufferedAmount > below) {
    if (connection.closing) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return !connection.closing;
}
