// bench/results.json: one entry per figure, printed as one line each as it is measured.
import { writeFileSync } from "node:fs";
import { round } from "./stats";

export interface Figure {
  value: number;
  unit: string;
  peers?: Record<string, number>;
}

export class Results {
  readonly figures: Record<string, Figure> = {};
  constructor(private readonly file: string) {}

  add(name: string, value: number, unit: string, peers?: Record<string, number>) {
    const figure: Figure = {
      value: round(value),
      unit,
      ...(peers ? { peers: Object.fromEntries(Object.entries(peers).map(([peer, n]) => [peer, round(n)])) } : {}),
    };
    this.figures[name] = figure;
    const against = figure.peers
      ? `   (${Object.entries(figure.peers)
          .map(([peer, n]) => `${peer} ${n}`)
          .join(", ")})`
      : "";
    console.log(`${name.padEnd(44)} ${String(figure.value).padStart(10)} ${unit}${against}`);
    this.save();
  }

  save() {
    writeFileSync(this.file, `${JSON.stringify(this.figures, null, 2)}\n`);
  }
}
