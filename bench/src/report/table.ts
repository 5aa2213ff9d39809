import type { ScenarioName } from '../options.js';
import type { Summary } from '../stats.js';
import { AFTER_OF, BASELINES, BEFORE_SYSTEMS } from '../systems.js';
import { summarize } from '../stats.js';
import { FIGURES, pairedRatios, type BenchResults, type FigureSpec } from './results.js';

const SHORT: Record<string, string> = { 'ws-relay': 'x ws', 'socketio-cluster': 'x sio' };

export const SCENARIO_TITLES: Record<ScenarioName, string> = {
  connect: 'connect: idle connections',
  fanout: 'fanout: 1 room of everyone',
  direct: 'direct: pairs split across processes',
  room: 'room: broadcasts in rooms',
  'direct-text': 'direct over the text protocol (ratios to the baselines’ JSON direct)',
};

function formatNumber(value: number, digits: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  const abs = Math.abs(value);
  const d = abs >= 1000 ? 0 : abs >= 100 ? Math.min(digits, 1) : digits;
  return value.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

/** `median (min–max)` of a figure. */
export function formatSummary(s: Summary | undefined, digits: number): string {
  if (!s || s.n === 0) return 'n/a';
  if (s.n === 1) return formatNumber(s.median, digits);
  return `${formatNumber(s.median, digits)} (${formatNumber(s.min, digits)}–${formatNumber(s.max, digits)})`;
}

export function formatRatio(s: Summary | undefined): string {
  if (!s || s.n === 0) return '';
  const f = (v: number) => (v >= 10 ? v.toFixed(1) : v >= 0.1 ? v.toFixed(2) : v.toPrecision(2));
  return s.n === 1 ? f(s.median) : `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}

function row(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}

/** One markdown table per scenario: figures with min-max, then ratios to each baseline. */
export function scenarioTables(results: BenchResults): string {
  const out: string[] = [];
  const systems = results.systems.map((s) => s.name);
  const baselines = BASELINES.filter((b) => systems.includes(b));
  for (const scenario of results.options.scenarios) {
    const cells = results.summary[scenario];
    if (!cells) continue;
    const figures = FIGURES.filter((f) => f.scenario === scenario && f.main);
    out.push(`#### ${SCENARIO_TITLES[scenario]}`, '');
    const header: string[] = ['system'];
    for (const f of figures) header.push(`${f.label} (${f.unit}, ${f.better} is better)`, ...baselines.map((b) => SHORT[b]!));
    out.push(row(header), row(header.map((_, i) => (i === 0 ? '---' : '---:'))));
    for (const system of systems) {
      const cell = cells[system];
      if (!cell) continue;
      if (cell.skipped !== undefined || Object.keys(cell.figures).length === 0) {
        const why = cell.skipped ?? cell.errors[0] ?? 'no result';
        out.push(row([system, `${cell.skipped !== undefined ? 'not available' : 'failed'}: ${why.replaceAll('|', '/').split('\n')[0]}`, ...header.slice(2).map(() => '')]));
        continue;
      }
      const line: string[] = [system];
      const connected = cell.figures.connected;
      for (const f of figures) {
        if (f.key === 'connectSeconds' && connected && (cell.figures.timedOut?.max ?? 0) > 0) {
          // At least one run ran out of time: say how far it got instead of a time.
          line.push(`> ${results.options.connectTimeout} s (${formatNumber(connected.min, 0)} of ${formatNumber(results.options.connections, 0)} in time)`);
          for (const b of baselines) line.push(system === b ? '1' : '');
          continue;
        }
        line.push(formatSummary(cell.figures[f.key], f.digits));
        for (const b of baselines) line.push(system === b ? '1' : formatRatio(cell.ratios[b]?.[f.key]));
      }
      out.push(row(line));
    }
    const notes = systems.flatMap((s) => (cells[s]?.notes ?? []).map((n) => `${s}: ${n}`));
    const errors = systems.flatMap((s) => {
      const cell = cells[s];
      if (!cell || cell.skipped !== undefined || cell.errors.length === 0) return [];
      return [`${s}: ${cell.errors.length} run(s) failed: ${cell.errors[0]!.split('\n')[0]}`];
    });
    const noise = systems.flatMap((s) => {
      const others = cells[s]?.figures.foreignCpuCores;
      return others && others.n > 0 ? [`${s} ${formatSummary(others, 2)}`] : [];
    });
    if (noise.length > 0) notes.push(`CPU used during the measured windows by other processes, or taken by the host (steal), in cores: ${noise.join('; ')}`);
    if (notes.length + errors.length > 0) out.push('', ...[...notes, ...errors].map((n) => `- ${n}`));
    out.push('');
  }
  return out.join('\n');
}

/**
 * With --before: for each main figure, the current build over the build before
 * the change, as the median (min-max) of the ratios paired run by run. Below 1
 * is better for a "lower is better" figure, above 1 for the others.
 */
export function beforeTable(results: BenchResults): string {
  const systems = results.systems.map((s) => s.name);
  const pairs = BEFORE_SYSTEMS.filter((b) => systems.includes(b) && systems.includes(AFTER_OF[b])).map((b) => [AFTER_OF[b], b] as const);
  if (pairs.length === 0) return '';
  const out = [row(['figure', ...pairs.map(([after, before]) => `${after} / ${before}`)]), row(['---', ...pairs.map(() => '---:')])];
  for (const f of FIGURES.filter((f) => f.main && results.options.scenarios.includes(f.scenario))) {
    const cells = pairs.map(([after, before]) => {
      const values = pairedRatios(results.runs, { system: after, scenario: f.scenario }, { system: before, scenario: f.scenario }, f.key);
      return values.length === 0 ? 'n/a' : formatRatio(summarize(values));
    });
    out.push(row([`${f.scenario}: ${f.label} (${f.better} is better)`, ...cells]));
  }
  return out.join('\n');
}

/** The targets for chorus-w2 with the measured ratio. */
export function targetsTable(results: BenchResults): string {
  const out = [row(['target (chorus-w2)', 'measured ratio, median (min–max)', 'met?']), row(['---', '---:', '---'])];
  for (const t of results.targets) {
    const measured = t.ratio ? `${formatRatio(t.ratio)} vs ${t.versus}` : 'not measured';
    out.push(row([t.text, measured, t.met === null ? '—' : t.met ? 'met' : '**not met**']));
  }
  return out.join('\n');
}

/** Figures for which every system has a ratio to ws-relay (for the chart). */
export function chartFigures(results: BenchResults): FigureSpec[] {
  return FIGURES.filter((f) => f.main && results.options.scenarios.includes(f.scenario) && f.key !== 'p50AtMaxMs');
}
