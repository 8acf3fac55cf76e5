import { readFileSync } from 'node:fs';

/**
 * How much of the time some runnable task waited for a CPU, from Linux's pressure stall information
 * (`/proc/pressure/cpu` for the machine, `cpu.pressure` in a cgroup v2 directory for a group of services).
 *
 * The bulk lane's pacer reads it as a second sign of contention beside its own requests' latency. A search
 * page can come back in its usual time while the machine is saturated by what the broadcast set off
 * downstream (the broker, the delivery stages, the gateway): every urgent hop then waits for a CPU, and only
 * the scheduler sees it. On the 2-core reference machine "some" pressure sat at 15–20 % with the system
 * idle and at 40–80 % while a 1M-user broadcast drained (100 ms samples, 2026-12-01).
 */
export interface CpuPressure {
  /** The file read. */
  path: string;
  /**
   * The share (0–1) of wall time with at least one task waiting for a CPU, since the previous reading; a
   * reading sooner than `minIntervalMs` after it gives the previous share again (too short to say anything).
   */
  read(): number;
}

export interface CpuPressureOptions {
  /** `/proc/pressure/cpu` unless given. */
  path?: string;
  minIntervalMs?: number;
  clock?: () => number;
  readText?: (path: string) => string;
}

const machineCpuPressure = '/proc/pressure/cpu';

const someTotal = /^some .*\btotal=(\d+)/m;

/**
 * The errors of a kernel without pressure information: no file (not Linux, older than 4.20, or no such
 * cgroup), or PSI compiled in but turned off (`psi=0`: the file exists and refuses to be read).
 */
const unavailable = new Set(['ENOENT', 'ENOTDIR', 'EOPNOTSUPP', 'ENOTSUP']);

/**
 * null where the kernel gives no pressure information at `path`; any other failure to read it (a directory,
 * no permission) is thrown, since it is a mistake in where the file was said to be.
 */
export function createCpuPressure(options: CpuPressureOptions = {}): CpuPressure | null {
  const path = options.path ?? machineCpuPressure;
  const minIntervalMs = options.minIntervalMs ?? 50;
  const clock = options.clock ?? (() => performance.now());
  const readText = options.readText ?? ((file: string) => readFileSync(file, 'utf8'));
  const stalledMicros = (): number | null => {
    const match = someTotal.exec(readText(path));
    return match ? Number(match[1]) : null;
  };
  let first: number | null;
  try {
    first = stalledMicros();
  } catch (error) {
    if (unavailable.has((error as NodeJS.ErrnoException).code ?? '')) return null;
    throw error;
  }
  if (first === null) return null;
  const last = { total: first, at: clock() };
  let share = 0;
  return {
    path,
    read() {
      const now = clock();
      if (now - last.at < minIntervalMs) return share;
      let total: number | null;
      try {
        total = stalledMicros();
      } catch {
        // The file read a moment ago: a failed read now (a cgroup being torn down) is no sign either way, and
        // pacing must not fail the broadcast it paces. The previous share holds until a read succeeds.
        return share;
      }
      if (total === null) return share;
      share = Math.min(1, Math.max(0, (total - last.total) / 1000 / (now - last.at)));
      last.total = total;
      last.at = now;
      return share;
    },
  };
}
