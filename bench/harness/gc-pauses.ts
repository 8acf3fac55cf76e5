import { readFileSync } from 'node:fs';
import { processIds, serverName } from './cpu-shares.ts';

/**
 * The stop-the-world pauses of the Java servers during a phase of a bench, read from the GC logs the local
 * stack has them write (`-Xlog:gc,gc+phases:file=…:timemillis`, stack/servers/jvm.ts). Every message crosses
 * the broker five times on its way to a client; a broker pause of 25 ms every few seconds lands on a few
 * percent of messages, which is exactly what a p99 measures. A server started without such a log (another
 * stack, another machine) is left out: the phase then says nothing about it rather than something wrong.
 */

export interface ServerPauses {
  server: string;
  /** Each pause's length in ms, in the order they ended. */
  pauses: number[];
}

export interface GcLog {
  server: string;
  file: string;
}

/** `[1764543001123ms][info][gc] GC(12) Pause Young (Normal) (G1 Evacuation Pause) 50M->12M(256M) 23.456ms` */
const pauseLine = /^\[(\d+)ms\].*\bPause\b.*?(\d+(?:\.\d+)?)ms\s*$/;

/** The pauses in `text` (a GC log) that ended within [fromMs, toMs] of the wall clock. */
export function pausesIn(text: string, fromMs: number, toMs: number): number[] {
  const pauses: number[] = [];
  for (const line of text.split('\n')) {
    const match = pauseLine.exec(line);
    if (!match) continue;
    const endedAt = Number(match[1]);
    if (endedAt >= fromMs && endedAt <= toMs) pauses.push(Number(match[2]));
  }
  return pauses;
}

/** The GC log a JVM command line names (`-Xlog:…:file=PATH:…`), if any. */
export function gcLogOf(cmdline: string[]): string | undefined {
  for (const arg of cmdline) {
    if (!arg.startsWith('-Xlog:')) continue;
    const file = /:file=([^:]+)/.exec(arg);
    if (file) return file[1];
  }
  return undefined;
}

/** The running JVMs that write a GC log (Linux: read from /proc; elsewhere none). */
export function runningGcLogs(): GcLog[] {
  const logs: GcLog[] = [];
  for (const pid of processIds()) {
    let args: string[];
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // the process ended between listing and reading
    }
    const file = gcLogOf(args);
    if (file) logs.push({ server: serverName(args.join(' ')), file });
  }
  return logs.sort((a, b) => a.server.localeCompare(b.server));
}

/** Starts a phase; the returned function ends it and gives each logging server's pauses within it. */
export function startGcPhase(): () => ServerPauses[] {
  const logs = runningGcLogs();
  const from = Date.now();
  return () => {
    const to = Date.now();
    return logs.map(({ server, file }) => {
      let text = '';
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        // A log rotated away mid-phase: report what the current file holds rather than fail the bench.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      return { server, pauses: pausesIn(text, from, to) };
    });
  };
}

/** One line per server: how many pauses, their mean and longest, and the share of the phase they took. */
export function describeGcPauses(phase: ServerPauses[], seconds: number, indent = '  '): string {
  if (phase.length === 0) return `${indent}GC pauses: no server writes a GC log`;
  const lines = phase.map(({ server, pauses }) => {
    if (pauses.length === 0) return `${indent}  ${server.padEnd(12)} none`;
    const total = pauses.reduce((sum, pause) => sum + pause, 0);
    return (
      `${indent}  ${server.padEnd(12)} ${String(pauses.length).padStart(4)} pauses, mean ${(total / pauses.length).toFixed(1)} ms, ` +
      `longest ${Math.max(...pauses).toFixed(1)} ms, ${((total / (seconds * 1000)) * 100).toFixed(2)} % of the time`
    );
  });
  return [`${indent}stop-the-world GC pauses over ${seconds.toFixed(0)} s:`, ...lines].join('\n');
}
