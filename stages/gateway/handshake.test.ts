import { afterEach, describe, expect, it } from 'vitest';
import { connect, signToken, startTestGateway, type TestGateway, testConfig } from '../../test/support/gateway.ts';
import { PROTOCOL } from './protocol.ts';

describe('gateway upgrade authentication', () => {
  let running: TestGateway | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it('refuses an upgrade without a token with 401 before upgrading', async () => {
    running = await startTestGateway();
    const upgrade = await connect(running.gateway.url);
    expect(upgrade.ok).toBe(false);
    if (upgrade.ok) return;
    expect(upgrade.status).toBe(401);
    expect(JSON.parse(upgrade.body)).toMatchObject({ error: 'UNAUTHENTICATED' });
    expect(running.gateway.registry.size).toBe(0);
  });

  it('refuses a token signed with another secret, a malformed token and an expired token', async () => {
    running = await startTestGateway();
    const forged = await signToken('mallory', { secret: 'another-secret-that-is-also-32-characters-long' });
    const expired = await signToken('alice', { expiresInSeconds: -3600 });
    for (const token of [forged, 'not-a-jwt', expired]) {
      const upgrade = await connect(running.gateway.url, { token });
      expect(upgrade.ok ? 101 : upgrade.status).toBe(401);
    }
    const expiredUpgrade = await connect(running.gateway.url, { token: expired });
    expect(expiredUpgrade.ok ? '' : JSON.parse(expiredUpgrade.body).message).toBe('token expired');
  });

  it('refuses an Authorization header that is not a bearer token', async () => {
    running = await startTestGateway();
    const upgrade = await connect(running.gateway.url, { headers: { authorization: 'Basic YWxpY2U6c2VjcmV0' } });
    expect(upgrade.ok ? 101 : upgrade.status).toBe(401);
  });

  it('accepts a bearer header and greets with a welcome frame', async () => {
    running = await startTestGateway();
    const upgrade = await connect(running.gateway.url, { token: await signToken('alice') });
    expect(upgrade.ok).toBe(true);
    if (!upgrade.ok) return;
    const welcome = await upgrade.client.next('welcome');
    expect(welcome).toMatchObject({ type: 'welcome', protocol: PROTOCOL, uid: 'alice' });
    expect(typeof welcome.session).toBe('string');
    expect(running.gateway.registry.byUid('alice')?.size).toBe(1);
    upgrade.client.socket.close();
  });

  it('accepts the browser form msgxc.v1, bearer.<jwt> and answers with msgxc.v1 only', async () => {
    running = await startTestGateway();
    const token = await signToken('bob');
    const upgrade = await connect(running.gateway.url, { protocols: [PROTOCOL, `bearer.${token}`] });
    expect(upgrade.ok).toBe(true);
    if (!upgrade.ok) return;
    expect(upgrade.client.socket.protocol).toBe(PROTOCOL);
    expect(await upgrade.client.next('welcome')).toMatchObject({ uid: 'bob' });
    upgrade.client.socket.close();
  });

  it('refuses subprotocols without msgxc.v1 with 400', async () => {
    running = await startTestGateway();
    const token = await signToken('bob');
    const upgrade = await connect(running.gateway.url, { protocols: ['chat', `bearer.${token}`] });
    expect(upgrade.ok ? 101 : upgrade.status).toBe(400);
  });

  it('ignores a query-string token unless configured to accept it', async () => {
    const token = await signToken('carol');
    running = await startTestGateway();
    const refused = await connect(`${running.gateway.url}?access_token=${token}`);
    expect(refused.ok ? 101 : refused.status).toBe(401);
    await running.close();

    running = await startTestGateway({ config: testConfig({ MSGXC_WS_QUERY_TOKEN: 'true' }) });
    const accepted = await connect(`${running.gateway.url}?access_token=${token}`);
    expect(accepted.ok).toBe(true);
    if (accepted.ok) accepted.client.socket.close();
  });

  it('answers 404 off the WebSocket path and 403 for an origin outside the allowlist', async () => {
    running = await startTestGateway({ config: testConfig({ MSGXC_WS_ALLOWED_ORIGINS: 'https://app.example' }) });
    const token = await signToken('dave');
    const elsewhere = await connect(running.gateway.url.replace(/\/ws$/, '/other'), { token });
    expect(elsewhere.ok ? 101 : elsewhere.status).toBe(404);
    const foreign = await connect(running.gateway.url, { token, headers: { origin: 'https://evil.example' } });
    expect(foreign.ok ? 101 : foreign.status).toBe(403);
    const allowed = await connect(running.gateway.url, { token, headers: { origin: 'https://app.example' } });
    expect(allowed.ok).toBe(true);
    if (allowed.ok) allowed.client.socket.close();
  });

  it('records a connect check-in with the session id', async () => {
    running = await startTestGateway();
    const upgrade = await connect(running.gateway.url, { token: await signToken('erin') });
    if (!upgrade.ok) throw new Error('upgrade refused');
    const welcome = await upgrade.client.next('welcome');
    const connectCheckIn = running.records.find((record) => record.topic === 'checkins');
    expect(connectCheckIn?.value).toMatchObject({
      type: 'connect',
      uid: 'erin',
      sessionId: welcome.session,
      gatewayId: running.gateway.gatewayId,
    });
    upgrade.client.socket.close();
  });
});
