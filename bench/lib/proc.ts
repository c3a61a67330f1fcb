// Reading how busy and how big processes are, from /proc (Linux).
import { readdirSync, readFileSync } from 'node:fs';

/** VmRSS / VmHWM of a process, in MB, and its CPU seconds so far. */
export function procStats(pid: number): { rss: number; hwm: number; cpuS: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat, in clock ticks (100 a second on Linux).
    const cpuS = (Number(f[11]) + Number(f[12])) / 100;
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024, cpuS };
  } catch {
    return undefined;
  }
}

/** The pid of the first process with this command name (dockerd: the server mostly waits on it). */
export function pidOf(comm: string): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === comm) return Number(d);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

export const loadavg = (): number => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

/** The machine's CPU time so far: busy (user, nice, system, irq, softirq), waiting on I/O, and in all. */
export function machineCpu(): { busy: number; iowait: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  return { busy: user + nice + system + irq + softirq, iowait, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

/** Busy and iowait shares of all cores between two readings. */
export const cpuBetween = (a: ReturnType<typeof machineCpu>, b: ReturnType<typeof machineCpu>) => ({ busy: (b.busy - a.busy) / (b.total - a.total), iowait: (b.iowait - a.iowait) / (b.total - a.total) });

/** Samples a process's RSS every 200 ms: its peak overall and per phase. */
export class RssSampler {
  private timer?: NodeJS.Timeout;
  private phasePeak = 0;
  peak = 0;
  last = 0;

  constructor(private readonly pid: number) {}

  start(): void {
    this.timer = setInterval(() => this.sample(), 200);
  }

  sample(): void {
    const s = procStats(this.pid);
    if (!s) return;
    this.last = s.rss;
    this.peak = Math.max(this.peak, s.rss);
    this.phasePeak = Math.max(this.phasePeak, s.rss);
  }

  /** The peak since the last call. */
  phase(): number {
    this.sample();
    const p = this.phasePeak;
    this.phasePeak = this.last;
    return p;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
