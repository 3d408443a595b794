/**
 * Child process of pipeline-bench.ts: runs the shared fault proxy (pass-through) in front of DynamoDB Local and
 * counts what the handler sends, so that neither the proxy's work nor the requests it keeps weigh on the
 * process that runs the handler. Run as `dynamodb-request-counter.ts <upstream endpoint>` through `fork`;
 * it answers `{ kind: 'report' }` with the counts and `{ kind: 'stop' }` by closing.
 */
import { type ProxiedRequest, startFaultProxy, windowStoreStep } from '../support/fault-proxy';

/** The operations that write to a table. */
export const WRITE_TARGETS = ['UpdateItem', 'PutItem', 'TransactWriteItems', 'DeleteItem', 'BatchWriteItem'];

/** How the requests of one kind ended: 2xx applied, 4xx refused (a failed condition), other statuses. */
export interface Outcomes {
  ok: number;
  refused: number;
  other: number;
}

export interface RequestCounts {
  /** Per X-Amz-Target. */
  readonly byTarget: Record<string, Outcomes>;
  /** Per window-store step (see windowStoreStep), for write targets only. */
  readonly byStep: Record<string, Outcomes>;
  /** Per contributor id (an object's identity in window items): window updates applied and refused. */
  readonly appliesByContributor: Record<string, Outcomes>;
  /**
   * Window updates refused and then applied without some bounded sets: how often each set was the one found
   * full (the sets of the refused request missing from the applied one).
   */
  readonly setsFoundFull: Record<string, number>;
  /** CPU time this process (the proxy) has used so far, in microseconds. */
  cpuMicros: number;
}

/** Parent <- counter messages. */
export type CounterMessage =
  | { readonly kind: 'ready'; readonly url: string }
  | { readonly kind: 'progress'; readonly writesApplied: number; readonly requests: number }
  | { readonly kind: 'report'; readonly counts: RequestCounts };

/** Parent -> counter messages. */
export type CounterCommand = { readonly kind: 'report' } | { readonly kind: 'stop' };

const upstream = process.argv[2];
if (upstream === undefined) throw new Error('usage: dynamodb-request-counter.ts <upstream endpoint>');

const counts: RequestCounts = {
  byTarget: {},
  byStep: {},
  appliesByContributor: {},
  setsFoundFull: {},
  cpuMicros: 0,
};
/** Per (item, contributor): the bounded sets of its last refused window update. */
const refusedSets = new Map<string, readonly string[]>();
let requests = 0;
let writesApplied = 0;

const tally = (table: Record<string, Outcomes>, name: string, status: number) => {
  const outcomes = table[name] ?? { ok: 0, refused: 0, other: 0 };
  if (status >= 200 && status < 300) outcomes.ok += 1;
  else if (status >= 400 && status < 500) outcomes.refused += 1;
  else outcomes.other += 1;
  table[name] = outcomes;
};

interface UpdateJson {
  readonly Key?: unknown;
  readonly ExpressionAttributeNames?: Record<string, string>;
  readonly ExpressionAttributeValues?: Record<string, { S?: string }>;
}

/** The `:contributor` value of a window update: which object the write is for. */
function contributorOf(request: ProxiedRequest): string {
  return (request.json as UpdateJson | undefined)?.ExpressionAttributeValues?.[':contributor']?.S ?? '(none)';
}

/** Tallies, for an update applied after a refusal, the bounded sets (`#setN` names) it no longer adds to. */
function trackBoundedSets(request: ProxiedRequest, applied: boolean): void {
  const json = request.json as UpdateJson | undefined;
  const id = `${JSON.stringify(json?.Key)}|${contributorOf(request)}`;
  const sets = Object.entries(json?.ExpressionAttributeNames ?? {})
    .filter(([placeholder]) => /^#set\d+$/.test(placeholder))
    .map(([, attribute]) => attribute);
  if (!applied) {
    refusedSets.set(id, sets);
    return;
  }
  const before = refusedSets.get(id);
  if (before === undefined) return;
  refusedSets.delete(id);
  for (const attribute of before.filter((name) => !sets.includes(name))) {
    counts.setsFoundFull[attribute] = (counts.setsFoundFull[attribute] ?? 0) + 1;
  }
}

const proxy = await startFaultProxy(upstream);
proxy.onForwarded((request, status) => {
  requests += 1;
  const target = request.target ?? `${request.method} ${request.path}`;
  tally(counts.byTarget, target, status);
  if (!WRITE_TARGETS.includes(target)) return;
  if (status >= 200 && status < 300) writesApplied += 1;
  const step = windowStoreStep(request);
  tally(counts.byStep, step, status);
  if (step !== 'apply') return;
  tally(counts.appliesByContributor, contributorOf(request), status);
  if (status < 500) trackBoundedSets(request, status < 300);
});

const progress = setInterval(() => {
  process.send?.({ kind: 'progress', writesApplied, requests } satisfies CounterMessage);
}, 1000);
process.on('message', (command: CounterCommand) => {
  if (command.kind === 'report') {
    const { user, system } = process.cpuUsage();
    counts.cpuMicros = user + system;
    process.send?.({ kind: 'report', counts } satisfies CounterMessage);
  } else {
    clearInterval(progress);
    void proxy.close().finally(() => process.disconnect?.());
  }
});
process.send?.({ kind: 'ready', url: proxy.url } satisfies CounterMessage);
