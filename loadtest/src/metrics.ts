/**
 * A few figures from the servers' Prometheus /metrics, when reachable: memory,
 * heap, connections and frame counters, summed over the replicas asked.
 */

/** Sums samples by metric name (labels dropped) for names that match `keep`. */
export function parsePrometheus(text: string, keep: RegExp = INTERESTING): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || !keep.test(m[1]!)) continue;
    const value = Number(m[3]);
    if (Number.isFinite(value)) out[m[1]!] = (out[m[1]!] ?? 0) + value;
  }
  return out;
}

const INTERESTING = /resident_memory|heap_size_used|connections|frames|broadcast|messages|rooms|eventloop_lag_p99|redis_errors/;

/** GET <base>/metrics of each base URL, summed; undefined when none answered Prometheus text. */
export async function fetchMetrics(bases: string[]): Promise<Record<string, number> | undefined> {
  let total: Record<string, number> | undefined;
  for (const base of bases) {
    try {
      const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(3000) });
      const text = await res.text();
      if (res.status !== 200 || !text.includes('# HELP')) continue;
      total ??= {};
      for (const [k, v] of Object.entries(parsePrometheus(text))) total[k] = (total[k] ?? 0) + v;
    } catch {
      // not reachable: the result says so by leaving metrics out
    }
  }
  return total;
}
