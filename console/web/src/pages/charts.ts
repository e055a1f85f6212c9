/**
 * Live charts of the cluster's traffic: records in, bytes in and bytes out per second, by broker
 * and by topic, over the last five minutes. The console process scrapes every broker's /metrics
 * each second (console/server/rates-poller.ts); the page loads the history from /api/rates and
 * then draws each new sample from /api/rates/events.
 *
 * The charts are hand-drawn SVG paths rather than a chart library: six line charts take this
 * one file, while a library would be the console's largest dependency and need a bundling
 * step (the console's browser code is plain ES modules compiled by tsc, nothing for users to build).
 *
 * Test hooks: each chart is `data-testid="chart-<metric>-<brokers|topics>"` and each of its
 * series' legend entries `data-testid="chart-<metric>-broker-<id>"` / `chart-<metric>-topic-<name>`
 * (metric: records, bytesin, bytesout) with the latest value in `data-latest` (empty when the
 * series is absent from the latest sample: the broker did not answer).
 */
import { api, errorBox, fill, formatBytes, formatNumber, h, subscribe, type Page } from '../lib.js';
import type { RatesSample, TrafficRates } from '../api-types.js';

/** What the charts show: the last five minutes (the server keeps as much). */
const WINDOW_MS = 5 * 60 * 1000;
/** A series' line is broken where samples are further apart than this (the console lost the stream, or the broker did not answer). */
const GAP_MS = 5000;
/** Samples kept in the page at most, whatever their times. */
const SAMPLES_MAX = 1000;
/** About the width a chart gets on a laptop screen (three a row), so its text is drawn near its nominal size. */
const WIDTH = 440;
const HEIGHT = 180;
const MARGIN = { left: 72, right: 8, top: 10, bottom: 22 };
/** Colour-blind-safe palette (Okabe-Ito, then Tableau); a series keeps its colour for the page's life. */
const PALETTE = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#d55e00', '#56b4e9', '#7f7f7f', '#bcbd22', '#8c564b', '#17becf'];
const SVG = 'http://www.w3.org/2000/svg';

type Metric = 'records' | 'bytesin' | 'bytesout';
const formatRecords = (v: number) => `${formatNumber(v < 10 ? Math.round(v * 10) / 10 : Math.round(v))}/s`;
const formatByteRate = (v: number) => `${formatBytes(Math.round(v))}/s`;
const METRICS: ReadonlyArray<{ metric: Metric; field: keyof TrafficRates; title: string; format: (value: number) => string; axisMax: (value: number) => number }> = [
  { metric: 'records', field: 'recordsInPerSec', title: 'Records in / s', format: formatRecords, axisMax: niceMax },
  { metric: 'bytesin', field: 'bytesInPerSec', title: 'Bytes in / s', format: formatByteRate, axisMax: niceBytesMax },
  { metric: 'bytesout', field: 'bytesOutPerSec', title: 'Bytes out / s (to consumers)', format: formatByteRate, axisMax: niceBytesMax },
];

interface Series {
  /** `broker-1`, `topic-orders`. */
  key: string;
  label: string;
  pick(sample: RatesSample): TrafficRates | undefined;
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** The smallest of 1, 2, 2.5, 5 × 10^n at or above `value` (1 for an idle chart): a round axis maximum. */
export function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value * (1 - 1e-9)) return step * power;
  return 10 * power;
}

/** The same in the unit the axis label will use (KiB, MiB, …), so a byte axis reads 200 KiB/s rather than 195.3 KiB/s. */
export function niceBytesMax(value: number): number {
  let unit = 1;
  while (value / unit >= 1024 && unit < 1024 ** 4) unit *= 1024;
  return niceMax(value / unit) * unit;
}

/** Each series once, brokers by id and topics by name, from every sample in view. */
function seriesOf(samples: RatesSample[], kind: 'brokers' | 'topics'): Series[] {
  if (kind === 'brokers') {
    const ids = [...new Set(samples.flatMap((s) => s.brokers.map((b) => b.id)))].sort((a, b) => a - b);
    return ids.map((id) => ({ key: `broker-${id}`, label: `broker ${id}`, pick: (s) => s.brokers.find((b) => b.id === id) }));
  }
  const names = [...new Set(samples.flatMap((s) => s.topics.map((t) => t.name)))].sort();
  return names.map((name) => ({ key: `topic-${name}`, label: name, pick: (s) => s.topics.find((t) => t.name === name) }));
}

/** What one chart shows: enough to tell whether its DOM can be updated in place. */
interface ChartModel {
  kind: 'brokers' | 'topics';
  metric: (typeof METRICS)[number];
  series: Series[];
  max: number;
  /** SVG path per series key ('' when the series has no point in view). */
  paths: Map<string, string>;
}

class ChartsView {
  private samples: RatesSample[] = [];
  private readonly colours = new Map<string, string>();
  /** The charts' series and axis maxima when the DOM was last built: while they hold, a sample only moves lines and numbers. */
  private structure = '';

  constructor(private readonly container: HTMLElement) {}

  /** Adds samples newer than the last one held (history and stream may overlap) and drops those out of view. */
  add(samples: RatesSample[]): void {
    for (const sample of samples) {
      const last = this.samples[this.samples.length - 1];
      if (last === undefined || sample.at > last.at) this.samples.push(sample);
    }
    const newest = this.samples[this.samples.length - 1];
    if (newest === undefined) return;
    const from = this.samples.findIndex((s) => s.at >= newest.at - WINDOW_MS);
    this.samples.splice(0, Math.max(from, this.samples.length - SAMPLES_MAX));
  }

  render(): void {
    const newest = this.samples[this.samples.length - 1];
    if (newest === undefined) {
      fill(this.container, h('p', { class: 'muted', 'data-testid': 'charts-waiting' }, 'Waiting for two scrapes of the brokers\' metrics…'));
      return;
    }
    const models = (['brokers', 'topics'] as const).map((kind) => {
      const series = seriesOf(this.samples, kind);
      return { kind, series, charts: series.length === 0 ? [] : METRICS.map((metric) => this.model(kind, series, metric)) };
    });
    const structure = JSON.stringify(models.map((m) => m.charts.map((c) => [c.max, [...c.paths].map(([key, d]) => [key, d !== ''])])));
    // Rebuilding six charts every second costs the browser a style and layout pass of the whole
    // page; when only the lines and the latest values moved, change just those.
    if (structure === this.structure && this.updateInPlace(models.flatMap((m) => m.charts))) return;
    this.structure = structure;
    const [brokers, topics] = models as [(typeof models)[0], (typeof models)[0]];
    fill(
      this.container,
      h('h2', {}, 'By broker'),
      brokers.charts.length === 0 ? h('p', { class: 'muted' }, 'No broker\'s metrics answered. Brokers started with --metrics-port -1 have none.') : h('div', { class: 'charts' }, brokers.charts.map((c) => this.chart(c))),
      h('h2', {}, 'By topic'),
      topics.charts.length === 0 ? h('p', { class: 'muted' }, 'No topic traffic counted yet.') : h('div', { class: 'charts' }, topics.charts.map((c) => this.chart(c))),
    );
  }

  /** Moves each line and legend value of the charts already drawn; false when one is missing (rebuild instead). */
  private updateInPlace(charts: ChartModel[]): boolean {
    const newest = this.samples[this.samples.length - 1]!;
    for (const c of charts) {
      const card = this.container.querySelector(`[data-testid="chart-${c.metric.metric}-${c.kind}"]`);
      if (card === null) return false;
      for (const s of c.series) {
        const d = c.paths.get(s.key) ?? '';
        if (d !== '') {
          const path = card.querySelector(`path[data-series="${s.key}"]`);
          if (path === null) return false;
          path.setAttribute('d', d);
        }
        const item = card.querySelector(`[data-testid="chart-${c.metric.metric}-${s.key}"]`);
        const value = item?.querySelector('span:last-child');
        if (item == null || value == null) return false;
        const latest = s.pick(newest)?.[c.metric.field];
        item.setAttribute('data-latest', latest === undefined ? '' : String(latest));
        value.className = latest === undefined ? 'muted' : 'num';
        value.textContent = latest === undefined ? '—' : c.metric.format(latest);
      }
    }
    return true;
  }

  private model(kind: 'brokers' | 'topics', series: Series[], metric: (typeof METRICS)[number]): ChartModel {
    const newest = this.samples[this.samples.length - 1]!;
    const start = newest.at - WINDOW_MS;
    const values = (s: Series) => this.samples.map((sample) => ({ at: sample.at, value: s.pick(sample)?.[metric.field] }));
    const max = metric.axisMax(Math.max(0, ...series.flatMap((s) => values(s).map((p) => p.value ?? 0))));
    const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
    const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
    const x = (at: number) => MARGIN.left + ((at - start) / WINDOW_MS) * plotWidth;
    const y = (value: number) => MARGIN.top + plotHeight - (value / max) * plotHeight;
    const paths = new Map<string, string>();
    for (const s of series) {
      let path = '';
      let previousAt: number | null = null;
      for (const point of values(s)) {
        if (point.value === undefined) {
          previousAt = null;
          continue;
        }
        const move = previousAt === null || point.at - previousAt > GAP_MS;
        path += `${move ? 'M' : 'L'}${x(point.at).toFixed(1)},${y(point.value).toFixed(1)}`;
        previousAt = point.at;
      }
      paths.set(s.key, path);
    }
    return { kind, metric, series, max, paths };
  }

  private colour(key: string): string {
    let colour = this.colours.get(key);
    if (colour === undefined) this.colours.set(key, (colour = PALETTE[this.colours.size % PALETTE.length]!));
    return colour;
  }

  private chart({ kind, series, metric, max, paths }: ChartModel): HTMLElement {
    const newest = this.samples[this.samples.length - 1]!;
    const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
    const y = (value: number) => MARGIN.top + plotHeight - (value / max) * plotHeight;

    const chart = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: 'chart', role: 'img', 'aria-label': `${metric.title} by ${kind === 'brokers' ? 'broker' : 'topic'}` });
    // Axes: the maximum and half of it as grid lines, zero, and the time span.
    for (const fraction of [1, 0.5, 0]) {
      chart.append(svg('line', { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(max * fraction), y2: y(max * fraction), class: fraction === 0 ? 'axis' : 'grid' }));
      chart.append(svg('text', { x: MARGIN.left - 6, y: y(max * fraction) + 4, 'text-anchor': 'end', class: 'tick' }, fraction === 0 ? '0' : metric.format(max * fraction).replace(/\.0+ /, ' ')));
    }
    chart.append(svg('text', { x: MARGIN.left, y: HEIGHT - 6, class: 'tick' }, '5 min ago'));
    chart.append(svg('text', { x: WIDTH - MARGIN.right, y: HEIGHT - 6, 'text-anchor': 'end', class: 'tick' }, 'now'));
    for (const s of series) {
      const path = paths.get(s.key) ?? '';
      if (path !== '') chart.append(svg('path', { d: path, stroke: this.colour(s.key), class: 'series', 'data-series': s.key }));
    }

    const legend = h(
      'ul',
      { class: 'chart-legend' },
      series.map((s) => {
        const latest = s.pick(newest)?.[metric.field];
        return h(
          'li',
          { 'data-testid': `chart-${metric.metric}-${s.key}`, 'data-latest': latest === undefined ? '' : String(latest) },
          h('span', { class: 'swatch', style: `background:${this.colour(s.key)}` }),
          `${s.label} `,
          h('span', { class: latest === undefined ? 'muted' : 'num' }, latest === undefined ? '—' : metric.format(latest)),
        );
      }),
    );
    return h('div', { class: 'card chart-card', 'data-testid': `chart-${metric.metric}-${kind}` }, h('h3', {}, metric.title), chart, legend);
  }
}

export const chartsPage: Page = {
  title: 'Charts',
  render(page) {
    const status = h('span', { class: 'live-status', 'data-testid': 'live-status' }, 'connecting…');
    const problem = h('div', {});
    const body = h('div', {});
    fill(page, h('div', { class: 'page-head' }, h('h1', {}, 'Traffic'), status), h('p', { class: 'muted' }, 'Every broker\'s /metrics, scraped each second by the console: the last 5 minutes.'), problem, body);
    const view = new ChartsView(body);
    view.render();
    let left = false;
    // The stream opens first and its samples wait for the history, so none falls between the two.
    let pending: RatesSample[] | null = [];
    const close = subscribe(
      '/api/rates/events',
      {
        sample: (sample: RatesSample) => {
          if (pending !== null) return void pending.push(sample);
          view.add([sample]);
          view.render();
        },
      },
      (state) => {
        status.textContent = state === 'live' ? '● live' : '○ reconnecting…';
        status.className = `live-status ${state === 'live' ? 'ok' : 'warn'}`;
      },
    );
    api<{ history: RatesSample[] }>('GET', '/api/rates').then(
      ({ history }) => {
        if (left) return;
        view.add([...history, ...(pending ?? [])]);
        pending = null;
        view.render();
      },
      (error: unknown) => {
        if (left) return;
        fill(problem, errorBox(`Could not load the traffic history: ${error instanceof Error ? error.message : String(error)}`));
        // Live samples still draw.
        view.add(pending ?? []);
        pending = null;
        view.render();
      },
    );
    return () => {
      left = true;
      close();
    };
  },
};
