import type { Experiment, Variant } from '../../schemas/types.generated.ts';
import { MsgxcError } from '../errors/index.ts';
import { type Channel, checkChannelList } from './shared.ts';

/** One arm of an experiment and the experiment itself: the Avro `dev.msgxc.Variant` and `Experiment` records. */
export type ExperimentVariant = Variant;
export type { Experiment };

/** An experiment as a caller may give it: a variant's overrides may be left out. */
export interface ExperimentInput {
  id: string;
  variants: (Pick<ExperimentVariant, 'name' | 'weight'> &
    Partial<Pick<ExperimentVariant, 'uids' | 'subject' | 'msg' | 'channels'>>)[];
}

/** The experiment with every variant override present: null where the caller left it out. */
export function completeExperiment(experiment: ExperimentInput): Experiment {
  return {
    id: experiment.id,
    variants: experiment.variants.map((variant) => ({
      name: variant.name,
      weight: variant.weight,
      uids: variant.uids ?? null,
      subject: variant.subject ?? null,
      msg: variant.msg ?? null,
      channels: variant.channels ?? null,
    })),
  };
}

export interface Thread {
  tid: string;
  name: string | null;
  alias: string | null;
  owner: string;
  admins: string[];
  publishers: string[];
  openSubscribe: boolean;
  openPublish: boolean;
  /** Default channels, in order; empty means "every channel the user can be reached on". */
  channelTypes: Channel[];
  /** Default urgency 1-4; null leaves it to the request (or the system default). */
  urgency: number | null;
  experiment: Experiment | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface ThreadFields {
  name?: string | null;
  alias?: string | null;
  admins?: string[];
  publishers?: string[];
  openSubscribe?: boolean;
  openPublish?: boolean;
  channelTypes?: readonly string[];
  urgency?: number | null;
  experiment?: Experiment | null;
}

export interface NewThread extends ThreadFields {
  /** Generated (a random uuid) when not given. */
  tid?: string;
  owner: string;
}

export interface ThreadPatch extends ThreadFields {
  owner?: string;
}

export interface Subscription {
  tid: string;
  subscribedAt: Date;
}

export interface Subscriber {
  uid: string;
  subscribedAt: Date;
}

/** Who is acting, as the auth module's `Principal`. */
export interface Actor {
  uid: string;
  admin: boolean;
  service: boolean;
}

/** The seed's rule: owner, thread admins, publishers, open-publish threads, services (and admins). */
export function mayPublish(thread: Thread, actor: Actor): boolean {
  return (
    actor.service ||
    actor.admin ||
    thread.openPublish ||
    thread.owner === actor.uid ||
    thread.admins.includes(actor.uid) ||
    thread.publishers.includes(actor.uid)
  );
}

/** The seed's rule: owner, thread admins, open-subscribe threads (and admins and services). */
export function maySubscribe(thread: Thread, actor: Actor): boolean {
  return (
    actor.service ||
    actor.admin ||
    thread.openSubscribe ||
    thread.owner === actor.uid ||
    thread.admins.includes(actor.uid)
  );
}

/** Who may change a thread: its owner, its admins, and admins. */
export function mayManage(thread: Thread, actor: Actor): boolean {
  return actor.admin || thread.owner === actor.uid || thread.admins.includes(actor.uid);
}

/** Store-level guards on what every writer (API, audience stage) must respect. */
export function checkThreadFields(fields: ThreadFields): void {
  if (fields.urgency != null && !(Number.isInteger(fields.urgency) && fields.urgency >= 1 && fields.urgency <= 4)) {
    throw new MsgxcError('INVALID_THREAD', 'urgency is an integer from 1 to 4', { status: 400 });
  }
  if (fields.channelTypes && fields.channelTypes.length > 0) {
    const channels = checkChannelList(fields.channelTypes, 'channel types');
    if (channels[0] === '~') {
      throw new MsgxcError('INVALID_THREAD', 'a thread cannot default to no channel', { status: 400 });
    }
  }
  const experiment = fields.experiment;
  if (experiment) {
    const names = new Set(experiment.variants.map((variant) => variant.name));
    const total = experiment.variants.reduce((sum, variant) => sum + variant.weight, 0);
    const weightsValid = experiment.variants.every((v) => Number.isInteger(v.weight) && v.weight >= 0);
    if (
      experiment.variants.length === 0 ||
      names.size !== experiment.variants.length ||
      !weightsValid ||
      total !== 100
    ) {
      throw new MsgxcError(
        'INVALID_THREAD',
        'an experiment has distinctly named variants whose integer weights sum to 100',
        { status: 400 },
      );
    }
  }
}
