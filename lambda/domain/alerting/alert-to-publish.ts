import type { Finding } from '../detection/window-state';
import type { Origin } from '../reading/object-key';

/** One alert to publish: the finding, and where it came from. What every rendering of an alert starts from. */
export interface AlertToPublish {
  readonly finding: Finding;
  readonly origin: Origin;
  /** Windows of the same identity suppressed since its previous alert (0 without suppression). */
  readonly suppressedWindows: number;
}
