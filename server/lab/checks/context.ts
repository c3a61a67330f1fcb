// What every part of a lab's checks is given: the lab, its services in canonical form, where to
// report, and what the engine has.
import { contains, type Cidr } from '../ipv4.ts';
import type { ServiceModel } from '../model.ts';
import type { YamlPath } from '../problems.ts';
import type { Lab } from '../schema.ts';
import type { ValidateContext } from '../validate.ts';

export interface LabChecks {
  lab: Lab;
  ctx: ValidateContext;
  models: ServiceModel[];
  serviceNames: string[];
  networkNames: string[];
  byName: Map<string, ServiceModel>;
  /** The lab's fixed subnets, once the network checks have read them. */
  subnets: { name: string; cidr: Cidr }[];
  error(path: YamlPath, message: string, key?: string): void;
  warn(path: YamlPath, message: string, key?: string): void;
}

/** An address a lab may point at without leaving the machine: its own fixed subnets, or loopback. */
export function isLabLocal(ip: string, subnets: { cidr: Cidr }[]): boolean {
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return ip === '::1';
  return ip.startsWith('127.') || subnets.some((s) => contains(s.cidr, ip));
}
