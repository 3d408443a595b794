/**
 * The package's entry point (`import { RegionSweepDetector } from 'regionsweep'`): the construct, the stack
 * this repository deploys, the organization layout's forwarding stacks, and the types their props use.
 */
export type { Allowlist } from '../lambda/domain/detection/allowlist';
export type {
  CorrelationSpec,
  FieldCondition,
  FilterNode,
  RuleDefinition,
  RulePresentation,
  WindowMode,
} from '../lambda/domain/detection/rule';
export type { ValueMatch } from '../lambda/domain/detection/value-match';
export type { DeliveryMode, RegionSweepDetectorProps, SlackChannel } from './cdk/detector-props';
export { RegionSweepDetectorPropsError } from './cdk/errors';
export { OperatorDashboard, type OperatorDashboardProps } from './cdk/operator-dashboard';
export { ForwardingTopic, type ForwardingTopicProps } from './cdk/organization/forwarding-topic';
export {
  LogArchiveNotificationsStack,
  type LogArchiveNotificationsStackProps,
} from './cdk/organization/log-archive-notifications-stack';
export { TrailTopicStack, type TrailTopicStackProps } from './cdk/organization/trail-topic-stack';
export { RegionSweepDetector } from './cdk/region-sweep-detector';
export { RegionSweepStack, type RegionSweepStackProps } from './cdk/region-sweep-stack';
export { loadRuleFiles } from './rules/rule-files';
export { SigmaRuleError } from './rules/sigma/sigma-error';
