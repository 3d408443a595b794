import type { TransformOptions } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, type ZlibOptions } from 'node:zlib';
import { definedOnly } from '../defined-only';
import {
  CorruptGzipError,
  LogObjectLimitError,
  MalformedJsonError,
  NotCloudTrailShapeError,
  PoisonObjectError,
} from '../errors';
import { STRUCTURAL_SCAN_WASM_BASE64 } from './structural-scan-wasm';

/** Bounds that keep reading one log object safe whatever its content. */
export interface ReaderLimits {
  /** Most bytes of JSON one object may hold; checked while inflating, so a gzip bomb stops early. */
  readonly maxDecompressedBytes: number;
  /** Largest single record, in bytes of JSON; memory use is bounded by it, not by the object. */
  readonly maxRecordBytes: number;
  /** Most records one object may hold. */
  readonly maxRecords: number;
}

/**
 * Limits far above anything CloudTrail writes (log files hold at most a few thousand records of a few KB),
 * yet low enough for a 512 MB Lambda.
 */
export const DEFAULT_READER_LIMITS: ReaderLimits = {
  maxDecompressedBytes: 2 * 1024 * 1024 * 1024,
  maxRecordBytes: 8 * 1024 * 1024,
  maxRecords: 2_000_000,
};

/** What reading one object found. */
export interface ReadStats {
  /** Every record in `Records`. */
  readonly records: number;
  /** Records that passed the prefilter and were parsed. */
  readonly parsed: number;
  /** Records nested deeper than MAX_NESTING_DEPTH: skipped (never parsed), the rest of the object read. */
  readonly tooDeep: number;
  /** Bytes read from the body (gzip or plain). */
  readonly compressedBytes: number;
  /** Bytes of JSON scanned (equals `compressedBytes` for plain input). */
  readonly decompressedBytes: number;
  /** True when the body started with the gzip magic bytes. */
  readonly gzip: boolean;
}

export interface ReadOptions {
  /** Used in every error message. */
  readonly objectName: string;
  readonly limits?: Partial<ReaderLimits>;
  /**
   * Prefilter: for each inner array at least one needle must occur in the raw record bytes, else the record
   * is not parsed. Comes from prefilterNeedles(rule) in lambda/domain/detection/rule.ts. Empty outer array = parse
   * every record.
   */
  readonly needles: readonly (readonly Buffer[])[];
  /** Called with each parsed record that passed the prefilter, in file order. */
  readonly onRecord: (record: unknown) => void;
  /** Called for each record skipped unread (nested too deep), with the reason, in file order. */
  readonly onSkippedRecord?: (reason: string) => void;
}

/**
 * Deepest nesting parsed (top-level object and `Records` array included): keeps JSON.parse off the stack
 * limit. A record nested deeper is skipped and reported, never parsed; deeper nesting outside `Records` is
 * malformed input.
 */
export const MAX_NESTING_DEPTH = 128;
/** Nesting of `Records` entries: inside the top-level object and the array. */
const RECORD_DEPTH = 2;

/**
 * Gunzip settings of the reader: chunks 16 times zlib's default (a quarter of zlib's main-thread work per
 * byte, measured), and a read-ahead that lets zlib inflate on the thread pool while the main thread scans.
 */
export const READER_GUNZIP_OPTIONS: ZlibOptions & TransformOptions = {
  chunkSize: 256 * 1024,
  readableHighWaterMark: 1024 * 1024,
};
const INITIAL_CARRY_BYTES = 64 * 1024;
/** Input is read in batches of about this many bytes (see `counted`). */
const INPUT_BATCH_BYTES = 256 * 1024;
const MAX_TOP_LEVEL_KEY_BYTES = 256;
const MAX_LITERAL_BYTES = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/** The part of the WebAssembly API the reader uses (the project's TypeScript libs leave out the DOM's). */
interface WebAssemblyApi {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object) => { readonly exports: unknown };
}
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmGlobal {
  readonly value: number;
}
const wasmApi = (globalThis as unknown as { readonly WebAssembly: WebAssemblyApi }).WebAssembly;

/** The structural scanner, compiled once per process (a few hundred bytes); each reader gets an instance. */
const STRUCTURAL_SCAN = new wasmApi.Module(Buffer.from(STRUCTURAL_SCAN_WASM_BASE64, 'base64'));

interface StructuralScanExports {
  readonly memory: WasmMemory;
  scan(
    from: number,
    end: number,
    baseDepth: number,
    depth: number,
    inString: number,
    escapePending: number,
    maxDepth: number,
    needleCount: number,
    records: number,
    maxRecords: number,
  ): number;
  readonly outDepth: WasmGlobal;
  readonly outInString: WasmGlobal;
  readonly outEscape: WasmGlobal;
  readonly errorAt: WasmGlobal;
  readonly recordCount: WasmGlobal;
}

/**
 * Scanner instances no reader is using. A reader takes one and gives it back when it ends, however it ends,
 * instead of instantiating one and growing its memory to a chunk's size for every object. Every byte of an
 * instance's memory a scan reads is written first by that scan (stack, needles, chunk, record list), so
 * nothing of one object reaches the next. At most MAX_IDLE_SCANS are kept, each as large as the largest chunk
 * it has scanned.
 */
const idleScans: StructuralScanExports[] = [];
const MAX_IDLE_SCANS = 8;

function takeStructuralScan(): StructuralScanExports {
  return (
    idleScans.pop() ?? (new wasmApi.Instance(STRUCTURAL_SCAN).exports as unknown as StructuralScanExports)
  );
}

function giveBackStructuralScan(scan: StructuralScanExports): void {
  if (idleScans.length < MAX_IDLE_SCANS) idleScans.push(scan);
}

/** Records mode writes up to this many (end, hit) pairs of i32 here, before the input. */
const WASM_RECORDS = 512;
const WASM_MAX_RECORDS = 1024;
/**
 * Where the input chunk starts in the scanner's memory: bytes before it hold the bracket stack, the needles
 * and the records mode's output.
 */
const WASM_INPUT = WASM_RECORDS + 8 * WASM_MAX_RECORDS;
/** Needle descriptors (4 bytes each) and the needles' bytes, in the scanner's memory (see structural-scan.wat). */
const WASM_NEEDLE_DESCRIPTORS = 256;
const WASM_NEEDLE_BYTES = 272;
const WASM_MAX_NEEDLES = 4;
const WASM_MAX_NEEDLE_BYTES = WASM_RECORDS - WASM_NEEDLE_BYTES;
/** Bytes kept free after the chunk: the scanner loads 64 bytes at a time, at most a needle's length ahead. */
const WASM_SLACK = 64 + WASM_MAX_NEEDLE_BYTES;
const WASM_PAGE = 65_536;
const WASM_MISMATCHED = -2;
const WASM_TOO_DEEP = -3;
const WASM_BETWEEN_RECORDS = -4;
/** scanContainer's answer when a record opens a bracket past the nesting limit (see `deepFrom`). */
const DEEPER_THAN_LIMIT = -2;

/**
 * Reads the records of one CloudTrail log object (`{"Records":[{...},...]}`), gzip (told by its magic bytes,
 * never by name) or plain JSON, as a stream. Memory is bounded by the largest single record, not the object.
 * Only records that contain the needles are parsed and handed to `onRecord`, in file order.
 *
 * @throws CorruptGzipError, MalformedJsonError, NotCloudTrailShapeError or LogObjectLimitError (all naming
 *   the object); errors of `body` itself and of `onRecord` pass through unchanged.
 */
export async function readCloudTrailRecords(
  body: AsyncIterable<Uint8Array>,
  options: ReadOptions,
): Promise<ReadStats> {
  const limits: ReaderLimits = { ...DEFAULT_READER_LIMITS, ...definedOnly(options.limits ?? {}) };
  const source = body[Symbol.asyncIterator]();
  const head = await readHead(source);
  const gzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  let compressedBytes = 0;
  // Network and file streams deliver 16-64 KiB pieces; handing gunzip 256 KiB or more at a time lets it inflate
  // on the thread pool while this thread scans (measured on 600 MB: 1.5 -> 1.2 times the cost of gunzip alone).
  const counted = async function* (): AsyncGenerator<Buffer> {
    const pending: Buffer[] = [];
    let pendingBytes = 0;
    try {
      for (let next = head; ; ) {
        if (next.length > 0) {
          compressedBytes += next.length;
          pending.push(next);
          pendingBytes += next.length;
        }
        const result = pendingBytes >= INPUT_BATCH_BYTES ? undefined : await source.next();
        if (result === undefined || result.done === true) {
          if (pendingBytes > 0)
            yield pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
          pending.length = 0;
          pendingBytes = 0;
          if (result?.done === true) return;
          next = Buffer.alloc(0);
          continue;
        }
        next = asBuffer(result.value);
      }
    } finally {
      // Stopping early (a limit, a poison object) must release the body, e.g. its socket.
      await source.return?.();
    }
  };
  const scan = takeStructuralScan();
  const scanner = new RecordScanner(options, limits, scan);
  try {
    if (gzip) {
      await inflateInto(counted(), scanner, options.objectName);
    } else {
      for await (const chunk of counted()) scanner.push(chunk);
    }
    scanner.finish();
  } finally {
    giveBackStructuralScan(scan);
  }
  return {
    records: scanner.records,
    parsed: scanner.parsed,
    tooDeep: scanner.tooDeep,
    compressedBytes,
    decompressedBytes: scanner.scannedBytes,
    gzip,
  };
}

/** Reads chunks until at least two bytes are known (enough for the gzip magic) or the body ends. */
async function readHead(source: AsyncIterator<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  let length = 0;
  while (length < 2) {
    const result = await source.next();
    if (result.done === true) break;
    const chunk = asBuffer(result.value);
    parts.push(chunk);
    length += chunk.length;
  }
  return parts.length === 1 && parts[0] !== undefined ? parts[0] : Buffer.concat(parts, length);
}

/** Inflates `compressed` into `scanner`; only failures of zlib itself become CorruptGzipError. */
async function inflateInto(
  compressed: AsyncIterable<Buffer>,
  scanner: RecordScanner,
  objectName: string,
): Promise<void> {
  let passThrough: unknown;
  const remember = async function* (): AsyncGenerator<Buffer> {
    try {
      yield* compressed;
    } catch (error) {
      passThrough = error;
      throw error;
    }
  };
  try {
    await pipeline(
      remember(),
      createGunzip(READER_GUNZIP_OPTIONS),
      async (inflated: AsyncIterable<Buffer>) => {
        // Errors of the iteration itself come from zlib; only the scanner's (and onRecord's) pass through.
        for await (const chunk of inflated) {
          try {
            scanner.push(chunk);
          } catch (error) {
            passThrough = error;
            throw error;
          }
        }
      },
    );
  } catch (error) {
    if (error === passThrough || error instanceof PoisonObjectError) throw error;
    throw new CorruptGzipError(objectName, `gzip stream is corrupt or truncated: ${messageOf(error)}`, {
      cause: error,
    });
  }
}

enum Mode {
  BeforeTop,
  TopKeyOrEnd,
  TopKeyStart,
  TopKey,
  TopColon,
  TopValue,
  SkipContainer,
  SkipString,
  SkipLiteral,
  TopCommaOrEnd,
  RecordOrEnd,
  RecordStart,
  InRecord,
  RecordCommaOrEnd,
  AfterTop,
}

/**
 * A push-driven byte scanner for the CloudTrail log shape. Invariants between chunks: `stack[0..depth)` holds
 * the open brackets; `inString`/`escapePending` describe the byte before the next chunk; while a record is
 * open, `carry[0..carryLength)` holds its bytes from earlier chunks (each byte copied at most once more).
 */
class RecordScanner {
  records = 0;
  parsed = 0;
  tooDeep = 0;
  scannedBytes = 0;

  private mode = Mode.BeforeTop;
  private depth = 0;
  private inString = false;
  private escapePending = false;
  private carry = Buffer.allocUnsafe(INITIAL_CARRY_BYTES);
  private carryLength = 0;
  private topKey: number[] = [];
  private topKeyIsRecords = false;
  private sawRecords = false;
  private topMembers = 0;
  private topIsObject = true;
  private skipBaseDepth = 1;
  private literal: number[] = [];
  /**
   * While the open record is nested deeper than MAX_NESTING_DEPTH: the brackets past the limit (the first
   * `deepLength` bytes), followed byte by byte until the nesting is back at the limit. The scanner's own stack
   * stays at the limit meanwhile.
   */
  private deepBrackets = new Uint8Array(256);
  private deepLength = 0;
  /** Where the chunk continues after the bracket that went past the limit. */
  private deepFrom = 0;
  /** The open record went past the nesting limit: it is skipped when it ends. */
  private recordTooDeep = false;
  /** Where the open record starts in the chunk being pushed; -1 while it started in an earlier one (see `carry`). */
  private openRecordStart = -1;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  private stackView = new Uint8Array(0);
  private recordsView = new Int32Array(0);
  private readonly objectName: string;
  private readonly needles: readonly (readonly Buffer[])[];
  /** Needles of the first group the WebAssembly scan searches in the same pass (0: none, see loadNeedles). */
  private readonly scannedNeedles: number;
  private readonly onRecord: (record: unknown) => void;
  private readonly onSkippedRecord: (reason: string) => void;

  constructor(
    options: ReadOptions,
    private readonly limits: ReaderLimits,
    private readonly wasm: StructuralScanExports,
  ) {
    this.objectName = options.objectName;
    this.needles = options.needles;
    this.onRecord = options.onRecord;
    this.onSkippedRecord = options.onSkippedRecord ?? (() => undefined);
    this.scannedNeedles = this.loadNeedles(options.needles[0] ?? []);
  }

  /** Scans one chunk; the chunk is not kept after the call except for the part of a record still open. */
  push(chunk: Buffer): void {
    const offset = this.scannedBytes;
    this.scannedBytes += chunk.length;
    if (this.scannedBytes > this.limits.maxDecompressedBytes) {
      throw new LogObjectLimitError(
        this.objectName,
        'decompressedBytes',
        `more than ${this.limits.maxDecompressedBytes} bytes of JSON`,
      );
    }
    this.loadChunk(chunk);
    const n = chunk.length;
    let i = 0;
    this.openRecordStart = -1;
    while (i < n) {
      if (this.mode === Mode.InRecord) {
        i = this.recordTooDeep ? this.finishDeepRecord(chunk, i) : this.scanRecords(chunk, i);
        if (i < 0) {
          this.appendCarry(chunk, this.openRecordStart, n);
          return;
        }
        continue;
      }
      if (this.mode === Mode.SkipContainer || this.mode === Mode.SkipString) {
        const end = this.scanContainer(chunk, i, this.skipBaseDepth);
        if (end < 0) return;
        this.endSkippedValue();
        i = end;
        continue;
      }
      const b = chunk[i] as number;
      if (this.mode === Mode.TopKey) {
        i = this.scanTopKey(chunk, i, offset);
        continue;
      }
      if (this.mode === Mode.SkipLiteral) {
        if (isLiteralByte(b)) {
          if (this.literal.length >= MAX_LITERAL_BYTES) this.malformed('over-long literal', offset + i);
          this.literal.push(b);
          i++;
          continue;
        }
        this.endLiteral(offset + i);
        this.endSkippedValue();
        continue;
      }
      if (isWhitespace(b)) {
        i++;
        continue;
      }
      this.openRecordStart = this.structural(b, offset + i) ? i : -1;
      i++;
    }
    if (this.mode === Mode.InRecord) this.appendCarry(chunk, this.openRecordStart, n);
  }

  /** Checks that the input ended where a CloudTrail object may end. */
  finish(): void {
    if (this.mode === Mode.SkipLiteral) {
      this.endLiteral(this.scannedBytes);
      this.endSkippedValue();
    }
    if (this.mode === Mode.AfterTop) return;
    if (this.scannedBytes === 0) this.notCloudTrail('the object is empty');
    if (this.mode === Mode.BeforeTop) this.malformed('no JSON value', this.scannedBytes);
    this.malformed('unexpected end of input', this.scannedBytes);
  }

  /** Handles one non-whitespace byte outside records and skipped values; true when a record starts at it. */
  private structural(b: number, at: number): boolean {
    switch (this.mode) {
      case Mode.BeforeTop:
        if (b === OPEN_BRACE) {
          this.push1(OPEN_BRACE, at);
          this.mode = Mode.TopKeyOrEnd;
          return false;
        }
        // Any other JSON value is read to its end first, so that malformed input is reported as such.
        this.topIsObject = false;
        return this.skipValue(b, at);
      case Mode.TopKeyOrEnd:
        if (b === CLOSE_BRACE && this.topMembers === 0) return this.closeTop();
        return this.expectKey(b, at);
      case Mode.TopKeyStart:
        return this.expectKey(b, at);
      case Mode.TopColon:
        if (b !== COLON) this.malformed('expected ":"', at);
        this.mode = Mode.TopValue;
        return false;
      case Mode.TopValue:
        return this.topValue(b, at);
      case Mode.TopCommaOrEnd:
        if (b === COMMA) {
          this.mode = Mode.TopKeyStart;
          return false;
        }
        if (b === CLOSE_BRACE) return this.closeTop();
        return this.malformed('expected "," or "}"', at);
      case Mode.RecordOrEnd:
        if (b === CLOSE_BRACKET) return this.closeRecords();
        return this.recordStart(b, at);
      case Mode.RecordStart:
        return this.recordStart(b, at);
      case Mode.RecordCommaOrEnd:
        if (b === COMMA) {
          this.mode = Mode.RecordStart;
          return false;
        }
        if (b === CLOSE_BRACKET) return this.closeRecords();
        return this.malformed('expected "," or "]" in Records', at);
      default:
        return this.malformed('unexpected data after the top-level object', at);
    }
  }

  private expectKey(b: number, at: number): boolean {
    if (b !== QUOTE) this.malformed('expected an object key', at);
    this.topKey = [];
    this.escapePending = false;
    this.mode = Mode.TopKey;
    return false;
  }

  private topValue(b: number, at: number): boolean {
    this.topMembers++;
    if (this.topKeyIsRecords) {
      // JSON.parse would keep only the last one; reading both would count records no parser sees.
      if (this.sawRecords) this.notCloudTrail('Records appears twice');
      this.sawRecords = true;
      if (b !== OPEN_BRACKET) return this.notAValue(b, at, 'Records is not an array');
      this.push1(OPEN_BRACKET, at);
      this.mode = Mode.RecordOrEnd;
      return false;
    }
    return this.skipValue(b, at);
  }

  /** Starts skipping the value that begins with `b`: only its structure is checked, nothing is kept. */
  private skipValue(b: number, at: number): boolean {
    this.skipBaseDepth = this.depth;
    if (b === OPEN_BRACE || b === OPEN_BRACKET) {
      this.push1(b, at);
      this.inString = false;
      this.mode = Mode.SkipContainer;
    } else if (b === QUOTE) {
      this.inString = true;
      this.escapePending = false;
      this.mode = Mode.SkipString;
    } else if (isValueStart(b)) {
      this.literal = [b];
      this.mode = Mode.SkipLiteral;
    } else {
      this.malformed(`not JSON: unexpected byte ${hex(b)}`, at);
    }
    return false;
  }

  private endSkippedValue(): void {
    if (!this.topIsObject) this.notCloudTrail('the top level is not an object');
    this.mode = Mode.TopCommaOrEnd;
  }

  private recordStart(b: number, at: number): boolean {
    if (b !== OPEN_BRACE) return this.notAValue(b, at, `entry ${this.records} of Records is not an object`);
    this.checkRecordCount();
    this.push1(OPEN_BRACE, at);
    this.inString = false;
    this.mode = Mode.InRecord;
    return true;
  }

  /** A record opens: past the limit on records, the object is refused. */
  private checkRecordCount(): void {
    if (this.records >= this.limits.maxRecords) {
      throw new LogObjectLimitError(
        this.objectName,
        'recordCount',
        `more than ${this.limits.maxRecords} records`,
      );
    }
  }

  private closeRecords(): boolean {
    this.depth--;
    this.mode = Mode.TopCommaOrEnd;
    return false;
  }

  private closeTop(): boolean {
    this.depth--;
    if (!this.sawRecords) this.notCloudTrail('the object has no Records member');
    this.mode = Mode.AfterTop;
    return false;
  }

  private push1(bracket: number, at: number): void {
    if (this.depth >= MAX_NESTING_DEPTH) this.malformed(`nesting deeper than ${MAX_NESTING_DEPTH}`, at);
    this.stack[this.depth++] = bracket;
  }

  /**
   * Scans the open record from `from`, and the records that follow it at once (`},{`), in one call of the
   * WebAssembly scan in records mode, then completes each (needle hit from the scan). Returns the index after
   * the last record, the mode then between records, or -1 when the chunk ends inside a record (its start in
   * `openRecordStart`). A record nested past the limit is followed on by `finishDeepRecord`.
   */
  private scanRecords(chunk: Buffer, from: number): number {
    const { scan, recordCount, outDepth, outInString, outEscape, errorAt } = this.wasm;
    const result = scan(
      WASM_INPUT + from,
      WASM_INPUT + chunk.length,
      RECORD_DEPTH,
      this.depth,
      this.inString ? 1 : 0,
      this.escapePending ? 1 : 0,
      MAX_NESTING_DEPTH,
      this.scannedNeedles,
      WASM_RECORDS,
      WASM_MAX_RECORDS,
    );
    const count = recordCount.value;
    const ends = this.records32;
    let start = this.openRecordStart;
    for (let k = 0; k < count; k++) {
      // Records after the first were opened by the scan: the count limit applies as to any record.
      if (k > 0) this.checkRecordCount();
      const end = (ends[2 * k] as number) - WASM_INPUT;
      // A record that began in this chunk was searched whole by the scan (a needle starts after its brace).
      const hit = start >= 0 && this.scannedNeedles > 0 ? ends[2 * k + 1] === 1 : undefined;
      this.completeRecord(chunk, start, end, hit);
      start = end + 1;
    }
    if (result === WASM_BETWEEN_RECORDS) {
      this.depth = RECORD_DEPTH;
      this.inString = false;
      this.escapePending = false;
      this.openRecordStart = -1;
      this.mode = Mode.RecordCommaOrEnd;
      return start - 1;
    }
    // The scan stopped inside a record: the one it was given, or one it opened after `,{`.
    if (count > 0) {
      this.checkRecordCount();
      this.openRecordStart = start;
    }
    if (result === WASM_MISMATCHED)
      this.malformed('mismatched bracket', this.offsetOf(chunk, errorAt.value - WASM_INPUT));
    if (result === WASM_TOO_DEEP) {
      this.enterDeep(chunk, errorAt.value - WASM_INPUT);
      return this.deepFrom;
    }
    this.depth = outDepth.value;
    this.inString = outInString.value === 1;
    this.escapePending = outEscape.value === 1;
    return -1;
  }

  /** Follows a record that went past the nesting limit to its end, and skips it (see completeRecord). */
  private finishDeepRecord(chunk: Buffer, from: number): number {
    const end = this.scanRecord(chunk, from);
    if (end < 0) return -1;
    this.completeRecord(chunk, this.openRecordStart, end, undefined);
    this.openRecordStart = -1;
    this.mode = Mode.RecordCommaOrEnd;
    return end;
  }

  /**
   * Scans the open record from `from` to its end: the index after its closing brace, or -1 when the chunk
   * ends first. Past the nesting limit the record is followed by `skipDeep` (to be skipped, not parsed) and
   * the structural scan resumes once the nesting is back at the limit.
   */
  private scanRecord(chunk: Buffer, from: number): number {
    let i = from;
    for (;;) {
      if (this.deepLength > 0) {
        i = this.skipDeep(chunk, i);
        if (i < 0) return -1;
      }
      const end = this.scanContainer(chunk, i, RECORD_DEPTH);
      if (end !== DEEPER_THAN_LIMIT) return end;
      i = this.deepFrom;
    }
  }

  /**
   * Follows the part of a record nested past the limit, from `from`: strings, escapes and brackets (which
   * must match, as everywhere), byte by byte (only hostile input nests this deep). Returns the index after
   * the bracket that brings the nesting back to the limit, or -1 when the chunk ends first.
   */
  private skipDeep(chunk: Buffer, from: number): number {
    const n = chunk.length;
    for (let i = from; i < n; i++) {
      const b = chunk[i] as number;
      if (this.inString) {
        if (this.escapePending) this.escapePending = false;
        else if (b === BACKSLASH) this.escapePending = true;
        else if (b === QUOTE) this.inString = false;
      } else if (b === QUOTE) {
        this.inString = true;
      } else if (b === OPEN_BRACE || b === OPEN_BRACKET) {
        this.pushDeep(b);
      } else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        // `}` and `]` are their openers plus 2 in ASCII.
        if (this.deepBrackets[this.deepLength - 1] !== b - 2)
          this.malformed('mismatched bracket', this.offsetOf(chunk, i));
        this.deepLength -= 1;
        if (this.deepLength === 0) return i + 1;
      }
    }
    return -1;
  }

  /** The bracket at `at` opens past the limit, outside any string; the scanner's stack holds the limit. */
  private enterDeep(chunk: Buffer, at: number): void {
    this.depth = MAX_NESTING_DEPTH;
    this.inString = false;
    this.escapePending = false;
    this.recordTooDeep = true;
    this.deepLength = 0;
    this.pushDeep(chunk[at] as number);
    this.deepFrom = at + 1;
  }

  private pushDeep(bracket: number): void {
    if (this.deepLength === this.deepBrackets.length) {
      const grown = new Uint8Array(this.deepBrackets.length * 2);
      grown.set(this.deepBrackets);
      this.deepBrackets = grown;
    }
    this.deepBrackets[this.deepLength++] = bracket;
  }

  /**
   * Scans a container (or string) whose bytes began before `from` until the nesting is back to `baseDepth`
   * outside any string. Returns the index just after its last byte, or -1 when the chunk ends first.
   * This is the hot loop: containers are scanned by the WebAssembly SIMD scanner over the chunk copied into
   * its memory (see structural-scan.wat), about five times faster than the same loop in JavaScript. A string
   * value at the skip base (a top-level string member) ends at its closing quote instead.
   */
  private scanContainer(chunk: Buffer, from: number, baseDepth: number, needleCount = 0): number {
    if (this.inString && this.depth === baseDepth) {
      const end = this.endOfString(chunk, from);
      if (end >= 0) this.inString = false;
      return end;
    }
    const { scan, outDepth, outInString, outEscape, errorAt } = this.wasm;
    const result = scan(
      WASM_INPUT + from,
      WASM_INPUT + chunk.length,
      baseDepth,
      this.depth,
      this.inString ? 1 : 0,
      this.escapePending ? 1 : 0,
      MAX_NESTING_DEPTH,
      needleCount,
      0,
      0,
    );
    if (result >= 0) {
      // The container closed outside any string: the state is its base, with nothing pending.
      this.depth = baseDepth;
      this.inString = false;
      this.escapePending = false;
      return result - WASM_INPUT;
    }
    if (result === WASM_MISMATCHED)
      this.malformed('mismatched bracket', this.offsetOf(chunk, errorAt.value - WASM_INPUT));
    if (result === WASM_TOO_DEEP) {
      const at = errorAt.value - WASM_INPUT;
      if (this.mode !== Mode.InRecord)
        this.malformed(`nesting deeper than ${MAX_NESTING_DEPTH}`, this.offsetOf(chunk, at));
      this.enterDeep(chunk, at);
      return DEEPER_THAN_LIMIT;
    }
    this.depth = outDepth.value;
    this.inString = outInString.value === 1;
    this.escapePending = outEscape.value === 1;
    return -1;
  }

  /** Copies the chunk into the scanner's memory (growing it when needed), where `scanContainer` reads it. */
  private loadChunk(chunk: Buffer): void {
    const needed = WASM_INPUT + chunk.length + WASM_SLACK;
    const memory = this.wasm.memory;
    if (memory.buffer.byteLength < needed) {
      memory.grow(Math.ceil((needed - memory.buffer.byteLength) / WASM_PAGE));
    }
    new Uint8Array(memory.buffer).set(chunk, WASM_INPUT);
  }

  /**
   * The bracket stack lives in the scanner's memory, so both scans share it. The view is kept until the memory
   * grows (growing replaces its buffer), not made again for every bracket.
   */
  private get stack(): Uint8Array {
    const buffer = this.wasm.memory.buffer;
    if (this.stackView.buffer !== buffer) this.stackView = new Uint8Array(buffer, 0, WASM_NEEDLE_DESCRIPTORS);
    return this.stackView;
  }

  /** The scan's list of record ends and needle hits (records mode), kept as `stack` is. */
  private get records32(): Int32Array {
    const buffer = this.wasm.memory.buffer;
    if (this.recordsView.buffer !== buffer) {
      this.recordsView = new Int32Array(buffer, WASM_RECORDS, 2 * WASM_MAX_RECORDS);
    }
    return this.recordsView;
  }

  /**
   * From `from` inside a string, returns the index after its closing quote, or -1 when the chunk ends first
   * (then `escapePending` says whether the next chunk starts with an escaped byte). Every backslash escapes
   * exactly the byte after it, which is all JSON needs to find the end of a string.
   */
  private endOfString(chunk: Buffer, from: number): number {
    const n = chunk.length;
    let i = from;
    if (this.escapePending) {
      this.escapePending = false;
      i++;
    }
    while (i < n) {
      const b = chunk[i];
      if (b === QUOTE) return i + 1;
      i += b === BACKSLASH ? 2 : 1;
    }
    this.escapePending = i > n;
    return -1;
  }

  /** Reads a top-level key byte by byte (keys are short and rare); escapes are decoded at the end. */
  private scanTopKey(chunk: Buffer, from: number, offset: number): number {
    let i = from;
    while (i < chunk.length) {
      const b = chunk[i] as number;
      i++;
      if (this.escapePending) {
        this.escapePending = false;
      } else if (b === BACKSLASH) {
        this.escapePending = true;
      } else if (b === QUOTE) {
        this.topKeyIsRecords = this.decodeTopKey(offset + i) === 'Records';
        this.mode = Mode.TopColon;
        return i;
      }
      if (this.topKey.length <= MAX_TOP_LEVEL_KEY_BYTES) this.topKey.push(b);
    }
    return i;
  }

  private decodeTopKey(at: number): string | undefined {
    if (this.topKey.length > MAX_TOP_LEVEL_KEY_BYTES) return undefined;
    const text = this.decodeUtf8(Buffer.from(this.topKey), at);
    try {
      return JSON.parse(`"${text}"`) as string;
    } catch (error) {
      return this.malformed('invalid object key', at, error);
    }
  }

  private endLiteral(at: number): void {
    try {
      JSON.parse(Buffer.from(this.literal).toString('latin1'));
    } catch (error) {
      this.malformed('invalid literal', at, error);
    }
  }

  private appendCarry(chunk: Buffer, start: number, end: number): void {
    const from = Math.max(start, 0);
    const needed = this.carryLength + (end - from);
    if (needed > this.limits.maxRecordBytes) this.recordTooLarge();
    if (needed > this.carry.length) {
      const grown = Buffer.allocUnsafe(
        Math.max(needed, Math.min(this.carry.length * 2, this.limits.maxRecordBytes)),
      );
      this.carry.copy(grown, 0, 0, this.carryLength);
      this.carry = grown;
    }
    chunk.copy(this.carry, this.carryLength, from, end);
    this.carryLength = needed;
  }

  /**
   * `firstGroup`: whether the record holds a needle of the first group, when the scan searched for them
   * (undefined: search its bytes here).
   */
  private completeRecord(chunk: Buffer, start: number, end: number, firstGroup: boolean | undefined): void {
    if (start >= 0 && firstGroup === false) {
      // Most records: the scan found no needle of the first group, so nothing of the record is needed.
      if (end - start > this.limits.maxRecordBytes) this.recordTooLarge();
      this.records++;
      return;
    }
    let bytes: Buffer;
    if (start < 0) {
      this.appendCarry(chunk, 0, end);
      bytes = this.carry.subarray(0, this.carryLength);
      this.carryLength = 0;
    } else {
      bytes = chunk.subarray(start, end);
      if (bytes.length > this.limits.maxRecordBytes) this.recordTooLarge();
    }
    this.records++;
    if (this.recordTooDeep) {
      this.recordTooDeep = false;
      this.tooDeep++;
      this.onSkippedRecord(`record ${this.records - 1} is nested deeper than ${MAX_NESTING_DEPTH}`);
      return;
    }
    if (!this.passesPrefilter(bytes, firstGroup)) return;
    const at = this.scannedBytes - chunk.length + end;
    let record: unknown;
    const text = this.decodeUtf8(bytes, at);
    try {
      record = JSON.parse(text);
    } catch (error) {
      this.malformed(`record ${this.records - 1} is not valid JSON`, at, error);
    }
    this.parsed++;
    this.onRecord(record);
  }

  private passesPrefilter(bytes: Buffer, firstGroup: boolean | undefined): boolean {
    for (const [index, group] of this.needles.entries()) {
      const found =
        index === 0 && firstGroup !== undefined ? firstGroup : group.some((n) => bytes.indexOf(n) >= 0);
      if (!found) return false;
    }
    return true;
  }

  /**
   * Writes the first needle group into the scanner's memory, so that the structural scan searches it in the same
   * pass (one read of each byte instead of two). Returns how many needles it searches: 0 when the group does not
   * fit (more than WASM_MAX_NEEDLES, too long, or a needle that could start at a record's `{`), and then the
   * prefilter searches each record's bytes instead. Each needle is probed at its rarest byte in CloudTrail JSON
   * (see probeRank), then compared whole.
   */
  private loadNeedles(group: readonly Buffer[]): number {
    const total = group.reduce((sum, needle) => sum + needle.length, 0);
    const fits =
      group.length > 0 &&
      group.length <= WASM_MAX_NEEDLES &&
      total <= WASM_MAX_NEEDLE_BYTES &&
      group.every((needle) => needle.length > 0 && needle[0] !== OPEN_BRACE);
    if (!fits) return 0;
    const memory = new Uint8Array(this.wasm.memory.buffer);
    let offset = 0;
    for (const [index, needle] of group.entries()) {
      const descriptor = WASM_NEEDLE_DESCRIPTORS + 4 * index;
      let probe = 0;
      for (let at = 1; at < needle.length; at++) {
        if (probeRank(needle[at] as number) < probeRank(needle[probe] as number)) probe = at;
      }
      memory[descriptor] = needle.length;
      memory[descriptor + 1] = probe;
      memory[descriptor + 3] = offset;
      memory.set(needle, WASM_NEEDLE_BYTES + offset);
      offset += needle.length;
    }
    return group.length;
  }

  private decodeUtf8(bytes: Uint8Array, at: number): string {
    try {
      return this.decoder.decode(bytes);
    } catch (error) {
      return this.malformed('invalid UTF-8', at, error);
    }
  }

  private offsetOf(chunk: Buffer, i: number): number {
    return this.scannedBytes - chunk.length + i;
  }

  private recordTooLarge(): never {
    throw new LogObjectLimitError(
      this.objectName,
      'recordBytes',
      `record ${this.records} is larger than ${this.limits.maxRecordBytes} bytes`,
    );
  }

  /** A byte that can start a JSON value makes the input JSON of the wrong shape; anything else is not JSON. */
  private notAValue(b: number, at: number, shapeReason: string): never {
    if (b === OPEN_BRACE || b === OPEN_BRACKET || b === QUOTE || isValueStart(b))
      this.notCloudTrail(shapeReason);
    return this.malformed(`not JSON: unexpected byte ${hex(b)}`, at);
  }

  private notCloudTrail(reason: string): never {
    throw new NotCloudTrailShapeError(this.objectName, `not a CloudTrail log file: ${reason}`);
  }

  private malformed(reason: string, at: number, cause?: unknown): never {
    const options = cause === undefined ? undefined : { cause };
    throw new MalformedJsonError(this.objectName, `malformed JSON at byte ${at}: ${reason}`, options);
  }
}

/**
 * How common a byte is in CloudTrail JSON, from rare (0) to everywhere (4): the needle search probes a needle
 * at its rarest byte, so that few positions need a whole compare. Backslashes are rare in compact JSON;
 * upper-case letters start only some words; quotes, colons and commas separate every member.
 */
function probeRank(b: number): number {
  if (b === BACKSLASH) return 0;
  if ((b >= 0x41 && b <= 0x5a) || b >= 0x80) return 1;
  if (b >= 0x30 && b <= 0x39) return 2;
  if (b >= 0x61 && b <= 0x7a) return 3;
  return 4;
}

function isWhitespace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

/** Bytes of numbers, true, false and null. */
function isLiteralByte(b: number): boolean {
  return (
    (b >= 0x30 && b <= 0x39) ||
    (b >= 0x61 && b <= 0x7a) ||
    b === 0x2d ||
    b === 0x2b ||
    b === 0x2e ||
    (b >= 0x41 && b <= 0x5a)
  );
}

/** First bytes of numbers, true, false and null. */
function isValueStart(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x74 || b === 0x66 || b === 0x6e;
}

function hex(b: number): string {
  return `0x${b.toString(16).padStart(2, '0')}`;
}

function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
