/**
 * The cluster overview: brokers live and dead, the controller, and every partition's leader and
 * ISR as a matrix (rows: partitions, columns: brokers), with offline and under-replicated
 * partitions highlighted. Follows /api/overview/events: the server pushes a new picture on each
 * change its coordinator watches report, so a crash shows without a reload.
 */
import { api, errorBox, fill, formatNumber, h, link, subscribe, type Page } from '../lib.js';
import type { ClientSoftwareRow, Overview, OverviewBroker, OverviewPartition } from '../api-types.js';

/** Internal topics (50 partitions of __consumer_offsets) would drown the matrix: folded unless asked for. */
let showInternal = false;

function stat(label: string, value: string | number, testid: string, tone = ''): HTMLElement {
  return h('div', { class: `card stat ${tone}`, 'data-testid': testid }, h('div', { class: 'stat-value' }, value), h('div', { class: 'stat-label' }, label));
}

function brokersTable(overview: Overview): HTMLElement {
  return h(
    'table',
    { class: 'grid', 'data-testid': 'brokers' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Broker'), h('th', {}, 'State'), h('th', {}, 'Address'), h('th', { class: 'num' }, 'Leads'), h('th', { class: 'num' }, 'Replicas'), h('th', {}, 'Metrics'))),
    h(
      'tbody',
      {},
      overview.brokers.map((b) =>
        h(
          'tr',
          { 'data-testid': `broker-row-${b.id}`, 'data-live': String(b.live), class: b.live ? '' : 'row-bad' },
          h('td', {}, String(b.id), b.controller ? h('span', { class: 'badge', title: 'the active controller' }, 'controller') : null),
          h('td', { class: b.live ? 'ok' : 'bad' }, b.live ? 'live' : 'dead'),
          h('td', { class: 'muted' }, b.host === null ? '?' : `${b.host}:${b.port}`),
          h('td', { class: 'num' }, b.leaderCount),
          h('td', { class: 'num' }, b.replicaCount),
          h('td', {}, b.metricsUrl !== null && b.live ? h('a', { href: b.metricsUrl, target: '_blank', rel: 'noopener' }, 'metrics') : h('span', { class: 'muted' }, '—')),
        ),
      ),
    ),
  );
}

/** One cell of the matrix: L leader, I in-sync follower, ✗ out-of-sync replica, empty: not a replica. */
function replicaCell(p: OverviewPartition, broker: OverviewBroker): HTMLElement {
  if (!p.replicas.includes(broker.id)) return h('td', { class: 'cell' });
  if (p.leader === broker.id && !p.offline) return h('td', { class: 'cell leader', title: `leader (epoch ${p.leaderEpoch})` }, 'L');
  if (p.isr.includes(broker.id)) return h('td', { class: `cell ${broker.live ? 'insync' : 'bad'}`, title: broker.live ? 'in-sync follower' : 'in the ISR, but its broker is dead' }, broker.live ? 'I' : '✗');
  return h('td', { class: 'cell warn', title: 'replica out of sync' }, '✗');
}

function partitionsTable(overview: Overview): HTMLElement {
  const topics = overview.topics.filter((t) => showInternal || !t.internal);
  const hidden = overview.topics.length - topics.length;
  return h(
    'div',
    {},
    h(
      'div',
      { class: 'toolbar' },
      h('span', { class: 'legend' }, h('span', { class: 'cell leader' }, 'L'), ' leader ', h('span', { class: 'cell insync' }, 'I'), ' in sync ', h('span', { class: 'cell warn' }, '✗'), ' out of sync'),
      hidden > 0 || showInternal
        ? h('label', {}, h('input', { type: 'checkbox', checked: showInternal, onchange: (event: Event) => { showInternal = (event.target as HTMLInputElement).checked; render(overview); } }), ' internal topics')
        : null,
    ),
    topics.length === 0
      ? h('p', { class: 'muted' }, 'No topics yet. ', link('#/topics', 'Create one'), '.')
      : h(
          'table',
          { class: 'grid matrix', 'data-testid': 'partitions' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Topic'), h('th', { class: 'num' }, 'Partition'), h('th', { class: 'num' }, 'Leader'), h('th', { class: 'num' }, 'Epoch'), h('th', {}, 'ISR'), overview.brokers.map((b) => h('th', { class: `cell ${b.live ? '' : 'bad'}` }, String(b.id))), h('th', {}, 'State'))),
          h(
            'tbody',
            {},
            topics.flatMap((t) =>
              t.partitions.map((p) => {
                const state = p.offline ? 'offline' : p.underReplicated ? 'under-replicated' : 'ok';
                return h(
                  'tr',
                  { 'data-testid': `partition-row-${t.name}-${p.partition}`, 'data-leader': String(p.leader), 'data-state': state, class: p.offline ? 'row-bad' : p.underReplicated ? 'row-warn' : '' },
                  h('td', {}, link(`#/topics/${encodeURIComponent(t.name)}`, t.name), t.markedForDeletion ? h('span', { class: 'badge warn' }, 'deleting') : null),
                  h('td', { class: 'num' }, p.partition),
                  h('td', { class: `num ${p.offline ? 'bad' : ''}` }, p.leader < 0 ? 'none' : String(p.leader)),
                  h('td', { class: 'num' }, p.leaderEpoch),
                  h('td', {}, p.isr.join(', ')),
                  overview.brokers.map((b) => replicaCell(p, b)),
                  h('td', { class: state === 'ok' ? 'ok' : state === 'offline' ? 'bad' : 'warn' }, state),
                );
              }),
            ),
          ),
        ),
  );
}

/** How often the connected-clients table is read again (it comes from the brokers' metrics, scraped each second). */
const CLIENTS_REFRESH_MS = 2000;

let root: HTMLElement | null = null;
let status: HTMLElement | null = null;
/** Kept across overview pushes: it has its own refresh. */
let clients: HTMLElement | null = null;

function clientsTable(rows: ClientSoftwareRow[]): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'muted' }, 'No client has named its software (ApiVersions v3+: librdkafka/kcat, @platformatic/kafka, Java clients; kafkajs does not).');
  return h(
    'table',
    { class: 'grid', 'data-testid': 'clients' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Broker'), h('th', {}, 'Client software'), h('th', {}, 'Version'), h('th', { class: 'num' }, 'Connections'))),
    h('tbody', {}, rows.map((r) => h('tr', { 'data-testid': `client-row-${r.broker}-${r.name}` }, h('td', {}, r.broker), h('td', {}, r.name), h('td', {}, r.version), h('td', { class: 'num' }, r.connections)))),
  );
}

async function refreshClients(): Promise<void> {
  if (clients === null) return;
  try {
    const { clients: rows } = await api<{ clients: ClientSoftwareRow[] }>('GET', '/api/clients');
    if (clients !== null) fill(clients, clientsTable(rows));
  } catch (error) {
    if (clients !== null) fill(clients, errorBox(`Clients: ${error instanceof Error ? error.message : String(error)}`));
  }
}

function render(overview: Overview): void {
  if (root === null) return;
  const { counts } = overview;
  fill(
    root,
    h('div', { class: 'page-head' }, h('h1', {}, 'Cluster'), status),
    !overview.loaded
      ? h('p', { class: 'muted' }, 'Reading the cluster from the coordinator…')
      : h(
          'div',
          {},
          h(
            'div',
            { class: 'stats' },
            stat('brokers live', counts.brokersLive, 'count-live', counts.brokersDead > 0 ? 'warn' : 'ok'),
            stat('brokers dead', counts.brokersDead, 'count-dead', counts.brokersDead > 0 ? 'bad' : ''),
            stat('controller', overview.controller < 0 ? 'none' : `broker ${overview.controller}`, 'controller', overview.controller < 0 ? 'bad' : ''),
            stat('partitions', formatNumber(counts.partitions), 'count-partitions'),
            stat('under-replicated', counts.underReplicated, 'count-under-replicated', counts.underReplicated > 0 ? 'warn' : 'ok'),
            stat('offline', counts.offline, 'count-offline', counts.offline > 0 ? 'bad' : 'ok'),
          ),
          h('p', { class: 'muted' }, `Cluster id ${overview.clusterId || '?'}`),
          h('h2', {}, 'Brokers'),
          brokersTable(overview),
          h('h2', {}, 'Partitions'),
          partitionsTable(overview),
          h('h2', {}, 'Connected clients'),
          clients,
        ),
  );
}

export const overviewPage: Page = {
  title: 'Overview',
  render(page) {
    root = page;
    status = h('span', { class: 'live-status', 'data-testid': 'live-status' }, 'connecting…');
    clients = h('div', {}, h('p', { class: 'muted' }, 'Reading…'));
    void refreshClients();
    const clientsTimer = setInterval(() => void refreshClients(), CLIENTS_REFRESH_MS);
    fill(page, h('p', { class: 'muted' }, 'Connecting…'));
    const close = subscribe('/api/overview/events', { overview: (data: Overview) => render(data) }, (state) => {
      if (status === null) return;
      status.textContent = state === 'live' ? '● live' : '○ reconnecting…';
      status.className = `live-status ${state === 'live' ? 'ok' : 'warn'}`;
    });
    return () => {
      close();
      clearInterval(clientsTimer);
      root = null;
      status = null;
      clients = null;
    };
  },
};
