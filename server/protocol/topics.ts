// What a lab is about, beside the network driver it runs on: how the catalogue and the trainer's
// lab picker group labs. A lab file names one (`topic:`); one that does not is "other".

export const TOPICS = {
  basics: 'Getting started',
  names: 'Names and DNS',
  ports: 'Ports and publishing',
  isolation: 'Isolation and firewalls',
  networks: 'Networks and their options',
  'load-balancing': 'Services and load balancing',
  mtu: 'Packet size and MTU',
  other: 'Other',
} as const;

export type Topic = keyof typeof TOPICS;
export const TOPIC_IDS = Object.keys(TOPICS) as [Topic, ...Topic[]];
