import { createReadStream } from 'node:fs';
import { compileAllowlist, EMPTY_ALLOWLIST } from '../../lambda/domain/detection/allowlist';
import { EC2_MULTI_REGION_DESCRIBE_INSTANCES } from '../../lambda/domain/detection/built-in-rules';
import { ObjectAggregator } from '../../lambda/domain/detection/object-aggregator';
import { prefilterNeedles } from '../../lambda/domain/detection/rule';
import { DEFAULT_STATE_LIMITS } from '../../lambda/domain/detection/window-state';
import { type ReadStats, readCloudTrailRecords } from '../../lambda/domain/reading/cloudtrail-reader';

export interface ScanResult {
  readonly stats: ReadStats;
  /** Window groups the rule's matches fell into. */
  readonly groups: number;
  /** Records the exact rule counted. */
  readonly counted: number;
}

/** What processing one log file costs: the streaming reader with the rule's needles, then the exact rule. */
export async function scanLogFile(path: string, readBytes?: number): Promise<ScanResult> {
  const aggregator = new ObjectAggregator(
    EC2_MULTI_REGION_DESCRIBE_INSTANCES,
    compileAllowlist(EMPTY_ALLOWLIST),
    DEFAULT_STATE_LIMITS,
  );
  let counted = 0;
  const file = createReadStream(path, readBytes === undefined ? {} : { highWaterMark: readBytes });
  const stats = await readCloudTrailRecords(file, {
    objectName: path,
    needles: prefilterNeedles(EC2_MULTI_REGION_DESCRIBE_INSTANCES),
    onRecord: (record) => {
      if (aggregator.add(record).kind === 'counted') counted++;
    },
  });
  return { stats, groups: aggregator.contributions().length, counted };
}
