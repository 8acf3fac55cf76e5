import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/**
 * Lowering a process's CPU priority where the scheduler will honour it.
 *
 * `nice` alone ranks a process only against the processes of its own scheduling group. On Linux with
 * autogroup (`/proc/sys/kernel/sched_autogroup_enabled`, on by default in Debian's and Ubuntu's kernels),
 * every session is a group, and the CPU is shared fairly between groups first: a niced bulk-lane process
 * that leads its own session still gets as much CPU as the search engine or an urgent stage, whatever its
 * nice. The group's own nice (`/proc/self/autogroup`) is what ranks it against them. So a process that leads
 * its session (as under a process manager, or `setsid`) lowers its group's nice too; one that shares its
 * parent's session (a shell, a test runner) leaves the group alone, since that would slow the others in it.
 * Under systemd or Kubernetes with a CPU controller, the cgroup's CPU weight ranks services, and nice ranks the
 * processes inside one.
 */
export interface CpuPriority {
  nice: number;
  /** The autogroup's nice after the call; null when it was left alone (`autogroupLeft` says why). */
  autogroupNice: number | null;
  /**
   * Why the autogroup was left alone: `no autogroup`, `not the session leader`, `in the root group`, or the
   * error writing it.
   */
  autogroupLeft?: string;
}

export interface ProcFiles {
  /** `/proc/self` or a stand-in. */
  dir: string;
  pid: number;
}

const self: ProcFiles = { dir: '/proc/self', pid: process.pid };

/** Lowers (never raises) this process's nice, and its autogroup's when it leads its session. */
export function lowerCpuPriority(nice: number): CpuPriority {
  setPriority(Math.max(getPriority(), nice));
  const applied = getPriority();
  const autogroup = `${self.dir}/autogroup`;
  if (!existsSync(autogroup)) return { nice: applied, autogroupNice: null, autogroupLeft: 'no autogroup' };
  if (sessionOf(self) !== self.pid) {
    return { nice: applied, autogroupNice: null, autogroupLeft: 'not the session leader' };
  }
  try {
    const before = autogroupNiceOf(readFileSync(autogroup, 'utf8'));
    if (before === null) return { nice: applied, autogroupNice: null, autogroupLeft: 'in the root group' };
    if (before < nice) writeAutogroupNice(autogroup, nice);
    return { nice: applied, autogroupNice: autogroupNiceOf(readFileSync(autogroup, 'utf8')) };
  } catch (error) {
    // A read-only /proc (some containers): the process's own nice still holds, and the log says the rest.
    return {
      nice: applied,
      autogroupNice: null,
      autogroupLeft: error instanceof Error ? error.message : String(error),
    };
  }
}

/**
 * The kernel lets an unprivileged user change an autogroup's nice once per 100 ms, machine-wide (EAGAIN
 * otherwise), so bulk-lane services started together retry a few times rather than run at full weight.
 */
function writeAutogroupNice(autogroup: string, nice: number, attempts = 5): void {
  for (let attempt = 1; ; attempt += 1) {
    try {
      writeFileSync(autogroup, String(nice));
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN' || attempt === attempts) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 110);
    }
  }
}

/** The session id from `stat` (fields after the command name, which may hold spaces and parentheses). */
export function sessionOf(proc: ProcFiles): number {
  const stat = readFileSync(`${proc.dir}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // state, ppid, pgrp, session
  return Number(fields[3]);
}

/**
 * `/autogroup-955 nice 0` → 0. The kernel prints nothing for a process in the root group (init's session, and
 * every process that never left it, as under some CI runners and containers): null.
 */
export function autogroupNiceOf(line: string): number | null {
  if (line.trim() === '') return null;
  const match = /nice (-?\d+)/.exec(line);
  if (!match) throw new Error(`unexpected autogroup line: ${line.trim()}`);
  return Number(match[1]);
}
