/**
 * A broker's etcd session in a process of its own, so that a test can kill it with SIGKILL and
 * watch its lease lapse: registers node <nodeId> at <url>, campaigns for controller, prints
 * `registered` and then `controller <epoch>`, and renews its lease until killed.
 *   node --import tsx etcd-session.ts <etcdUrl> <prefix> <nodeId> <leaseTtlSeconds>
 */
import { EtcdCoordinator } from '../../src/cluster/etcd-coordinator.js';

const [etcdUrl, prefix, nodeId, ttl] = process.argv.slice(2);
const coordinator = new EtcdCoordinator({ endpoints: [etcdUrl], prefix, leaseTtlSeconds: Number(ttl) });
await coordinator.registerBroker({ nodeId: Number(nodeId), url: `http://127.0.0.1:1${nodeId}` });
process.stdout.write('registered\n');
const term = await coordinator.campaign(Number(nodeId));
process.stdout.write(`controller ${term.epoch}\n`);
setInterval(() => {}, 60_000); // stay alive (the lease renewal timer does not hold the process)
