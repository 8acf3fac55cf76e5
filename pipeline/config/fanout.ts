import { z } from 'zod';

/**
 * Fanout (stages/fanout): audience paging, slicing of large audiences, batch sizes per channel (defaults match
 * the providers' batch APIs: FCM 500, SES bulk 50; APNs, Web Push and SMS are one request per device, batched
 * by 100), and the ack stage's escalation sweep.
 */
export const fanoutEnv = z.object({
  MSGXC_FANOUT_PAGE_SIZE: z.coerce.number().int().min(1).max(10_000).default(1_000),
  // Above this many users a broadcast is cut into slice jobs that several consumers share (parallelism only:
  // a slice streams through one handler call in bounded memory, whatever its size).
  MSGXC_FANOUT_SLICE_USERS: z.coerce.number().int().min(1).default(100_000),
  // Jobs of one consumed chunk expanded concurrently: a broadcast's paging does not hold up the sends behind it.
  MSGXC_FANOUT_JOBS_IN_FLIGHT: z.coerce.number().int().min(1).max(64).default(4),
  MSGXC_FANOUT_MAX_DEVICES: z.coerce.number().int().min(1).max(100).default(10),
  MSGXC_FANOUT_WS_REACHABILITY: z.enum(['always', 'presence']).default('always'),
  MSGXC_FANOUT_BATCH_WS: z.coerce.number().int().min(1).default(500),
  MSGXC_FANOUT_BATCH_WEBPUSH: z.coerce.number().int().min(1).default(100),
  MSGXC_FANOUT_BATCH_APNS: z.coerce.number().int().min(1).default(100),
  MSGXC_FANOUT_BATCH_FCM: z.coerce.number().int().min(1).max(500).default(500),
  MSGXC_FANOUT_BATCH_SMS: z.coerce.number().int().min(1).default(100),
  MSGXC_FANOUT_BATCH_EMAIL: z.coerce.number().int().min(1).max(50).default(50),
  MSGXC_ESCALATION_SWEEP_MS: z.coerce.number().int().min(50).default(5_000),
  // The bulk lane's audience walks pause while search pages come back slower than this many times their
  // usual time (concurrency/pacer.ts): a broadcast of urgency 1–2 yields the machines to urgent work. 0: off.
  MSGXC_FANOUT_BULK_PACING: z.coerce
    .number()
    .min(0)
    .default(2)
    .refine((value) => value === 0 || value > 1, 'must be 0 (off) or above 1'),
  MSGXC_FANOUT_BULK_MAX_PAUSE_MS: z.coerce.number().int().min(1).default(1_000),
  // …and while some task waited for a CPU more than this share of the time (Linux's CPU pressure). 0: off.
  MSGXC_FANOUT_BULK_CPU_PRESSURE: z.coerce.number().min(0).max(1).default(0.4),
  // Whose pressure: the machine's (/proc/pressure/cpu) unless a cgroup v2 `cpu.pressure` file is named, for
  // a host shared with other tenants where only msgxc's own slice says whether msgxc's urgent work waits.
  MSGXC_FANOUT_BULK_CPU_PRESSURE_FILE: z
    .string()
    .regex(/^\/\S*$/, 'must be an absolute path')
    .optional(),
});

type FanoutEnv = z.infer<typeof fanoutEnv>;

/** The fanout stage's paging, slicing and batching. */
export interface FanoutConfig {
  /** Audience documents per index page. */
  pageSize: number;
  /** Audiences counted above this many users are cut into slice jobs of about this size, for parallelism. */
  sliceUsers: number;
  /** Jobs of one consumed chunk expanded at once. */
  jobsInFlight: number;
  /** Most devices of one user reached per push channel. */
  maxDevicesPerChannel: number;
  /** `always`: ws deliveries for every ws-allowed recipient; `presence`: only for users with a realtime client enlisted. */
  wsReachability: 'always' | 'presence';
  /** Recipients per DeliveryBatch, per channel. */
  batchSizes: { ws: number; webpush: number; apns: number; fcm: number; sms: number; email: number };
  /**
   * The bulk lane's walks pause while pages take more than `tolerance` times their usual time, or while the
   * machine's CPU pressure is above `cpuPressureLimit` (0: not read); null: never. `cpuPressureFile` is the
   * pressure file named in the environment, null for the machine's.
   */
  bulkPacing: {
    tolerance: number;
    maxPauseMs: number;
    cpuPressureLimit: number;
    cpuPressureFile: string | null;
  } | null;
}

/** The ack stage: how often unacknowledged fallback deliveries are looked for. */
export interface AckConfig {
  escalationSweepMs: number;
}

export function fanoutConfig(env: FanoutEnv): FanoutConfig {
  return {
    pageSize: env.MSGXC_FANOUT_PAGE_SIZE,
    sliceUsers: env.MSGXC_FANOUT_SLICE_USERS,
    jobsInFlight: env.MSGXC_FANOUT_JOBS_IN_FLIGHT,
    maxDevicesPerChannel: env.MSGXC_FANOUT_MAX_DEVICES,
    wsReachability: env.MSGXC_FANOUT_WS_REACHABILITY,
    bulkPacing:
      env.MSGXC_FANOUT_BULK_PACING === 0
        ? null
        : {
            tolerance: env.MSGXC_FANOUT_BULK_PACING,
            maxPauseMs: env.MSGXC_FANOUT_BULK_MAX_PAUSE_MS,
            cpuPressureLimit: env.MSGXC_FANOUT_BULK_CPU_PRESSURE,
            cpuPressureFile: env.MSGXC_FANOUT_BULK_CPU_PRESSURE_FILE ?? null,
          },
    batchSizes: {
      ws: env.MSGXC_FANOUT_BATCH_WS,
      webpush: env.MSGXC_FANOUT_BATCH_WEBPUSH,
      apns: env.MSGXC_FANOUT_BATCH_APNS,
      fcm: env.MSGXC_FANOUT_BATCH_FCM,
      sms: env.MSGXC_FANOUT_BATCH_SMS,
      email: env.MSGXC_FANOUT_BATCH_EMAIL,
    },
  };
}

export function ackConfig(env: FanoutEnv): AckConfig {
  return { escalationSweepMs: env.MSGXC_ESCALATION_SWEEP_MS };
}
