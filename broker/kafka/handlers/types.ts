/** What a request handler is: the decoded request in, the response body out (null: no response). */
import type { BrokerContext } from '../../context';

export interface HandlerInput {
  context: BrokerContext;
  version: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  request: any;
  /** Resolves when the server is closing: long polls answer at once. */
  closing: Promise<void>;
}

export type Handler = (input: HandlerInput) => Promise<object | null> | object | null;
