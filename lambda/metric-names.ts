/**
 * CloudWatch metric names (EMF, through Powertools Metrics) shared by the handler and the alarms in the
 * CDK construct. Every metric carries the `service` dimension set to SERVICE_NAME.
 */
export const METRICS_NAMESPACE = 'RegionSweep';
export const SERVICE_NAME = 'regionsweep';

export const METRIC = {
  objectsProcessed: 'ObjectsProcessed',
  objectsSkipped: 'ObjectsSkipped',
  poisonObjects: 'PoisonObjects',
  eventsRead: 'EventsRead',
  matchingEvents: 'MatchingEvents',
  invalidRecords: 'InvalidRecords',
  itemsUpdated: 'WindowItemsUpdated',
  conditionalConflicts: 'ConditionalConflicts',
  alertsPublished: 'AlertsPublished',
  alertsSuppressed: 'AlertsSuppressed',
  /** Hopping mode: windows not alerted because an overlapping window of the group alerted. */
  alertsCovered: 'AlertsCovered',
  /** Building blocks' findings, recorded once per window and never published. */
  buildingBlockFindings: 'BuildingBlockFindings',
  /** Findings written to a correlation's window for the first time (one UpdateItem each). */
  findingsCorrelated: 'FindingsCorrelated',
  deliveryLagSeconds: 'DeliveryLagSeconds',
} as const;
