import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';

/**
 * A real SMTP server (`smtp-server`) on 127.0.0.1 with AUTH PLAIN/LOGIN against one user, keeping every
 * message it accepts (envelope, headers, raw source). Recipients in `unknownMailboxes` answer
 * `550 5.1.1`; `down` answers `421` to every connection.
 */

export interface SmtpEmail {
  from: string;
  to: string[];
  headers: Map<string, string>;
  raw: string;
  receivedAt: number;
}

export interface SmtpFake {
  url: string;
  port: number;
  user: string;
  password: string;
  emails: SmtpEmail[];
  unknownMailboxes: Set<string>;
  down: boolean;
  close(): Promise<void>;
}

export async function startSmtpFake(options: { user?: string; password?: string; port?: number } = {}) {
  const user = options.user ?? 'msgxc';
  const password = options.password ?? randomBytes(12).toString('hex');
  const emails: SmtpEmail[] = [];
  const unknownMailboxes = new Set<string>();
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: false,
    logger: false,
    onConnect(_session, callback) {
      if (fake.down) return callback(Object.assign(new Error('4.3.2 Service not available'), { responseCode: 421 }));
      callback();
    },
    onAuth(auth, _session, callback) {
      if (auth.username !== user || auth.password !== password) {
        return callback(Object.assign(new Error('5.7.8 Authentication failed'), { responseCode: 535 }));
      }
      callback(null, { user });
    },
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      if (unknownMailboxes.has(address.address)) {
        return callback(Object.assign(new Error('5.1.1 No such user here'), { responseCode: 550 }));
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        emails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          headers: parseHeaders(raw),
          raw,
          receivedAt: Date.now(),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  const fake: SmtpFake = {
    url: `smtp://${user}:${password}@127.0.0.1:${port}`,
    port,
    user,
    password,
    emails,
    unknownMailboxes,
    down: false,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return fake;
}

/** The header block, unfolded, by lower-case name (the last occurrence wins). */
export function parseHeaders(raw: string): Map<string, string> {
  const block = raw.split(/\r?\n\r?\n/, 1)[0] ?? '';
  const headers = new Map<string, string>();
  for (const line of block.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}
