import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderReport, writeReport } from './report.js';
import type { Result } from './result.js';
import { sampleResult } from './testing.js';

describe('HTML report', () => {
  it('writes one self-contained file with the charts and the data', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lt-report-'));
    try {
      const file = await writeReport(sampleResult(), path.join(dir, 'r.html'));
      const html = await readFile(file, 'utf8');
      for (const title of ['End-to-end latency per second', 'Latency distribution', 'Deliveries per second', 'Open connections', 'CPU (% of one core)']) {
        expect(html).toContain(title);
      }
      expect(html.match(/<svg /g)!.length).toBeGreaterThanOrEqual(6);
      expect(html).toMatch(/<path d="M[\d.]+ [\d.]+L/); // lines were drawn
      expect(html).not.toMatch(/<script src=|<link [^>]*href="http/); // nothing fetched from elsewhere
      expect(html).toContain('kill -9 n2');
      expect(html).toContain('sample &lt;run&gt;'); // escaped
      const embedded = /<script type="application\/json" id="result">([\s\S]*?)<\/script>/.exec(html)![1]!;
      const data = JSON.parse(embedded) as Result;
      expect(data.totals.deliveriesPerSec).toBe(25_000);
      expect(data.label).toBe('sample <run>');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('renders a connections result without message charts', () => {
    const r = sampleResult();
    r.totals.sent = 0;
    r.server!.rssPerConnectionKiB = { replicas: 10, nginx: 5, redis: 0.1, total: 15.1 };
    const html = renderReport(r);
    expect(html).not.toContain('Deliveries per second');
    expect(html).toContain('Open connections');
    expect(html).toContain('RSS per connection');
  });
});
