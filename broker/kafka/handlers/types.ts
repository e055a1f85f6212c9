/**
 * What a request handler is: the decoded request in, the response body out (null: no response).
 *
 * How to use it (types generated from the schemas: shared/kafka/messages.ts, `npm run gen:kafka`):
 *
 *   export const metadata: Handler<'Metadata'> = async ({ context, version, request }) => { ... };
 *
 * - `request` is the union of the request types of the versions the broker advertises for that
 *   API (shared/kafka/versions.ts). A field some of those versions lack is readable only after
 *   narrowing: `'allowAutoTopicCreation' in request ? request.allowAutoTopicCreation : true`, or
 *   compare `version` (the input is a union discriminated by `version`, so `if (input.version
 *   === 4)` narrows `input.request`; destructuring first loses that link). At run time the
 *   decoder fills a field the version lacks with the schema's default, so `in` is always true:
 *   it is right only when that default is the behaviour wanted for the older versions; to
 *   choose a code path by version (a batch form, a v0 fallback), compare `version`.
 * - The return type is `ResponseBody<K>`: one body valid for EVERY advertised version (the
 *   intersection of the version types), so a field any version carries must be filled in; the
 *   codec writes only the fields the negotiated version has.
 * - Element types: `RequestOf<'Fetch'>['topics'][number]` and so on.
 * - dispatch.ts maps every advertised API to its handler: advertising an API without a handler,
 *   or a handler of the wrong API, does not compile.
 * - A handler still on the loose type (bare `Handler` = `LooseHandler`, `request: any`) compiles
 *   too; it is meant for the move only: write `Handler<'Produce'>` and fix what the compiler finds.
 */
import type { ApiName, RequestTypes, ResponseTypes } from '../../../shared/kafka/messages';
import type { AdvertisedApi, PROTOCOL_RANGES } from '../../../shared/kafka/versions';
import type { BrokerConfig } from '../../config';
import type { BrokerContext } from '../../context';

/** 0..N-1 as a union of number literals (N small: protocol versions). */
type Below<N extends number, Acc extends number[] = []> = Acc['length'] extends N ? Acc[number] : Below<N, [...Acc, Acc['length']]>;

type Range<K extends keyof typeof PROTOCOL_RANGES> = Exclude<Below<(typeof PROTOCOL_RANGES)[K]['max']> | (typeof PROTOCOL_RANGES)[K]['max'], Below<(typeof PROTOCOL_RANGES)[K]['min']>>;

/** The versions of API K the broker advertises, as a union of literals (e.g. 1 | 2 | 3 | 4). */
export type AdvertisedVersion<K extends AdvertisedApi> = Range<K> & keyof RequestTypes[K] & keyof ResponseTypes[K];

/** The request body a handler of K receives: any advertised version. */
export type RequestOf<K extends AdvertisedApi> = RequestTypes[K][AdvertisedVersion<K>];

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;

/** A response body valid for every advertised version of K. */
export type ResponseBody<K extends AdvertisedApi> = UnionToIntersection<ResponseTypes[K][AdvertisedVersion<K>]>;

interface InputBase {
  context: BrokerContext;
  /** This broker's configuration (limits such as autoCreateTopicsPerRequestMax; DescribeConfigs). */
  config: Readonly<BrokerConfig>;
  /** Who sent the request: the header's client id and the peer address (JoinGroup records both). */
  client: { id: string | null; host: string };
}

/** Discriminated by version: `input.version === 4` narrows `input.request` to v4. */
export type HandlerInput<K extends AdvertisedApi> = {
  [V in AdvertisedVersion<K>]: InputBase & { version: V; request: RequestTypes[K][V] };
}[AdvertisedVersion<K>];

export type TypedHandler<K extends AdvertisedApi> = (input: HandlerInput<K>) => Promise<ResponseBody<K> | null> | ResponseBody<K> | null;

/** `Handler<'Metadata'>`: typed. Bare `Handler` is still the loose type, for handlers not yet moved over. */
export type Handler<K extends AdvertisedApi | undefined = undefined> = K extends AdvertisedApi ? TypedHandler<K> : LooseHandler;

/** The pre-typing shape (request: any, any object out). For handlers not yet moved over. */
export interface LooseHandlerInput extends InputBase {
  version: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  request: any;
}
export type LooseHandler = (input: LooseHandlerInput) => Promise<object | null> | object | null;

export type { ApiName };
