import { describe, expect, it } from 'vitest';
import { delta, parseStat, ProcMeter, processTree, withDescendants } from './procstat.js';

describe('parseStat', () => {
  it('reads ppid and utime + stime after the last parenthesis, whatever the command name holds', () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
    const line = '4242 (node (a) b) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 11 0';
    expect(parseStat(line)).toEqual({ ppid: 17, ticks: 300 });
  });
});

describe('ProcMeter, one group per process', () => {
  it('charges CPU to the process that used it, each measured on its own', () => {
    const tree = processTree();
    expect(withDescendants([process.pid], tree)).toContain(process.pid);
    const meter = new ProcMeter(() => ({ self: [process.pid], parent: [process.ppid] }));
    const before = meter.poll();
    const until = performance.now() + 300;
    let x = 0;
    while (performance.now() < until) x += Math.sqrt(x + 1);
    expect(x).toBeGreaterThan(0);
    const d = delta(before, meter.poll());
    // /proc counts in ticks (10 ms): 300 ms of spinning is at least 0.2 s.
    expect(d.self!.cpuSec).toBeGreaterThanOrEqual(0.2);
    expect(d.total!.cpuSec).toBeGreaterThanOrEqual(d.self!.cpuSec);
  });
});
