// bench/results.json: one entry per figure, printed as one line each as it is measured.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { round } from "./stats";

export interface Figure {
  value: number;
  unit: string;
  peers?: Record<string, number>;
  /** Why the figure, or one of its peers, could not be measured in the last run. */
  error?: string;
  measuredAt?: string;
}

/**
 * The figures file. A run adds or replaces the figures it measures and keeps the others, so
 * `npm run bench -- app` does not drop the terminal figures of an earlier full run.
 */
export class Results {
  readonly figures: Record<string, Figure>;
  constructor(private readonly file: string) {
    this.figures = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, Figure>) : {};
  }

  add(name: string, value: number, unit: string, peers?: Record<string, number>, error?: string) {
    const figure: Figure = {
      value: round(value),
      unit,
      ...(peers ? { peers: Object.fromEntries(Object.entries(peers).map(([peer, n]) => [peer, round(n)])) } : {}),
      ...(error ? { error } : {}),
      measuredAt: new Date().toISOString(),
    };
    this.figures[name] = figure;
    const against = figure.peers
      ? `   (${Object.entries(figure.peers)
          .map(([peer, n]) => `${peer} ${n}`)
          .join(", ")})`
      : "";
    console.log(
      `${name.padEnd(44)} ${String(figure.value).padStart(10)} ${unit}${against}${error ? `   [${error}]` : ""}`,
    );
    this.save();
  }

  /** A figure that could not be measured: recorded with the reason, and the run goes on. */
  failed(name: string, unit: string, error: unknown) {
    this.add(name, Number.NaN, unit, undefined, error instanceof Error ? error.message : String(error));
  }

  save() {
    // NaN is not JSON: a figure that failed is written as null with its error beside it.
    writeFileSync(
      this.file,
      `${JSON.stringify(this.figures, (_, value) => (Number.isNaN(value) ? null : value), 2)}\n`,
    );
  }
}
