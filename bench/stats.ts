// Small pure helpers for the benchmarks: percentiles and alternating runs.

/** The p-th percentile (0..100) of `values` by the nearest-rank method; NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/**
 * Runs each contender once per round, rotating who goes first, so slow drifts of the machine (thermal,
 * other work) hit every contender alike and cancel in their ratio. Returns every result per contender.
 */
export async function alternate<T>(
  rounds: number,
  contenders: Record<string, (round: number) => Promise<T>>,
): Promise<Record<string, T[]>> {
  const names = Object.keys(contenders);
  const results: Record<string, T[]> = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length]!;
      results[name]!.push(await contenders[name]!(round));
    }
  }
  return results;
}

/**
 * `alternate`, but a contender that throws is noted and left out of that round instead of ending the run:
 * a peer that misbehaves costs its own figure, not everyone's.
 */
export async function alternateSettled<T>(
  rounds: number,
  contenders: Record<string, (round: number) => Promise<T>>,
): Promise<{ results: Record<string, T[]>; errors: Record<string, string> }> {
  const errors: Record<string, string> = {};
  const guarded = Object.fromEntries(
    Object.entries(contenders).map(([name, run]) => [
      name,
      (round: number) =>
        run(round).catch((error: unknown) => {
          errors[name] ??= error instanceof Error ? error.message : String(error);
          return undefined;
        }),
    ]),
  );
  const settled = await alternate(rounds, guarded);
  const results = Object.fromEntries(
    Object.entries(settled).map(([name, values]) => [
      name,
      values.filter((value): value is Awaited<T> => value !== undefined),
    ]),
  ) as Record<string, T[]>;
  return { results, errors };
}

/** Keeps `digits` significant digits for reports, but never rounds away the integer part. */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value) || value === 0) return value;
  const scale = 10 ** Math.max(0, digits - 1 - Math.floor(Math.log10(Math.abs(value))));
  return Math.round(value * scale) / scale;
}
