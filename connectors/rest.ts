import { MsgxcError, retriable } from '../pipeline/errors/index.ts';

/** The few Kafka Connect REST calls msgxc makes. */

export interface ConnectorStatus {
  name: string;
  connector: { state: string; worker_id: string; trace?: string };
  tasks: { id: number; state: string; worker_id: string; trace?: string }[];
}

async function call(url: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(url, {
      ...init,
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      // Connect answers a write only once its group agrees (up to its own 90 s request timeout).
      signal: AbortSignal.timeout(100_000),
    });
  } catch (error) {
    throw retriable('CONNECT_UNAVAILABLE', `Kafka Connect at ${new URL(url).origin} did not answer: ${error}`, error);
  }
}

async function failure(response: Response, action: string): Promise<MsgxcError> {
  const body = await response.text();
  const message = (() => {
    try {
      return (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      return body;
    }
  })();
  return new MsgxcError('CONNECT_REFUSED', `Kafka Connect: ${action} answered ${response.status}: ${message}`, {
    retriable: response.status >= 500 || response.status === 409,
  });
}

/** Creates the connector or updates its configuration: PUT is idempotent, so running it twice changes nothing. */
export async function putConnectorConfig(
  baseUrl: string,
  name: string,
  config: Record<string, string>,
): Promise<'created' | 'updated'> {
  const response = await call(`${baseUrl}/connectors/${encodeURIComponent(name)}/config`, {
    method: 'PUT',
    body: JSON.stringify(config),
  });
  if (!response.ok) throw await failure(response, `PUT ${name}/config`);
  await response.body?.cancel();
  return response.status === 201 ? 'created' : 'updated';
}

export async function connectorStatus(baseUrl: string, name: string): Promise<ConnectorStatus | undefined> {
  const response = await call(`${baseUrl}/connectors/${encodeURIComponent(name)}/status`);
  if (response.status === 404) {
    await response.body?.cancel();
    return undefined;
  }
  if (!response.ok) throw await failure(response, `GET ${name}/status`);
  return (await response.json()) as ConnectorStatus;
}

export async function deleteConnector(baseUrl: string, name: string): Promise<void> {
  const response = await call(`${baseUrl}/connectors/${encodeURIComponent(name)}`, { method: 'DELETE' });
  if (!response.ok && response.status !== 404) throw await failure(response, `DELETE ${name}`);
  await response.body?.cancel();
}

export async function listConnectors(baseUrl: string): Promise<string[]> {
  const response = await call(`${baseUrl}/connectors`);
  if (!response.ok) throw await failure(response, 'GET /connectors');
  return (await response.json()) as string[];
}
