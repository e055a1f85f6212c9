/**
 * The contract between the broker's cluster side (registration, controller, metadata cache,
 * local partitions, admin operations: broker/cluster/*, broker/controller/*) and its Kafka
 * protocol side (broker/kafka/server.ts and broker/kafka/handlers/*). Handlers see the
 * broker only through BrokerContext, so both sides can be built and tested on their own.
 */
import type { Logger } from '../shared/logging';
import type { GroupCoordinator } from './group/coordinator';
import type { ReplicaManager } from './partition/replica-manager';

export interface BrokerEndpoint {
  id: number;
  host: string;
  port: number;
  rack: string | null;
  /** The broker's Prometheus endpoint as registered (absent when its metrics are off); read by the console, not by brokers. */
  metricsUrl?: string;
}

/** /brokers/topics/<t>/partitions/<p>/state plus the assignment from /brokers/topics/<t>. */
export interface PartitionView {
  partition: number;
  replicas: number[];
  /** -1 while leaderless. */
  leader: number;
  leaderEpoch: number;
  isr: number[];
}

export interface TopicView {
  name: string;
  /** Kafka's topic id in its text form (shared/kafka/uuid.ts), from "topic_id" in /brokers/topics/<t>; ZERO_UUID until the controller has given an old topic one. */
  topicId: string;
  /** Partitions 0..n-1 in order. A partition whose state znode is not there yet has leader -1. */
  partitions: PartitionView[];
  /** Set while a deletion is pending (/admin/delete_topics/<t>). */
  markedForDeletion: boolean;
}

/** The broker's cached picture of the tree, kept fresh by watches. */
export interface ClusterView {
  clusterId: string;
  /** The broker id holding /controller, or -1. */
  controllerId: number;
  /** Live brokers (/brokers/ids), sorted by id. */
  brokers: BrokerEndpoint[];
  topics: Map<string, TopicView>;
  /** The same topics by id (topics without an id yet are not in it). */
  topicsById: Map<string, TopicView>;
}

/** Effective topic configuration: broker defaults overlaid with /config/topics/<t>. */
export interface TopicConfig {
  'retention.ms': number;
  'retention.bytes': number;
  'segment.bytes': number;
  'min.insync.replicas': number;
  'max.message.bytes': number;
  /** 'delete', 'compact' or both ('compact,delete', any order, as Kafka takes them). */
  'cleanup.policy': string;
  /** Compacted topics: how long a tombstone stays readable after its batch was first cleaned (Kafka: 1 day). */
  'delete.retention.ms': number;
  /** Compacted topics: a log is cleaned when dirty bytes / cleanable bytes reach this (Kafka: 0.5). */
  'min.cleanable.dirty.ratio': number;
  /** Compacted topics: a segment holding a record younger than this is not cleaned (Kafka: 0). */
  'min.compaction.lag.ms': number;
  /** 'true' lets a replica outside the ISR lead when no ISR member is alive (losing what it lacks); Kafka's default is 'false'. */
  'unclean.leader.election.enable': string;
}

export const TOPIC_CONFIG_KEYS: ReadonlyArray<keyof TopicConfig> = [
  'retention.ms',
  'retention.bytes',
  'segment.bytes',
  'min.insync.replicas',
  'max.message.bytes',
  'cleanup.policy',
  'delete.retention.ms',
  'min.cleanable.dirty.ratio',
  'min.compaction.lag.ms',
  'unclean.leader.election.enable',
];

/** A Kafka-style per-item result: error code 0 = success. */
export interface AdminResult {
  name: string;
  errorCode: number;
  errorMessage: string | null;
}

export interface CreateTopicSpec {
  name: string;
  /** -1 = broker default (num.partitions). */
  numPartitions: number;
  /** -1 = broker default (default.replication.factor). */
  replicationFactor: number;
  /** Explicit assignment (partition -> broker ids), or empty. */
  assignments: Array<{ partitionIndex: number; brokerIds: number[] }>;
  configs: Array<{ name: string; value: string | null }>;
}

export interface AdminOperations {
  /** Validates, assigns replicas across live brokers and writes the topic znodes. Resolves once every partition has a leader or timeoutMs passes (then REQUEST_TIMED_OUT for that topic). */
  createTopics(specs: CreateTopicSpec[], timeoutMs: number, validateOnly: boolean): Promise<AdminResult[]>;
  /** Marks for deletion (the controller carries it out); resolves once gone or timeoutMs passes. */
  deleteTopics(names: string[], timeoutMs: number): Promise<AdminResult[]>;
  createPartitions(specs: Array<{ name: string; count: number; assignments: number[][] | null }>, timeoutMs: number, validateOnly: boolean): Promise<AdminResult[]>;
  /** Replaces the topic's overrides (AlterConfigs semantics); validates names and values. */
  alterTopicConfigs(name: string, configs: Array<{ name: string; value: string | null }>, validateOnly: boolean): Promise<AdminResult>;
  /** Effective config with, per key, whether it is a topic override or the broker default. */
  describeTopicConfig(name: string): { config: TopicConfig; overrides: Set<string> } | null;
  /** Kafka's auto.create.topics.enable path: creates the topic with broker defaults if it does not exist. */
  autoCreateTopic(name: string): Promise<void>;
}

/** What handlers reach of the broker besides its configuration (which they get with each request). */
export interface BrokerContext {
  readonly logger: Logger;
  cluster(): ClusterView;
  /** The partitions this broker holds: the only way a handler reaches a log. */
  readonly replicas: ReplicaManager;
  readonly admin: AdminOperations;
  /** Consumer groups whose partition of __consumer_offsets this broker leads. */
  readonly groups: GroupCoordinator;
}
