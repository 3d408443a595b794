/**
 * The package's entry point (`import { RegionSweepDetector } from 'regionsweep'`): the construct, the stack
 * this repository deploys, and the types their props use.
 */
export type { Allowlist } from '../lambda/domain/allowlist';
export type { FieldCondition, RuleDefinition, RulePresentation, WindowMode } from '../lambda/domain/rule';
export { OperatorDashboard, type OperatorDashboardProps } from './operator-dashboard';
export {
  type DeliveryMode,
  RegionSweepDetector,
  type RegionSweepDetectorProps,
  RegionSweepDetectorPropsError,
  type SlackChannel,
} from './region-sweep-detector';
export { RegionSweepStack, type RegionSweepStackProps } from './region-sweep-stack';
export { loadRuleFiles } from './rules/rule-files';
