/**
 * Sorts the samples of a V8 CPU profile of one reader scan (reader-bench-child.ts) into the reader's stages, so
 * that `npm run bench` prints where the main thread's time goes: the WebAssembly structural scan, the needle
 * search, the parse of matching records, the rule, the scanner's own bookkeeping, and stream overhead.
 */

/** The parts of a `Profiler.stop` result this module reads. */
export interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string };
    readonly children?: readonly number[];
  }[];
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

export const STAGES = [
  'structural scan and first needle group (WebAssembly)',
  'needle search of further groups (indexOf)',
  'parse of matching records (UTF-8 decode, JSON.parse)',
  'exact rule and window grouping',
  'copy into scanner memory',
  'scanner bookkeeping (state machine, records, carry)',
  'gunzip calls on the main thread',
  'stream overhead (pipeline, async iteration, file reads)',
  'garbage collection',
  'idle (main thread waiting, e.g. for gunzip on the thread pool)',
  'other native (V8 "(program)")',
] as const;
export type Stage = (typeof STAGES)[number];

export interface ProfileBreakdown {
  /** Wall and CPU (all threads) of the profiled scan. */
  readonly wallMs: number;
  readonly cpuMs: number;
  /** Sampled main-thread milliseconds per stage. */
  readonly stages: Readonly<Record<Stage, number>>;
}

/**
 * The stage of one sample, from its stack (leaf first). The first matching rule wins, in the order of STAGES:
 * e.g. JSON.parse called by the scanner counts as parse, not as bookkeeping. The reader's functions are known by
 * name: esbuild keeps them in the bundle.
 */
function stageOf(stack: readonly { functionName: string; url: string }[]): Stage {
  const leaf = stack[0]?.functionName ?? '';
  if (leaf === '(garbage collector)') return 'garbage collection';
  if (leaf === '(idle)') return 'idle (main thread waiting, e.g. for gunzip on the thread pool)';
  if (leaf === '(program)') return 'other native (V8 "(program)")';
  const has = (test: (frame: { functionName: string; url: string }) => boolean) => stack.some(test);
  if (has((frame) => frame.url.startsWith('wasm://')))
    return 'structural scan and first needle group (WebAssembly)';
  if (has((frame) => frame.functionName === 'passesPrefilter'))
    return 'needle search of further groups (indexOf)';
  if (
    has(
      (frame) => frame.functionName === 'decodeUtf8' || (frame.functionName === 'parse' && frame.url === ''),
    )
  )
    return 'parse of matching records (UTF-8 decode, JSON.parse)';
  if (has((frame) => frame.functionName === 'onRecord' || RULE_FUNCTIONS.has(frame.functionName)))
    return 'exact rule and window grouping';
  if (has((frame) => frame.functionName === 'loadChunk')) return 'copy into scanner memory';
  if (has((frame) => SCANNER_FUNCTIONS.has(frame.functionName) && isBundle(frame.url)))
    return 'scanner bookkeeping (state machine, records, carry)';
  if (has((frame) => frame.url === 'node:zlib')) return 'gunzip calls on the main thread';
  return 'stream overhead (pipeline, async iteration, file reads)';
}

/**
 * Functions of the exact rule and the aggregator (V8 often inlines onRecord into the scanner, so the rule's own
 * frames tell its samples apart).
 */
const RULE_FUNCTIONS = new Set([
  'add',
  'count',
  'addContext',
  'groupFor',
  'contributions',
  'matchesFilter',
  'getField',
  'fieldValues',
  'conditionValues',
  'optionalString',
  'parseEventTime',
  'cloudTrailTime',
  'hashEventId',
]);
/** The scanner's own JavaScript (its state machine and per-record work). */
const SCANNER_FUNCTIONS = new Set(['push', 'scanRecords', 'completeRecord', 'finishDeepRecord']);

/** Code of the bundle itself (the reader and the bench), as opposed to Node's internals and V8 builtins. */
function isBundle(url: string): boolean {
  return url !== '' && !url.startsWith('node:') && !url.startsWith('wasm://');
}

/** Main-thread milliseconds per stage of `profile` (sample time deltas are in microseconds). */
export function stagesOfProfile(profile: CpuProfile, wallMs: number, cpuMs: number): ProfileBreakdown {
  const parent = new Map<number, number>();
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const stageById = new Map<number, Stage>();
  const stageOfNode = (id: number): Stage => {
    const known = stageById.get(id);
    if (known !== undefined) return known;
    const stack: { functionName: string; url: string }[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (frame !== undefined) stack.push(frame);
    }
    const stage = stageOf(stack);
    stageById.set(id, stage);
    return stage;
  };
  const stages = Object.fromEntries(STAGES.map((stage) => [stage, 0])) as Record<Stage, number>;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (const [index, id] of samples.entries()) {
    // A sample's time is the gap to the next sample (V8 records the gap before each).
    const micros = deltas[index + 1] ?? 0;
    const stage = stageOfNode(id);
    stages[stage] += micros / 1000;
  }
  return { wallMs, cpuMs, stages };
}
