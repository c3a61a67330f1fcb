// Every fault type, by the name lab files and the CLI use.
import type { Fault } from '../lab/schema.ts';
import { aliasCollision, disconnect, dropAlias, wrongNetwork } from './impl/membership.ts';
import { bandwidth, firewall, latency, mtu, packetLoss } from './impl/netns.ts';
import { endpointMode, iccOff, internalNetwork, nonAttachable } from './impl/networks.ts';
import { bindLoopback, portConflict, portMismatch, unpublish } from './impl/ports.ts';
import { dnsOverride, dnsSearch, hostMode, hostsOverride } from './impl/recreate.ts';
import { dnsUpstreamDown, kill, pause, replicas, stop } from './impl/state.ts';
import { nodeDown, nodeDrain, nodeLabel, underlayBlock, underlayMtu } from './impl/nodes.ts';
import type { FaultImpl } from './types.ts';

export const FAULT_IMPLS: { [T in Fault['type']]: FaultImpl<T> } = {
  stop,
  pause,
  kill,
  disconnect,
  'wrong-network': wrongNetwork,
  'drop-alias': dropAlias,
  'alias-collision': aliasCollision,
  'bind-loopback': bindLoopback,
  'port-mismatch': portMismatch,
  unpublish,
  'port-conflict': portConflict,
  firewall,
  'packet-loss': packetLoss,
  bandwidth,
  mtu,
  'icc-off': iccOff,
  'internal-network': internalNetwork,
  'non-attachable': nonAttachable,
  replicas,
  'endpoint-mode': endpointMode,
  'host-mode': hostMode,
  'dns-upstream-down': dnsUpstreamDown,
  'dns-override': dnsOverride,
  'hosts-override': hostsOverride,
  'dns-search': dnsSearch,
  latency,
  'underlay-block': underlayBlock,
  'underlay-mtu': underlayMtu,
  'node-drain': nodeDrain,
  'node-down': nodeDown,
  'node-label': nodeLabel,
};

export function implFor<T extends Fault['type']>(type: T): FaultImpl<T> {
  return FAULT_IMPLS[type] as FaultImpl<T>;
}
