import type { SystemName } from '../systems.js';
import type { BenchResults } from './results.js';
import { chartFigures } from './table.js';

const COLORS: Record<SystemName, string> = {
  'chorus-w1': '#7aa6d8',
  'chorus-w2': '#1f5fa8',
  'before-w1': '#b9cfe8',
  'before-w2': '#6f8fb8',
  'ws-relay': '#8c8c8c',
  'socketio-cluster': '#d9822b',
  'chorus-redis': '#2f9e6a',
  'before-redis': '#9fd3b8',
  'socketio-redis': '#b5482f',
};

function esc(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/**
 * A hand-written bar chart: for every main figure, each system's median ratio
 * to ws-relay (measured in the same runs), on a log2 axis centred on 1.
 * Bars to the right are bigger than plain ws; each group says which side is better.
 */
export function renderSvg(results: BenchResults): string {
  // ws-relay is the reference line itself (1×), so it gets no bars.
  const systems = results.systems.map((s) => s.name).filter((s) => s !== 'ws-relay');
  const figures = chartFigures(results).filter((f) => systems.some((s) => results.summary[f.scenario]?.[s]?.ratios['ws-relay']?.[f.key]));
  const width = 1000;
  const labelWidth = 300;
  const plotLeft = labelWidth + 45;
  const plotWidth = width - plotLeft - 90;
  const bar = 13;
  const gap = 3;
  const groupGap = 16;
  const top = 92;

  // The axis spans whole powers of two around every median (at least 1/4x to 4x, at most 1/128x to 128x).
  let lo = -2;
  let hi = 2;
  for (const f of figures) {
    for (const s of systems) {
      const r = results.summary[f.scenario]?.[s]?.ratios['ws-relay']?.[f.key]?.median;
      if (r === undefined || !(r > 0) || !Number.isFinite(r)) continue;
      lo = Math.min(lo, Math.floor(Math.log2(r) - 0.15));
      hi = Math.max(hi, Math.ceil(Math.log2(r) + 0.15));
    }
  }
  lo = Math.max(lo, -7);
  hi = Math.min(hi, 7);
  const x = (ratio: number): number => {
    const l = Math.max(lo, Math.min(hi, Math.log2(ratio)));
    return plotLeft + ((l - lo) / (hi - lo)) * plotWidth;
  };

  const body: string[] = [];
  let y = top;
  for (const f of figures) {
    const rows = systems.filter((s) => results.summary[f.scenario]?.[s]?.ratios['ws-relay']?.[f.key]);
    // Systems measured in this scenario that have no such figure (e.g. ran out of time): say so in place of a bar.
    const missing = systems.filter((s) => {
      const cell = results.summary[f.scenario]?.[s];
      return cell !== undefined && cell.skipped === undefined && !rows.includes(s) && Object.keys(cell.figures).length > 0;
    });
    const hint = f.better === 'lower' ? '← better' : 'better →';
    const groupTop = y;
    body.push(`<text x="${labelWidth}" y="${y + 10}" text-anchor="end" class="fig">${esc(`${f.scenario}: ${f.label}`)}</text>`);
    body.push(`<text x="${labelWidth}" y="${y + 24}" text-anchor="end" class="hint">${esc(`${f.unit}, ${hint}`)}</text>`);
    for (const s of rows) {
      const r = results.summary[f.scenario]![s]!.ratios['ws-relay']![f.key]!;
      const x0 = x(1);
      const x1 = x(r.median);
      const left = Math.min(x0, x1);
      const w = Math.max(1, Math.abs(x1 - x0));
      const tip = esc(`${s}: ${r.median.toFixed(3)}x ws-relay (min ${r.min.toFixed(3)}, max ${r.max.toFixed(3)})`);
      body.push(
        `<rect x="${left.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${bar}" fill="${COLORS[s]}"><title>${tip}</title></rect>`,
      );
      if (r.n > 1 && r.min !== r.max) {
        const ym = y + bar / 2;
        body.push(`<line x1="${x(r.min).toFixed(1)}" y1="${ym}" x2="${x(r.max).toFixed(1)}" y2="${ym}" class="range"/>`);
      }
      const label = `${r.median >= 10 ? r.median.toFixed(1) : r.median.toFixed(2)}×`;
      const right = x1 >= x0;
      let lx = right ? Math.max(x1, x(r.max)) + 4 : Math.min(x1, x(r.min)) - 4;
      let anchor = right ? 'start' : 'end';
      // Past the plot's right edge (a clamped bar): write the value inside the bar's end.
      if (right && lx > width - 60) {
        lx = x1 - 4;
        anchor = 'end';
      }
      const cls = anchor === 'end' && right ? 'val inside' : 'val';
      body.push(`<text x="${lx.toFixed(1)}" y="${y + bar - 2}" text-anchor="${anchor}" class="${cls}">${label}</text>`);
      y += bar + gap;
    }
    for (const s of missing) {
      const timedOut = (results.summary[f.scenario]![s]!.figures.timedOut?.max ?? 0) > 0;
      const why = timedOut
        ? `did not connect all ${results.options.connections.toLocaleString('en-US')} within ${results.options.connectTimeout} s`
        : 'no figure';
      body.push(`<text x="${x(1) + 4}" y="${y + bar - 2}" class="val">${esc(`${s}: ${why}`)}</text>`);
      y += bar + gap;
    }
    y = Math.max(y, groupTop + 30) + groupGap;
  }
  const height = y + 30;

  const axis: string[] = [];
  for (let o = lo; o <= hi; o++) {
    const xo = x(2 ** o);
    const label = o >= 0 ? `${2 ** o}×` : `1/${2 ** -o}×`;
    axis.push(`<line x1="${xo}" y1="${top - 8}" x2="${xo}" y2="${height - 26}" class="${o === 0 ? 'one' : 'grid'}"/>`);
    axis.push(`<text x="${xo}" y="${top - 12}" text-anchor="middle" class="tick">${label}</text>`);
  }
  const legend = systems.map((s, i) => {
    const lx = plotLeft + i * 165;
    return `<rect x="${lx}" y="46" width="12" height="12" fill="${COLORS[s]}"/><text x="${lx + 17}" y="56" class="legend">${esc(s)}</text>`;
  });
  const runs = results.options.runs;
  const scenarios = [...new Set(figures.map((f) => f.scenario))].join(', ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif">
<style>
  .title { font-size: 16px; font-weight: 600; fill: #222; }
  .sub { font-size: 12px; fill: #555; }
  .fig { font-size: 12.5px; fill: #222; }
  .hint { font-size: 11px; fill: #777; }
  .val { font-size: 11px; fill: #333; }
  .inside { fill: #fff; font-weight: 600; }
  .tick { font-size: 11px; fill: #666; }
  .legend { font-size: 12px; fill: #333; }
  .grid { stroke: #e4e4e4; stroke-width: 1; }
  .one { stroke: #444; stroke-width: 1.2; }
  .range { stroke: #222; stroke-width: 1; opacity: 0.55; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="20" y="24" class="title">Ratio to plain ws (ws-relay = the 1× line), medians of ${runs} interleaved run${runs === 1 ? '' : 's'}; thin lines span min–max</text>
<text x="20" y="40" class="sub">${esc(`${scenarios}; ${results.machine.cpus} cores, ${results.machine.cpuModel}, Node ${results.machine.node}; ${results.finishedAt.slice(0, 10)}`)}</text>
${legend.join('\n')}
${axis.join('\n')}
${body.join('\n')}
</svg>
`;
}
