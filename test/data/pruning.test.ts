import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPruner } from '../../pipeline/delivery/pruning.ts';
import { createUserStore, deviceId, type UserStore } from '../../pipeline/store/index.ts';
import type { AudienceChange, Recipient } from '../../schemas/types.generated.ts';
import { addressDevice } from '../delivery/support/messaging-batches.ts';
import { createTestKeyspace, type TestKeyspace } from './support.ts';

let keyspace: TestKeyspace;
let users: UserStore;

beforeAll(async () => {
  keyspace = await createTestKeyspace();
  users = createUserStore(keyspace.client);
});
afterAll(async () => keyspace?.dispose());

function recipientOf(uid: string, address: string): Recipient {
  const id = deviceId({ channel: 'email', address });
  return {
    deliveryId: `m1:${uid}:${id}`,
    uid,
    device: addressDevice('email', address, id),
    variant: null,
    locale: null,
  };
}

describe('pruning a dead device', () => {
  it('removes it once, and a redelivered rejection produces the same audience change again', async () => {
    await users.enlistDevice('pru-a', { channel: 'email', address: 'gone@example.test' });
    const pruner = createPruner(keyspace.client, 'deliver.email');
    const recipient = recipientOf('pru-a', 'gone@example.test');

    const first = await pruner.prune('email', recipient, 'SMTP 550');
    expect(await users.devicesOf('pru-a', 'email')).toEqual([]);
    expect((await users.deadDevicesOf('pru-a')).map((dead) => dead.reason)).toEqual(['SMTP 550']);
    const change = first?.value as AudienceChange;
    expect(change).toMatchObject({ type: 'remove_device', uid: 'pru-a', device: { id: recipient.device?.id } });

    // The stage crashed before the change was produced: the batch comes again and the device is gone already.
    const again = await pruner.prune('email', recipient, 'SMTP 550');
    expect(again?.value).toMatchObject({ changeId: change.changeId, type: 'remove_device' });
  });

  it('produces nothing for a device the user removed themselves', async () => {
    await users.enlistDevice('pru-b', { channel: 'email', address: 'left@example.test' });
    const recipient = recipientOf('pru-b', 'left@example.test');
    await users.removeDevice('pru-b', 'email', recipient.device?.id ?? '');
    expect(await createPruner(keyspace.client, 'deliver.email').prune('email', recipient, 'SMTP 550')).toBeNull();
  });

  it('keeps a device registered again after the provider says it died', async () => {
    await users.enlistDevice('pru-c', { channel: 'email', address: 'back@example.test' });
    const recipient = recipientOf('pru-c', 'back@example.test');
    const before = Date.now() - 60_000;
    expect(await createPruner(keyspace.client, 'deliver.email').prune('email', recipient, 'bounce', before)).toBeNull();
    expect(await users.devicesOf('pru-c', 'email')).toHaveLength(1);
  });
});
