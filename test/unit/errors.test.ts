import { describe, expect, it } from 'vitest';
import * as errors from '../../lambda/domain/errors';
import {
  ConfigError,
  CorruptGzipError,
  IncompleteGetObjectError,
  isPermanent,
  LogObjectGoneError,
  LogObjectLimitError,
  MalformedJsonError,
  NotCloudTrailShapeError,
  RegionSweepError,
  SnsMissingMessageIdError,
  TransientObjectFailure,
  UnrecognisedNotificationError,
  WindowContentionError,
  WindowItemFullError,
} from '../../lambda/domain/errors';

const cause = new Error('the underlying failure');
const object = 's3://trail/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/28/a.json.gz';

/** Every concrete error of the module, with whether retrying can help. */
const CASES = [
  { case: 'CorruptGzipError', error: new CorruptGzipError(object, 'truncated', { cause }), permanent: true },
  {
    case: 'MalformedJsonError',
    error: new MalformedJsonError(object, 'not JSON', { cause }),
    permanent: true,
  },
  {
    case: 'NotCloudTrailShapeError',
    error: new NotCloudTrailShapeError(object, 'no Records', { cause }),
    permanent: true,
  },
  { case: 'LogObjectGoneError', error: new LogObjectGoneError(object, 'gone', { cause }), permanent: true },
  {
    case: 'LogObjectLimitError',
    error: new LogObjectLimitError(object, 'recordCount', 'too many', { cause }),
    permanent: true,
  },
  { case: 'ConfigError', error: new ConfigError('TABLE_NAME must be set', { cause }), permanent: true },
  {
    case: 'UnrecognisedNotificationError',
    error: new UnrecognisedNotificationError('not S3', { cause }),
    permanent: true,
  },
  { case: 'WindowItemFullError', error: new WindowItemFullError('full', { cause }), permanent: true },
  {
    case: 'WindowContentionError',
    error: new WindowContentionError('contended', { cause }),
    permanent: false,
  },
  {
    case: 'IncompleteGetObjectError',
    error: new IncompleteGetObjectError('no stream', { cause }),
    permanent: false,
  },
  {
    case: 'SnsMissingMessageIdError',
    error: new SnsMissingMessageIdError('no id', { cause }),
    permanent: false,
  },
  {
    case: 'TransientObjectFailure',
    error: new TransientObjectFailure('1 object failed', { cause }),
    permanent: false,
  },
];

describe('the runtime errors module', () => {
  it.each(CASES)(
    '$case carries its own name and its cause, permanent: $permanent',
    ({ case: name, error, permanent }) => {
      // Assess
      expect(error).toBeInstanceOf(RegionSweepError);
      expect(error.name).toBe(name);
      expect(error.cause).toBe(cause);
      expect(isPermanent(error)).toBe(permanent);
    },
  );

  it('the table above names every concrete error class the module exports', () => {
    // Act
    const exported = Object.entries(errors)
      .filter(([, value]) => typeof value === 'function' && value.prototype instanceof RegionSweepError)
      .map(([name]) => name)
      .filter((name) => !['PermanentError', 'TransientError', 'PoisonObjectError'].includes(name));
    // Assess
    expect(exported.sort()).toEqual(CASES.map((c) => c.case).sort());
  });
});
