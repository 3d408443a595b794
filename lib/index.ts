/**
 * The package's entry point (`import { RegionSweepDetector } from 'regionsweep'`): the construct, the stack
 * this repository deploys, the organization layout's forwarding stacks, and the types their props use.
 */
export type { Allowlist } from '../lambda/domain/detection/allowlist';
export type {
  CorrelationSpec,
  FieldCondition,
  RuleDefinition,
  RulePresentation,
  WindowMode,
} from '../lambda/domain/detection/rule';
export { OperatorDashboard, type OperatorDashboardProps } from './operator-dashboard';
export { ForwardingTopic, type ForwardingTopicProps } from './organization/forwarding-topic';
export {
  LogArchiveNotificationsStack,
  type LogArchiveNotificationsStackProps,
} from './organization/log-archive-notifications-stack';
export { TrailTopicStack, type TrailTopicStackProps } from './organization/trail-topic-stack';
export {
  type DeliveryMode,
  RegionSweepDetector,
  type RegionSweepDetectorProps,
  RegionSweepDetectorPropsError,
  type SlackChannel,
} from './region-sweep-detector';
export { RegionSweepStack, type RegionSweepStackProps } from './region-sweep-stack';
export { loadRuleFiles } from './rules/rule-files';
