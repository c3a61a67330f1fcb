import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { joinAddresses } from './addresses.ts';

const v4 = (address: string, internal = false) => ({ address, family: 'IPv4', internal, netmask: '255.255.255.0', mac: '00:00:00:00:00:00', cidr: null }) as NetworkInterfaceInfo;
const interfaces = { lo: [v4('127.0.0.1', true)], eth0: [v4('192.168.1.20')], wlan0: [v4('10.0.0.7')], docker0: [v4('172.17.0.1')], 'br-1a2b3c': [v4('10.88.0.1')], veth12ab: [] };

describe('join addresses', () => {
  it('on 0.0.0.0: every interface the room can reach, not Docker’s bridges, loopback last', () => {
    expect(joinAddresses('0.0.0.0', 7420, undefined, interfaces)).toEqual([
      { url: 'http://192.168.1.20:7420/', local: false },
      { url: 'http://10.0.0.7:7420/', local: false },
      { url: 'http://127.0.0.1:7420/', local: true },
    ]);
  });

  it('the public URL first; a loopback bind is this machine’s only', () => {
    expect(joinAddresses('127.0.0.1', 7497, 'https://labs.example.org', interfaces)).toEqual([
      { url: 'https://labs.example.org/', local: false },
      { url: 'http://127.0.0.1:7497/', local: true },
    ]);
    expect(joinAddresses('192.168.1.20', 80, undefined, interfaces)).toEqual([{ url: 'http://192.168.1.20:80/', local: false }]);
  });
});
