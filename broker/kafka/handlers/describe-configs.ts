/**
 * DescribeConfigs (v1-v4): a topic's effective configuration (overrides and broker defaults), or
 * this broker's own configuration (static: read-only). Other brokers' ids answer INVALID_REQUEST,
 * as Kafka does when a broker resource is sent to another broker.
 *
 * - v1+ synonyms (when asked): for a topic config, the topic override if any, then the broker
 *   setting it falls back to (Kafka's order: most specific first); a topic config that is not
 *   overridden takes that broker setting's source. For a broker setting: itself, then its
 *   default when the value was set at start.
 * - v3+ config type, and documentation when asked (null otherwise, as Kafka answers).
 * - v4 is v3 in the flexible encoding.
 */
import { KafkaError } from '../../../shared/kafka/errors';
import { loadBrokerConfig } from '../../config';
import { BrokerConfigEntry, describeBrokerConfig } from '../../config-describe';
import { TOPIC_CONFIG_KEYS } from '../../context';
import { BROKER_CONFIG_INFO, ConfigSource, ConfigType, TOPIC_CONFIG_INFO } from './config-catalog';
import type { Handler, ResponseBody } from './types';

export const RESOURCE_TOPIC = 2;
export const RESOURCE_BROKER = 4;

type Result = ResponseBody<'DescribeConfigs'>['results'][number];
type Entry = Result['configs'][number];
type Synonym = Entry['synonyms'][number];

interface Wants {
  synonyms: boolean;
  documentation: boolean;
}

/** Synonyms of a broker setting: its value, then its default when the value was set at start. */
function brokerSynonyms(name: string, entries: ReadonlyMap<string, BrokerConfigEntry>, defaults: ReadonlyMap<string, BrokerConfigEntry>): Synonym[] {
  const entry = entries.get(name);
  if (entry === undefined) return [];
  const own = { name, value: entry.value, source: entry.isDefault ? ConfigSource.DEFAULT : ConfigSource.STATIC_BROKER };
  const fallback = defaults.get(name);
  return entry.isDefault || fallback === undefined ? [own] : [own, { name, value: fallback.value, source: ConfigSource.DEFAULT }];
}

function byName(entries: BrokerConfigEntry[]): Map<string, BrokerConfigEntry> {
  return new Map(entries.map((entry) => [entry.name, entry]));
}

export const describeConfigs: Handler<'DescribeConfigs'> = (input) => {
  const { context, request, config } = input;
  const wants: Wants = { synonyms: request.includeSynonyms, documentation: (input.version === 3 || input.version === 4) && input.request.includeDocumentation };
  // Computed once per request, only if a resource needs them.
  let broker: { entries: Map<string, BrokerConfigEntry>; defaults: Map<string, BrokerConfigEntry> } | null = null;
  const brokerTables = (): NonNullable<typeof broker> =>
    (broker ??= { entries: byName(describeBrokerConfig(config)), defaults: byName(describeBrokerConfig(loadBrokerConfig({}, { id: config.id }))) });

  return {
    throttleTimeMs: 0,
    results: request.resources.map((resource): Result => {
      const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
      const wanted = (name: string): boolean => resource.configurationKeys === null || resource.configurationKeys.includes(name);
      if (resource.resourceType === RESOURCE_BROKER) {
        // '' is the cluster-wide default resource; Samsa has no dynamic defaults, so it is empty.
        if (resource.resourceName === '') return { ...base, errorCode: KafkaError.NONE, errorMessage: null, configs: [] };
        if (resource.resourceName !== String(config.id)) {
          return { ...base, errorCode: KafkaError.INVALID_REQUEST, errorMessage: `this is broker ${config.id}; ask broker ${resource.resourceName} for its configuration`, configs: [] };
        }
        return { ...base, errorCode: KafkaError.NONE, errorMessage: null, configs: brokerEntries(brokerTables(), wanted, wants) };
      }
      if (resource.resourceType !== RESOURCE_TOPIC) return { ...base, errorCode: KafkaError.INVALID_REQUEST, errorMessage: `resource type ${resource.resourceType} is not supported`, configs: [] };
      const described = context.admin.describeTopicConfig(resource.resourceName);
      if (described === null) return { ...base, errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `topic '${resource.resourceName}' does not exist`, configs: [] };
      const tables = brokerTables();
      return {
        ...base,
        errorCode: KafkaError.NONE,
        errorMessage: null,
        configs: TOPIC_CONFIG_KEYS.filter(wanted).map((key): Entry => {
          const info = TOPIC_CONFIG_INFO[key];
          const value = String(described.config[key]);
          const fallback = brokerSynonyms(info.brokerName, tables.entries, tables.defaults);
          // A setting config-describe does not list (unclean.leader.election.enable) is the topic default.
          const inherited = fallback.length > 0 ? fallback : [{ name: info.brokerName, value: String(config.topicDefaults[key]), source: ConfigSource.DEFAULT }];
          const override = described.overrides.has(key);
          const synonyms = override ? [{ name: key, value, source: ConfigSource.DYNAMIC_TOPIC }, ...inherited] : inherited;
          return {
            name: key,
            value,
            readOnly: false,
            configSource: synonyms[0]!.source,
            isSensitive: false,
            synonyms: wants.synonyms ? synonyms : [],
            configType: info.type,
            documentation: wants.documentation ? info.documentation : null,
          };
        }),
      };
    }),
  };
};

function brokerEntries(
  tables: { entries: Map<string, BrokerConfigEntry>; defaults: Map<string, BrokerConfigEntry> },
  wanted: (name: string) => boolean,
  wants: Wants,
): Entry[] {
  return [...tables.entries.values()]
    .filter((entry) => wanted(entry.name))
    .map((entry) => {
      const info = BROKER_CONFIG_INFO[entry.name];
      return {
        name: entry.name,
        value: entry.value,
        readOnly: true,
        configSource: entry.isDefault ? ConfigSource.DEFAULT : ConfigSource.STATIC_BROKER,
        isSensitive: false,
        synonyms: wants.synonyms ? brokerSynonyms(entry.name, tables.entries, tables.defaults) : [],
        configType: info?.type ?? ConfigType.UNKNOWN,
        documentation: wants.documentation ? (info?.documentation ?? null) : null,
      };
    });
}
