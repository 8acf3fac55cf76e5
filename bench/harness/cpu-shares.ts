import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/**
 * Where the machine's CPU went during a phase of a bench, by process: the servers, each msgxc process, the
 * bench itself. On a small machine the figures of a phase say as much about what else ran as about msgxc;
 * this says what else ran. Linux only (reads /proc); elsewhere it reports nothing.
 */

export interface CpuShare {
  name: string;
  /** Cores used on average over the phase (1 = one core busy all the time). */
  cores: number;
  /**
   * Of `cores`, what a JVM's JIT compiler threads and its garbage collector's threads used: a server that
   * is still compiling the paths a workload takes (minutes after it starts, on a small machine) spends CPU
   * the workload does not get, and that is not the workload's cost.
   */
  jitCores?: number;
  gcCores?: number;
}

export interface CpuPhase {
  seconds: number;
  /** Cores the machine has, and the share of them left idle. */
  cores: number;
  idleCores: number;
  shares: CpuShare[];
}

const ticksPerSecond = 100;

/** The machine's process ids (Linux: from /proc; elsewhere none). */
export function processIds(): string[] {
  try {
    return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return [];
  }
}

interface ProcessTicks {
  name: string;
  ticks: number;
  jitTicks: number;
  gcTicks: number;
}

/** A JVM's threads by role: HotSpot names its compiler threads `C1/C2 CompilerThre…`, its collector's `GC Thread#…`, `G1 …`. */
export function threadRole(comm: string): 'jit' | 'gc' | undefined {
  if (/^C[12] CompilerThre/.test(comm)) return 'jit';
  if (/^(GC Thread|G1 |ZWorker|ZDriver)/.test(comm)) return 'gc';
  return undefined;
}

function jvmThreadTicks(pid: string): { jitTicks: number; gcTicks: number } {
  const ticks = { jitTicks: 0, gcTicks: 0 };
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return ticks;
  }
  for (const task of tasks) {
    try {
      const role = threadRole(readFileSync(`/proc/${pid}/task/${task}/comm`, 'utf8').trim());
      if (!role) continue;
      const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const used = Number(fields[11]) + Number(fields[12]);
      if (role === 'jit') ticks.jitTicks += used;
      else ticks.gcTicks += used;
    } catch {
      // The thread ended between listing and reading: its time is in the process's total already.
    }
  }
  return ticks;
}

function processTicks(): Map<number, ProcessTicks> {
  const result = new Map<number, ProcessTicks>();
  for (const pid of processIds()) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // The command name may hold spaces and brackets: the fields start after its last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      if (ticks === 0) continue;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      const threads = cmdline.includes('java') ? jvmThreadTicks(pid) : { jitTicks: 0, gcTicks: 0 };
      result.set(Number(pid), { name: nameOf(Number(pid), cmdline), ticks, ...threads });
    } catch {
      // The process ended between listing and reading: it has nothing more to count.
    }
  }
  return result;
}

/** Which of the local stack's servers a JVM's command line starts. */
export function serverName(cmdline: string): string {
  if (cmdline.includes('opensearch')) return 'opensearch';
  if (cmdline.includes('cassandra')) return 'cassandra';
  if (cmdline.includes('org.apache.kafka.connect')) return 'kafka connect';
  if (cmdline.includes('apicurio') || cmdline.includes('registry')) return 'schema registry';
  if (cmdline.includes('kafka')) return 'kafka';
  return 'java (other)';
}

function nameOf(pid: number, cmdline: string): string {
  if (pid === process.pid) return 'bench (this process: load and clients)';
  if (cmdline.includes('java')) return serverName(cmdline);
  const run = cmdline.trim().match(/msgxc\.ts run (.+)$/);
  if (run) return `msgxc ${run[1]!.trim()}`;
  if (cmdline.includes('--bench-api-server')) return 'api bench server (facade)';
  if (cmdline.includes('node')) return 'node (other)';
  return 'other';
}

function idleTicks(): number {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
    return Number(fields[4]) + Number(fields[5]);
  } catch {
    return Number.NaN;
  }
}

/** Starts counting; the returned function ends the phase and says where the CPU went. */
export function startCpuPhase(): () => CpuPhase {
  const before = processTicks();
  const idleBefore = idleTicks();
  const started = performance.now();
  return () => {
    const seconds = (performance.now() - started) / 1000;
    const after = processTicks();
    const byName = new Map<string, { ticks: number; jitTicks: number; gcTicks: number }>();
    for (const [pid, now] of after) {
      const then = before.get(pid);
      const used = now.ticks - (then?.ticks ?? 0);
      if (used <= 0) continue;
      const sum = byName.get(now.name) ?? { ticks: 0, jitTicks: 0, gcTicks: 0 };
      sum.ticks += used;
      sum.jitTicks += now.jitTicks - (then?.jitTicks ?? 0);
      sum.gcTicks += now.gcTicks - (then?.gcTicks ?? 0);
      byName.set(now.name, sum);
    }
    const cores = (ticks: number) => ticks / ticksPerSecond / Math.max(seconds, 1e-3);
    return {
      seconds,
      cores: cpus().length,
      idleCores: cores(idleTicks() - idleBefore),
      shares: [...byName]
        .map(([name, sum]) => ({
          name,
          cores: cores(sum.ticks),
          ...(sum.jitTicks + sum.gcTicks > 0 ? { jitCores: cores(sum.jitTicks), gcCores: cores(sum.gcTicks) } : {}),
        }))
        .sort((a, b) => b.cores - a.cores),
    };
  };
}

/** One line per process group that used at least 2 % of a core, and the machine's idle share. */
export function describeCpuPhase(phase: CpuPhase, indent = '  '): string {
  if (phase.shares.length === 0) return `${indent}CPU by process: not available on this system`;
  const percent = (cores: number) => `${Math.round(cores * 100)} %`.padStart(6);
  const lines = phase.shares
    .filter((share) => share.cores >= 0.02)
    .map((share) => `${indent}  ${percent(share.cores)}  ${share.name}${jvmDetail(share)}`);
  return [
    `${indent}CPU by process over ${phase.seconds.toFixed(0)} s (100 % = one core of ${phase.cores}; ${Math.round((phase.idleCores / phase.cores) * 100)} % of the machine idle):`,
    ...lines,
  ].join('\n');
}

/** `(JIT compiling 10 %, GC 2 %)` for a JVM that spent at least 1 % of a core on either. */
function jvmDetail(share: CpuShare): string {
  const parts: string[] = [];
  if ((share.jitCores ?? 0) >= 0.01) parts.push(`JIT compiling ${Math.round(share.jitCores! * 100)} %`);
  if ((share.gcCores ?? 0) >= 0.01) parts.push(`GC ${Math.round(share.gcCores! * 100)} %`);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}
