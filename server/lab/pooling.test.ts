import { describe, expect, it } from 'vitest';
import { labSchema } from './schema.ts';
import { poolRefusal } from './pooling.ts';

const lab = (services: Record<string, unknown>) =>
  labSchema.parse({ id: 'pool-me', title: 't', summary: 's', level: 'beginner', network: 'bridge', minutes: 5, topic: 'ports', objectives: ['o'], briefing: 'b', networks: { lan: {} }, services });

describe('poolRefusal', () => {
  it('pools a lab whose ports are leased per session', () => {
    expect(poolRefusal(lab({ web: { image: 'toolbox', networks: ['lan'], ports: ['auto:80'] }, client: { image: 'toolbox', networks: ['lan'] } }))).toBeUndefined();
  });

  it('keeps out a lab with a host-network service, naming it', () => {
    expect(poolRefusal(lab({ agent: { image: 'toolbox', network_mode: 'host' }, web: { image: 'toolbox', networks: ['lan'] } }))).toMatch(/^agent uses the host's network: a waiting copy would hold its ports/);
  });

  it('keeps out a lab that publishes a fixed host port, naming the service and port', () => {
    expect(poolRefusal(lab({ web: { image: 'toolbox', networks: ['lan'], ports: ['18080:80'] } }))).toMatch(/fixed host ports \(web 18080\/tcp\)/);
  });
});
