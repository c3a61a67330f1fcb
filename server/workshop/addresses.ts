// Where learners open the workshop: what a trainer projects for the room. The public URL first
// (a proxy in front, set with FLOWLAB_PUBLIC_URL), then the addresses the server really listens
// on — every interface's for 0.0.0.0, never Docker's own bridges (a learner's laptop cannot reach
// them), and loopback last, marked as this machine's only.
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import type { JoinAddress } from '../protocol/workshop.ts';

/** Interfaces Docker makes on the host: bridges and the veth pairs of containers. */
const DOCKER_INTERFACE = /^(docker\d*|br-[0-9a-f]+|veth|docker_gwbridge|vxlan)/;

export function joinAddresses(host: string, port: number, publicUrl?: string, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces()): JoinAddress[] {
  const out: JoinAddress[] = [];
  if (publicUrl) out.push({ url: publicUrl.endsWith('/') ? publicUrl : `${publicUrl}/`, local: false });
  const url = (address: string) => `http://${address.includes(':') ? `[${address}]` : address}:${port}/`;
  const every = host === '0.0.0.0' || host === '::' || host === '';
  if (every) {
    for (const [name, infos] of Object.entries(interfaces)) {
      if (DOCKER_INTERFACE.test(name)) continue;
      for (const i of infos ?? []) if (i.family === 'IPv4' && !i.internal) out.push({ url: url(i.address), local: false });
    }
    out.push({ url: url('127.0.0.1'), local: true });
  } else {
    const loopback = host === 'localhost' || host.startsWith('127.') || host === '::1';
    out.push({ url: url(host === 'localhost' ? '127.0.0.1' : host), local: loopback });
  }
  return out.filter((a, i) => out.findIndex((b) => b.url === a.url) === i);
}
