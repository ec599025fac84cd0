/**
 * The local cluster launcher: redis-server, chat replicas and nginx as child
 * processes on loopback ports, for `npm run cluster`, tests and benchmarks.
 *
 *   import { startCluster } from '@roomcast/deploy/local';
 *   const cluster = await startCluster();          // redis + n1..n3 + nginx
 *   // ... cluster.url, cluster.wsUrl, cluster.replicas[0].kill()
 *   await cluster.stop();
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
export { startCluster, type Cluster, type ClusterOptions } from './cluster.js';
export { repoRoot, nginxTemplateDir, defaultServerEntry, defaultWebRoot } from './paths.js';
export type { ExitInfo } from './process.js';
