// What a learner can fetch about a session before being graded, through every learner-facing
// route and socket event: none of it may carry the ground truth (the variant, the answer, the
// fault's description, the commands that made it).
import { io as connect } from 'socket.io-client';
import { expect } from 'vitest';

/** Every learner-facing payload about `session`; `probe` runs one probe while the flow socket listens. */
export async function learnerPayloads(url: string, session: string, scenario: string, probe: () => Promise<unknown>): Promise<string[]> {
  const payloads: string[] = [];
  const get = async (path: string) => payloads.push(await (await fetch(`${url}${path}`)).text());
  await get('/api/health');
  await get('/api/scenarios');
  await get(`/api/scenarios/${scenario}`);
  await get('/api/sessions');
  await get(`/api/sessions/${session}`);
  await get(`/api/sessions/${session}/actions`);
  await get(`/api/sessions/${session}/hints`);
  payloads.push(await (await fetch(`${url}/api/sessions/${session}/probes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ matrix: true }) })).text());
  const socket = connect(url, { transports: ['websocket'] });
  try {
    const delta = new Promise<unknown>((resolve) => socket.once('flows:delta', resolve));
    payloads.push(JSON.stringify(await socket.timeout(30_000).emitWithAck('flows:join', { session })));
    await probe();
    payloads.push(JSON.stringify(await Promise.race([delta, new Promise((r) => setTimeout(() => r({}), 5000))])));
  } finally {
    socket.close();
  }
  return payloads;
}

/** None of the payloads names the variant, the fault or its summary, or the re-creation a fault made. */
export function expectNoGroundTruth(payloads: string[], banned: RegExp, faultSummary: string): void {
  expect(payloads.length).toBe(10);
  for (const p of payloads) {
    expect(p).not.toMatch(/"variants"|"answer"|"solution"|"faults"/);
    expect(p).not.toMatch(banned);
    expect(p).not.toContain(faultSummary);
    expect(p).not.toContain('docker rm --force fl-'); // the re-creation the fault made
  }
}
