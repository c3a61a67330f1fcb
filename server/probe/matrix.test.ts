import { describe, expect, it } from 'vitest';
import { loadLab } from '../lab/catalogue.ts';
import type { Topology } from '../protocol/session.ts';
import { deriveMatrix } from './matrix.ts';

describe('the probe matrix', () => {
  it('never asks a name from a host-network service (that lookup would leave the machine): it uses 127.0.0.1', () => {
    const { lab } = loadLab('host-basics');
    const topology: Topology = {
      session: 'abcdef01', scenario: 'host-basics', seed: 0, networks: [],
      services: [
        { name: 'agent', container: 'fl-abcdef01-agent', kind: 'container', network_mode: 'host', networks: {}, ports: [] },
        { name: 'app', container: 'fl-abcdef01-app', kind: 'container', network_mode: 'networks', networks: { lan: { ip: '10.88.0.2', aliases: [] } }, ports: [{ host_ip: '127.0.0.1', host_port: 23000, container_port: 8080, proto: 'tcp' }] },
        { name: 'client', container: 'fl-abcdef01-client', kind: 'container', network_mode: 'networks', networks: { lan: { ip: '10.88.0.3', aliases: [] } }, ports: [] },
      ],
    };
    const fromAgent = deriveMatrix(lab, topology).filter((p) => p.from === 'agent').map((p) => p.to);
    expect(fromAgent).toEqual(['tcp:127.0.0.1:23000']);
    const fromClient = deriveMatrix(lab, topology).filter((p) => p.from === 'client').map((p) => p.to);
    expect(fromClient).toContain('dns:app');
    expect(fromClient).toContain('tcp:app:8080');
  });
});
