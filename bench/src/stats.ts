/**
 * A log-linear latency histogram (like HdrHistogram, much smaller): values in
 * microseconds, 32 sub-buckets per power of two, so a percentile is within ~3%.
 * Histograms from several processes merge by adding counts.
 */
export class Histogram {
  static readonly SUB = 32;
  static readonly OCTAVES = 32;
  readonly counts: Uint32Array = new Uint32Array(Histogram.SUB * Histogram.OCTAVES);
  total = 0;

  record(micros: number): void {
    this.counts[bucketOf(micros)]!++;
    this.total++;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
  }

  /** Non-empty buckets as [index, count] pairs (small enough for IPC). */
  toSparse(): [number, number][] {
    const out: [number, number][] = [];
    this.counts.forEach((count, index) => {
      if (count > 0) out.push([index, count]);
    });
    return out;
  }

  addSparse(sparse: readonly (readonly [number, number])[]): void {
    for (const [index, count] of sparse) {
      this.counts[index] = (this.counts[index] ?? 0) + count;
      this.total += count;
    }
  }

  /** The value (microseconds, bucket midpoint) at quantile q in [0, 1]; NaN when empty. */
  quantile(q: number): number {
    if (this.total === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return midpointOf(i);
    }
    return midpointOf(this.counts.length - 1);
  }
}

function bucketOf(micros: number): number {
  const v = Math.max(1, micros);
  const octave = Math.min(Histogram.OCTAVES - 1, Math.floor(Math.log2(v)));
  const base = 2 ** octave;
  const sub = Math.min(Histogram.SUB - 1, Math.floor(((v - base) / base) * Histogram.SUB));
  return octave * Histogram.SUB + sub;
}

function midpointOf(index: number): number {
  const octave = Math.floor(index / Histogram.SUB);
  const sub = index % Histogram.SUB;
  const base = 2 ** octave;
  return base + ((sub + 0.5) * base) / Histogram.SUB;
}

/** Median of finite values; NaN when there are none. */
export function median(values: readonly number[]): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** Median, min and max of a figure over runs. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

export function summarize(values: readonly number[]): Summary {
  const v = values.filter(Number.isFinite);
  return {
    median: median(v),
    min: v.length ? Math.min(...v) : Number.NaN,
    max: v.length ? Math.max(...v) : Number.NaN,
    n: v.length,
  };
}
