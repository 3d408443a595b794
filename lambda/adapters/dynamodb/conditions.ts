import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { Item } from './item-attributes';

/**
 * A condition expression built from named sub-conditions: every write states each thing it requires under a
 * name (`contributorIsNew`, `noLiveLease`, ...), and the expression is their conjunction or disjunction in
 * the order written. The names are for the reader; DynamoDB sees only the joined expression.
 */
export type NamedConditions = Readonly<Record<string, string>>;

/** Holds when every one of `conditions` holds. */
export function allOf(conditions: NamedConditions): string {
  return Object.values(conditions).join(' AND ');
}

/** Holds when any one of `conditions` holds. */
export function anyOf(conditions: NamedConditions): string {
  return Object.values(conditions).join(' OR ');
}

/** Holds when the set `set` is absent (DynamoDB stores no empty set) or smaller than `bound`. */
export function setBelow(set: string, bound: string): string {
  return `(attribute_not_exists(${set}) OR size(${set}) < ${bound})`;
}

/**
 * True for a failed condition (by class or by name), the one refusal a conditional write expects: callers
 * rethrow everything else.
 */
export function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error instanceof Error && error.name === 'ConditionalCheckFailedException')
  );
}

/**
 * The item as it was when the condition failed (sent on ReturnValuesOnConditionCheckFailure: ALL_OLD);
 * absent when the item did not exist or the server omits it (dynalite does).
 */
export function itemOf(error: unknown): Item | undefined {
  return error instanceof ConditionalCheckFailedException ? error.Item : undefined;
}
