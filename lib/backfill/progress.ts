/** Counters a backfill reports while it runs. */
export interface ProgressSnapshot {
  readonly objectsDone: number;
  readonly objectsTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly failed: number;
  /** Alerts published (direct), findings so far (`--no-alerts`), or undefined when unknown (queue). */
  readonly findings?: number;
  /** What the done objects were: 'processed' (direct) or 'sent' (queue). */
  readonly verb: string;
}

/** `1.5 KB`, `23.4 MB`: decimal units, as S3 and the console show sizes. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** `h:mm:ss` or `m:ss`. */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/**
 * One progress line: objects, bytes, rate, ETA and findings. The rate is objects per second since the start;
 * the ETA extrapolates the byte rate (objects differ in size far more than in count), and is `-` until
 * something is done.
 */
export function progressLine(snapshot: ProgressSnapshot, elapsedSeconds: number, bar: boolean): string {
  const { objectsDone, objectsTotal, bytesDone, bytesTotal } = snapshot;
  const fraction =
    bytesTotal > 0 ? bytesDone / bytesTotal : objectsTotal > 0 ? objectsDone / objectsTotal : 1;
  const percent = `${Math.floor(fraction * 100)}%`;
  const rate = elapsedSeconds > 0 ? objectsDone / elapsedSeconds : 0;
  const remainingSeconds =
    fraction > 0 && fraction < 1 && elapsedSeconds > 0
      ? (elapsedSeconds / fraction) * (1 - fraction)
      : undefined;
  const parts = [
    `${objectsDone}/${objectsTotal} objects ${snapshot.verb}`,
    `${formatBytes(bytesDone)}/${formatBytes(bytesTotal)}`,
    `${rate.toFixed(1)} obj/s`,
    `ETA ${fraction >= 1 ? '0:00' : remainingSeconds === undefined ? '-' : formatDuration(remainingSeconds)}`,
    ...(snapshot.findings === undefined ? [] : [`${snapshot.findings} finding(s)`]),
    ...(snapshot.failed > 0 ? [`${snapshot.failed} failed`] : []),
  ];
  if (!bar) return `backfill: ${percent} ${parts.join(', ')}`;
  const width = 24;
  const filled = Math.min(width, Math.floor(fraction * width));
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${percent.padStart(4)} ${parts.join('  ')}`;
}

/** Where progress goes: stderr of the CLI. */
export interface ProgressSink {
  write(text: string): unknown;
}

/**
 * Reports progress while a backfill runs: on a terminal, one bar redrawn in place every `barMs`; otherwise
 * (logs, CI) a plain line every `lineMs`, so output stays readable and greppable. `finish` prints the final
 * state once, on its own line.
 */
export class ProgressReporter {
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt: number;

  constructor(
    private readonly sink: ProgressSink,
    private readonly snapshot: () => ProgressSnapshot,
    private readonly options: {
      readonly interactive: boolean;
      readonly lineMs?: number;
      readonly barMs?: number;
      readonly clock?: () => number;
    },
  ) {
    this.startedAt = this.now();
  }

  start(): void {
    const interval = this.options.interactive ? (this.options.barMs ?? 200) : (this.options.lineMs ?? 10_000);
    this.timer = setInterval(() => this.draw(), interval);
    this.timer.unref();
  }

  finish(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    const line = progressLine(this.snapshot(), this.elapsed(), this.options.interactive);
    this.sink.write(this.options.interactive ? `\r\u001b[2K${line}\n` : `${line}\n`);
  }

  private draw(): void {
    const line = progressLine(this.snapshot(), this.elapsed(), this.options.interactive);
    this.sink.write(this.options.interactive ? `\r\u001b[2K${line}` : `${line}\n`);
  }

  private elapsed(): number {
    return (this.now() - this.startedAt) / 1000;
  }

  private now(): number {
    return (this.options.clock ?? Date.now)();
  }
}
