/**
 * Live progress: on a terminal a status block redrawn every second; otherwise
 * (CI, a pipe, a log file) one plain line every few seconds.
 */
import type { SeriesPoint } from './result.js';

export interface ProgressInfo {
  title: string;
  /** Planned seconds of sending (warm-up + measure) or holding, for "elapsed / total". */
  totalSec: number;
  askedRate: number;
  errorsTotal: number;
  lostSoFar?: number;
}

export class Progress {
  private drawn = 0;
  private lastPlain = -Infinity;

  constructor(
    private readonly out: NodeJS.WriteStream = process.stdout,
    private readonly tty = Boolean(process.stdout.isTTY) && !process.env.CI,
    private readonly plainEverySec = 5,
  ) {}

  update(p: SeriesPoint, info: ProgressInfo): void {
    if (this.tty) {
      this.clear();
      const lines = block(p, info);
      this.out.write(`${lines.join('\n')}\n`);
      this.drawn = lines.length;
    } else if (p.t - this.lastPlain >= this.plainEverySec) {
      this.lastPlain = p.t;
      this.out.write(`${plain(p, info)}\n`);
    }
  }

  /** A line that stays (warnings, events), printed above the live block. */
  log(line: string): void {
    this.clear();
    this.out.write(`${line}\n`);
    this.drawn = 0;
  }

  done(): void {
    this.drawn = 0;
  }

  private clear(): void {
    // Cursor to the start of the block's first line, then clear to the end of the screen.
    if (this.tty && this.drawn > 0) this.out.write(`\x1b[${this.drawn}F\x1b[J`);
  }
}

const f0 = (n: number): string => Math.round(n).toLocaleString('en-US');
const f1 = (n: number): string => n.toFixed(1);

function block(p: SeriesPoint, info: ProgressInfo): string[] {
  const server = p.serverCpu === undefined ? '' : `   server cpu ${f0(p.serverCpu)}%  rss ${f0(p.serverRssMiB ?? 0)} MiB`;
  return [
    `── ${info.title} ── ${p.phase} ── ${f0(p.t)} s${info.totalSec ? ` / ${f0(info.totalSec)} s` : ''}`,
    `  connections ${f0(p.connections)}   sent/s ${f0(p.sent)}${info.askedRate ? ` (asked ${f0(info.askedRate)})` : ''}   acked/s ${f0(p.acked)}   delivered/s ${f0(p.delivered)}`,
    `  latency last 1 s: p50 ${f1(p.p50)} ms  p99 ${f1(p.p99)} ms  max ${f1(p.max)} ms`,
    `  errors ${f0(info.errorsTotal)}${info.lostSoFar === undefined ? '' : `   missing so far ${f0(info.lostSoFar)}`}   generator: lag p99 ${f1(p.lagP99)} ms  cpu ${f0(p.genCpu)}%${server}`,
  ];
}

function plain(p: SeriesPoint, info: ProgressInfo): string {
  const server = p.serverCpu === undefined ? '' : ` server_cpu=${f0(p.serverCpu)}%`;
  return (
    `[${info.title}] t=${f0(p.t)}s phase=${p.phase} conns=${p.connections} sent/s=${p.sent} delivered/s=${p.delivered}` +
    ` p50=${f1(p.p50)}ms p99=${f1(p.p99)}ms errors=${info.errorsTotal} lag_p99=${f1(p.lagP99)}ms gen_cpu=${f0(p.genCpu)}%${server}`
  );
}
