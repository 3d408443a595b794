import {
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { WindowContentionError } from '../../domain/errors';
import { isConditionFailure, itemOf } from './conditions';
import type { Item } from './item-attributes';

/** Narrow client port: the store sends UpdateItem, GetItem and Query only. */
export type WindowTableClient = Pick<DynamoDBClient, 'send'>;

/**
 * A retry is planned from the item as it was when its condition failed, so the next failure needs yet
 * another successful write by someone else: one write fails at most once per concurrent writer.
 */
export const MAX_CONDITION_ATTEMPTS = 25;

/** The error once a write lost its condition MAX_CONDITION_ATTEMPTS times; `item` names the item written. */
export function contentionError(item: string): WindowContentionError {
  return new WindowContentionError(
    `${item}: condition lost ${MAX_CONDITION_ATTEMPTS} times to concurrent writers`,
  );
}

/** The requests every item kind sends to the window table. */
export class WindowTable {
  constructor(
    private readonly client: WindowTableClient,
    readonly tableName: string,
  ) {}

  /** Sends an UpdateItem; its failures (a failed condition too) are the caller's. */
  async update(input: UpdateItemCommandInput): Promise<Item | undefined> {
    const output = await this.client.send(new UpdateItemCommand(input));
    return output.Attributes;
  }

  /**
   * Sends a conditional UpdateItem: true when written, false when its condition failed; all else throws.
   * `isOwnWrite`, given the item as it was when the condition failed (ALL_OLD, or a consistent read where
   * the stand-in returns none), recognises this very write applied by an earlier attempt whose response was
   * lost: that counts as written.
   */
  async conditionalUpdate(
    input: UpdateItemCommandInput,
    isOwnWrite?: (old: Item | undefined) => boolean,
  ): Promise<boolean> {
    try {
      await this.client.send(new UpdateItemCommand(input));
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      if (isOwnWrite === undefined) return false;
      return isOwnWrite(itemOf(error) ?? (input.Key === undefined ? undefined : await this.read(input.Key)));
    }
  }

  /** The item as stored now: a consistent GetItem. */
  async read(key: Item): Promise<Item | undefined> {
    const output = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    return output.Item;
  }

  /** Every item a Query returns, page after page. */
  async queryAll(input: QueryCommandInput): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({ ...input, ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }) }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }
}
