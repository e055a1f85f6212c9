/**
 * DescribeCluster (KIP-700): the cluster id, the controller and the live brokers, from the
 * broker's cached picture of the tree, as Metadata gives them. v1 asks for an endpoint type:
 * brokers (1) are described. Controllers (2) are described only by a KRaft controller
 * listener, which Samsa has none of: a broker answers MISMATCHED_ENDPOINT_TYPE, and any other
 * type UNSUPPORTED_ENDPOINT_TYPE, as Kafka's brokers do.
 */
import { KafkaError } from '../../../shared/kafka/errors';
import { AUTHORIZED_OPERATIONS_OMITTED, CLUSTER_OPERATIONS } from './authorized-operations';
import type { Handler } from './types';

const ENDPOINT_BROKERS = 1;
const ENDPOINT_CONTROLLERS = 2;

export const describeCluster: Handler<'DescribeCluster'> = ({ context, request }) => {
  const view = context.cluster();
  const endpointType = 'endpointType' in request ? request.endpointType : ENDPOINT_BROKERS;
  const base = {
    throttleTimeMs: 0,
    endpointType,
    clusterId: view.clusterId,
    controllerId: view.controllerId,
    clusterAuthorizedOperations: request.includeClusterAuthorizedOperations ? CLUSTER_OPERATIONS : AUTHORIZED_OPERATIONS_OMITTED,
  };
  if (endpointType !== ENDPOINT_BROKERS) {
    const errorCode = endpointType === ENDPOINT_CONTROLLERS ? KafkaError.MISMATCHED_ENDPOINT_TYPE : KafkaError.UNSUPPORTED_ENDPOINT_TYPE;
    return { ...base, errorCode, errorMessage: `endpoint type ${endpointType}: this is a broker, which describes brokers (endpoint type 1)`, brokers: [] };
  }
  return { ...base, errorCode: KafkaError.NONE, errorMessage: null, brokers: view.brokers.map((b) => ({ brokerId: b.id, host: b.host, port: b.port, rack: b.rack })) };
};
