/**
 * Server cost from /proc: CPU time (utime + stime) and resident memory of
 * groups of processes ("replicas", "nginx", "redis"), each pid counted with
 * all its descendants (nginx's workers, a wrapper's child).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

/** A named set of root pids, e.g. { replicas: [101, 102, 103] }. */
export type PidGroups = Record<string, number[]>;

export interface GroupSample {
  /** CPU seconds used so far by the group's live processes. */
  cpuSec: number;
  rssKiB: number;
  processes: number;
}

export type Sample = Record<string, GroupSample>;

let clockTicks: number | undefined;

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
export function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

interface StatFields {
  ppid: number;
  ticks: number;
}

/** Parses /proc/<pid>/stat; the command name may contain spaces and parens, so split after the last ')'. */
export function parseStat(text: string): StatFields {
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); ppid is field 4, utime 14, stime 15.
  return { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) };
}

export function parseRssKiB(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) : 0;
}

function readStat(pid: number): StatFields | undefined {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

function readRss(pid: number): number {
  try {
    return parseRssKiB(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return 0;
  }
}

/** parent pid → its children, from one scan of /proc. */
export type ProcessTree = Map<number, number[]>;

/** One scan of /proc: every live process's parent. */
export function processTree(): ProcessTree {
  const children: ProcessTree = new Map();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (!stat) continue;
    const list = children.get(stat.ppid);
    if (list) list.push(pid);
    else children.set(stat.ppid, [pid]);
  }
  return children;
}

/** Every live pid in the trees rooted at `roots` (`tree`: a scan already made in this poll). */
export function withDescendants(roots: number[], tree: ProcessTree = processTree()): number[] {
  const out = new Set<number>();
  const stack = [...roots];
  while (stack.length) {
    const pid = stack.pop()!;
    if (out.has(pid)) continue;
    if (!readStat(pid)) continue;
    out.add(pid);
    stack.push(...(tree.get(pid) ?? []));
  }
  return [...out];
}

/**
 * Accumulates each group's CPU time from periodic polls, per pid, so that a
 * process that dies (chaos) or is started (a restarted replica) between two
 * polls loses at most one poll interval of CPU instead of distorting the sum.
 */
export class ProcMeter {
  private readonly last = new Map<number, number>();
  private readonly cpu: Record<string, number> = {};
  private readonly rss: Record<string, number> = {};
  private readonly count: Record<string, number> = {};

  /** `groups` is called on every poll, so pids replaced by a restart are followed. */
  constructor(private readonly groups: () => PidGroups) {
    this.poll();
  }

  poll(): Sample {
    const hz = ticksPerSecond();
    // One scan of /proc per poll, whatever the number of groups (a group per process is common).
    const tree = processTree();
    for (const [name, roots] of Object.entries(this.groups())) {
      let rss = 0;
      const pids = withDescendants(roots, tree);
      for (const pid of pids) {
        const stat = readStat(pid);
        if (!stat) continue;
        const sec = stat.ticks / hz;
        const prev = this.last.get(pid);
        // A pid seen for the first time counts from now: its earlier CPU (start-up) is not ours.
        this.cpu[name] = (this.cpu[name] ?? 0) + (prev === undefined ? 0 : Math.max(0, sec - prev));
        this.last.set(pid, sec);
        rss += readRss(pid);
      }
      this.rss[name] = rss;
      this.count[name] = pids.length;
    }
    return this.snapshot();
  }

  snapshot(): Sample {
    const out: Sample = {};
    for (const name of Object.keys(this.rss)) {
      out[name] = { cpuSec: this.cpu[name] ?? 0, rssKiB: this.rss[name] ?? 0, processes: this.count[name] ?? 0 };
    }
    return out;
  }
}

export interface GroupDelta {
  cpuSec: number;
  rssBeforeKiB: number;
  rssAfterKiB: number;
}

/** Per-group CPU used and memory before/after between two samples, plus a "total" group. */
export function delta(before: Sample, after: Sample): Record<string, GroupDelta> {
  const out: Record<string, GroupDelta> = {};
  const total: GroupDelta = { cpuSec: 0, rssBeforeKiB: 0, rssAfterKiB: 0 };
  for (const name of Object.keys(after)) {
    const a = after[name]!;
    const b = before[name] ?? { cpuSec: 0, rssKiB: 0, processes: 0 };
    const d = { cpuSec: a.cpuSec - b.cpuSec, rssBeforeKiB: b.rssKiB, rssAfterKiB: a.rssKiB };
    out[name] = d;
    total.cpuSec += d.cpuSec;
    total.rssBeforeKiB += d.rssBeforeKiB;
    total.rssAfterKiB += d.rssAfterKiB;
  }
  out.total = total;
  return out;
}

/**
 * Parses `--pids`: "101,102" (one group "server") or "replicas:101,replicas:102,nginx:200"
 * (labelled groups).
 */
export function parsePids(spec: string): PidGroups {
  const groups: PidGroups = {};
  for (const item of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [label, pidText] = item.includes(':') ? item.split(':', 2) : ['server', item];
    const pid = Number(pidText);
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`--pids: "${item}" is not a pid`);
    (groups[label!] ??= []).push(pid);
  }
  return groups;
}

/**
 * CPU seconds the whole machine spent busy (all cores, from /proc/stat), to
 * tell other load apart, and the part spent in softirq (loopback TCP is
 * processed there, and that time is charged to no process).
 */
export function machineCpu(): { busySec: number; softirqSec: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    const busy = f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + (f[7] ?? 0);
    return { busySec: busy / ticksPerSecond(), softirqSec: f[6]! / ticksPerSecond() };
  } catch {
    return { busySec: 0, softirqSec: 0 };
  }
}

export function machineBusySec(): number {
  return machineCpu().busySec;
}
