import { describe, expect, it } from 'vitest';
import { procIsContainers, socketsFromScript } from './netns.ts';

const HEAD = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';

describe('socket tables read inside a namespace', () => {
  it('lists the listening sockets of each table, and nothing else', () => {
    const out = [
      '== tcp',
      `${HEAD}   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0`,
      `   1: 0100007F:1F90 0A000002:C350 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0`,
      '== tcp6',
      '== udp',
      `${HEAD}   5: 0B00007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 3 2 0`,
      '== udp6',
      '',
    ].join('\n');
    expect(socketsFromScript(out)).toEqual([
      { addr: '0.0.0.0', port: 80, proto: 'tcp' },
      { addr: '127.0.0.11', port: 53, proto: 'udp' },
    ]);
  });

  it('trusts a pid of this machine only when its cgroup names the container', async () => {
    expect(await procIsContainers(process.pid, 'f'.repeat(64))).toBe(false);
    expect(await procIsContainers(2 ** 22 + 7, 'abc')).toBe(false);
  });
});
