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
  deliveryLagSeconds: 'DeliveryLagSeconds',
} as const;
