/**
 * The local cluster launcher: redis-server, chat replicas and nginx as child
 * processes on loopback ports, for `npm run cluster`, tests and benchmarks.
 *
 *   import { startCluster } from '@roomcast/deploy/local';
 *   const cluster = await startCluster();          // redis + n1..n3 + nginx
 *   // ... cluster.url, cluster.wsUrl, cluster.replicas[0].kill()
 *   await cluster.stop();
 *
 *   const onCluster = await startCluster({ redis: 'cluster' });    // 3 masters + 3 replicas
 *   await onCluster.redisTopology.node(await onCluster.redisTopology.masterFor('{room}')).kill();
 *   const onSentinel = await startCluster({ redis: 'sentinel' });  // master + replica + 3 Sentinels
 *   await onSentinel.redisTopology.killMaster();
 */
export { freePort, isPortFree, waitForPort } from './ports.js';
export { startRedis, type RedisHandle, type RedisOptions } from './redis.js';
export { redisCommand, type CommandOptions, type RespValue } from './resp.js';
export {
  startNginx,
  writeNginxConfig,
  testNginxConfig,
  upstreamServers,
  type NginxHandle,
  type NginxOptions,
} from './nginx.js';
export { renderTemplate } from './template.js';
export { startReplica, REPLICA_NODE_OPTIONS, type ReplicaHandle, type ReplicaOptions } from './replica.js';
export { startCluster, type Cluster, type ClusterOptions, type LocalRedis } from './cluster.js';
export {
  startRedisCluster,
  parseClusterNodes,
  freeClusterPort,
  CLUSTER_SLOTS,
  type RedisClusterHandle,
  type RedisClusterNode,
  type RedisClusterOptions,
  type ClusterNodeView,
  type ClusterRole,
} from './redis-cluster.js';
export {
  startRedisSentinel,
  type RedisSentinelHandle,
  type RedisSentinelOptions,
  type SentinelDataNode,
  type SentinelProcessNode,
} from './redis-sentinel.js';
export {
  redisEnv,
  seedPorts,
  REDIS_ENV_VARIABLES,
  type RedisTopology,
  type RedisMode,
  type SingleRedisTopology,
  type SentinelRedisTopology,
  type ClusterRedisTopology,
} from './topology.js';
export { startStallProxy, type StallProxy } from './stall-proxy.js';
export {
  serveSharedTopologies,
  connectSharedTopologies,
  type SharedTopologiesInfo,
  type SharedTopologiesServer,
  type SharedRedisCluster,
  type SharedRedisSentinel,
  type SharedNodeState,
  type AcquireOptions,
  type ServeOptions,
} from './shared-topologies.js';
export { redisInfo, startRedisProcess, type RedisProcess, type RedisProcessOptions } from './redis-process.js';
export { waitUntil, waitUntilNoProblem, type WaitOptions } from './wait.js';
export { repoRoot, nginxTemplateDir, defaultServerEntry, defaultWebRoot } from './paths.js';
export type { ExitInfo } from './process.js';
