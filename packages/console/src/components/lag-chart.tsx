/**
 * A group's lag per partition over time, sampled while its page is open (each reload of the
 * group's offsets is one sample, the last SAMPLES kept): plain SVG, one line per partition on a
 * shared scale, with a legend giving each partition's latest lag. Nothing is kept once the page
 * is left.
 */
import { useRef } from 'preact/hooks';
import type { GroupOffset } from '@webka/client';

export const SAMPLES = 60;
const W = 600;
const H = 120;
const PAD = 4;
/** Distinguishable in both themes; partitions past the list reuse it. */
const COLOURS = ['#3b82f6', '#ef4444', '#22c55e', '#eab308', '#a855f7', '#14b8a6', '#f97316', '#ec4899'];

interface Series {
  id: string;
  lags: (number | null)[];
}

export function LagChart({ offsets, sampledAt }: { offsets: GroupOffset[]; sampledAt: unknown }) {
  const state = useRef<{ last: unknown; series: Map<string, Series>; samples: number }>({ last: undefined, series: new Map(), samples: 0 });
  const s = state.current;
  if (s.last !== sampledAt) {
    // a new sample: every partition gets a point (null where it has no lag), the oldest go first
    s.last = sampledAt;
    s.samples = Math.min(s.samples + 1, SAMPLES);
    const now = new Map(offsets.map((o) => [`${o.topic}/${o.partition}`, o.lag ?? null]));
    for (const id of now.keys()) if (!s.series.has(id)) s.series.set(id, { id, lags: [] });
    for (const series of s.series.values()) {
      series.lags.push(now.get(series.id) ?? null);
      if (series.lags.length > SAMPLES) series.lags.splice(0, series.lags.length - SAMPLES);
    }
  }
  const all = [...s.series.values()];
  const max = Math.max(1, ...all.flatMap((x) => x.lags.filter((l): l is number => l !== null)));
  const x = (i: number, n: number) => PAD + (n <= 1 ? W - 2 * PAD : (i + SAMPLES - n) * ((W - 2 * PAD) / (SAMPLES - 1)));
  const y = (lag: number) => H - PAD - (lag / max) * (H - 2 * PAD);
  const latest = (x: Series) => x.lags[x.lags.length - 1];
  return (
    <figure class="lag-chart">
      <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label={`Lag per partition over the last ${s.samples} samples, up to ${max}`}>
        <line x1={PAD} y1={H - PAD} x2={W - PAD} y2={H - PAD} class="axis" />
        {all.map((series, k) => (
          <polyline
            key={series.id}
            data-partition={series.id}
            data-lags={series.lags.map((l) => (l === null ? '' : String(l))).join(',')}
            fill="none"
            stroke={COLOURS[k % COLOURS.length]}
            stroke-width="2"
            points={series.lags
              .map((l, i) => (l === null ? undefined : `${x(i, series.lags.length).toFixed(1)},${y(l).toFixed(1)}`))
              .filter((p) => p !== undefined)
              .join(' ')}
          />
        ))}
      </svg>
      <figcaption>
        <span class="muted">Lag per partition, sampled every 5 s while this page is open; scale 0 to {max}.</span>
        <ul class="legend" aria-label="Lag legend">
          {all.map((series, k) => (
            <li key={series.id}>
              <span class="swatch" style={{ background: COLOURS[k % COLOURS.length] }} aria-hidden="true" />
              {series.id} {latest(series) ?? 'none'}
            </li>
          ))}
        </ul>
      </figcaption>
    </figure>
  );
}
