import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { StackConfig } from '../pipeline/config/index.ts';
import { StackError } from './errors.ts';

export interface Java {
  bin: string;
  major: number;
  /**
   * The collector options for a server every message crosses (the broker): Shenandoah where the JDK has it,
   * else G1 with a 20 ms pause goal. Each message crosses the broker five times on its way to a client, and
   * G1's young pauses (5–14 ms on two busy cores, up to 33 ms while a broadcast drains) land on a few percent
   * of messages, which is what a p99 measures; Shenandoah's pauses stay under a millisecond.
   */
  lowPauseGc: string[];
}

/** Finds the JDK the servers run on. Cassandra 5.0 supports Java 11 and 17 only; the others run on 17 too. */
export function findJava(stack: StackConfig): Java {
  const bin = stack.javaHome ? join(stack.javaHome, 'bin', 'java') : 'java';
  const probe = spawnSync(bin, ['-version'], { encoding: 'utf8' });
  const banner = `${probe.stderr ?? ''}${probe.stdout ?? ''}`;
  if (probe.error || !/version "/.test(banner)) {
    throw new StackError(
      'ERR_NO_JDK',
      `no Java found (${bin}). Install a JDK 17 (Debian/Ubuntu: apt-get install openjdk-17-jdk-headless; ` +
        'macOS: brew install openjdk@17) or point MSGXC_JAVA_HOME at one.',
    );
  }
  const match = /version "(\d+)(?:\.(\d+))?/.exec(banner);
  const first = Number(match?.[1] ?? 0);
  const major = first === 1 ? Number(match?.[2] ?? 0) : first;
  if (major !== 17) {
    throw new StackError(
      'ERR_JDK_VERSION',
      `${bin} is Java ${major}; the local stack needs Java 17 (Cassandra 5.0 runs on 11 or 17 only). ` +
        'Install openjdk-17 or set MSGXC_JAVA_HOME to a JDK 17.',
    );
  }
  return { bin, major, lowPauseGc: lowPauseGcOptions(bin) };
}

/** Shenandoah is in the OpenJDK builds of Debian, Ubuntu, Red Hat and Temurin, not in Oracle's. */
function lowPauseGcOptions(bin: string): string[] {
  const shenandoah = ['-XX:+UseShenandoahGC'];
  const probe = spawnSync(bin, [...shenandoah, '-version'], { encoding: 'utf8' });
  return probe.status === 0 ? shenandoah : ['-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20'];
}

export function findMaven(): string {
  try {
    execFileSync('mvn', ['-v'], { stdio: 'ignore' });
    return 'mvn';
  } catch {
    throw new StackError(
      'ERR_NO_MAVEN',
      'Maven (mvn) is needed once, to fetch the servers from Maven Central. Install it ' +
        '(Debian/Ubuntu: apt-get install maven; macOS: brew install maven) and run again.',
    );
  }
}

/**
 * The JVM option that has a server log its stop-the-world pauses to `dir`/gc.log with wall-clock
 * milliseconds (two files of 10 MB at most): benches read it to say how much of a phase the servers
 * spent paused (bench/harness/gc-pauses.ts), and an operator reads it when a latency spikes.
 */
export const gcLogOption = (dir: string) =>
  `-Xlog:gc,gc+phases:file=${join(dir, 'gc.log')}:timemillis,level,tags:filecount=2,filesize=10m`;
