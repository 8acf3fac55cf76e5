import { readFileSync } from 'node:fs';
import { connect, type OutgoingHttpHeaders } from 'node:http2';
import { certificateFile } from '../stack/providers/common.ts';

/**
 * The raw baseline for APNs and FCM: `count` POSTs over ONE node:http2 session to the same local server,
 * `concurrency` streams in flight, the same headers and body for each. Returns messages per second.
 */
export async function rawHttp2Loop(options: {
  url: string;
  count: number;
  concurrency: number;
  request: (index: number) => { headers: OutgoingHttpHeaders; body: string };
}): Promise<{ perSecond: number; failures: number }> {
  const session = connect(options.url, { ca: readFileSync(certificateFile) });
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  let next = 0;
  let failures = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < options.count) {
      const index = next++;
      const { headers, body } = options.request(index);
      await new Promise<void>((resolve) => {
        const stream = session.request({ ':method': 'POST', ...headers });
        stream.on('response', (response) => {
          if (response[':status'] !== 200) failures += 1;
        });
        stream.resume();
        stream.on('end', resolve);
        stream.on('error', () => {
          failures += 1;
          resolve();
        });
        stream.end(body);
      });
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  session.close();
  return { perSecond: options.count / seconds, failures };
}
