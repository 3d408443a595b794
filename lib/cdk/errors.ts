/**
 * The errors a synth can raise, one module for the CDK code. Each is permanent: the input names a deployment
 * that cannot work, so the synth stops with a message naming the prop or context key to change.
 */
import type { ContextKey } from './stack-context';

/** A context value that cannot be used; `key` names it. */
export class StackContextError extends Error {
  readonly key: ContextKey;

  constructor(key: ContextKey, message: string, options?: { cause?: unknown }) {
    super(`Context "${key}": ${message}`, options);
    this.name = 'StackContextError';
    this.key = key;
  }
}

/** Props that cannot describe a working deployment; the message names the prop. */
export class RegionSweepDetectorPropsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RegionSweepDetectorPropsError';
  }
}

/** A delivery mode that can never bring this stack a notification; the message names the mode to use. */
export class UnreachableDeliveryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnreachableDeliveryError';
  }
}

/** A deaf-alarm period that is not a whole number of minutes within DEAF_ALARM_MINUTES. */
export class DeafAlarmPeriodError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeafAlarmPeriodError';
  }
}
