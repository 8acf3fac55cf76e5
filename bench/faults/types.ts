import type { Config } from '../../pipeline/config/index.ts';

/** One row of the fault table: what was sent, what arrived, how many repeats, what was lost, how long recovery took. */
export interface FaultResult {
  fault: string;
  sent: number;
  received: number;
  /** Copies beyond the first, as the pipeline or the client saw them before de-duplication by id. */
  duplicatesBefore: number;
  /** Copies beyond the first after de-duplication by id: 0 unless ids differ between copies. */
  duplicatesAfter: number;
  lost: number;
  /** From the end of the fault to the first sign of progress after it; null when not measured. */
  recoveryMs: number | null;
  note: string;
}

/** Sizes of a run: `bounded` is what `npm test` runs, `full` what `npm run faults` runs by default. */
export interface FaultScale {
  name: 'bounded' | 'full';
  /** Users in the broadcast audience. */
  users: number;
  /** Of which hold an open WebSocket during the broadcast. */
  connected: number;
  /** How long a server stays away. */
  outageMs: number;
  /** Messages sent one by one in the steady-flow faults. */
  steady: number;
  /** Bad records mixed into `steady` good ones in the poison flood. */
  poison: number;
  soakSeconds: number;
  /** Requests per second during the soak. */
  soakRate: number;
}

export const scales: Record<FaultScale['name'], FaultScale> = {
  bounded: {
    name: 'bounded',
    users: 3_000,
    connected: 40,
    outageMs: 8_000,
    steady: 60,
    poison: 1_000,
    soakSeconds: 20,
    soakRate: 20,
  },
  full: {
    name: 'full',
    users: 100_000,
    connected: 200,
    outageMs: 30_000,
    steady: 600,
    poison: 10_000,
    soakSeconds: 1_800,
    soakRate: 50,
  },
};

export interface FaultContext {
  config: Config;
  scale: FaultScale;
  log: (line: string) => void;
}

export interface Fault {
  name: string;
  /** Touches a shared server (restarts the Kafka broker): run only where nobody else uses the stack. */
  disruptsStack?: boolean;
  run(context: FaultContext): Promise<FaultResult>;
}
