/**
 * The topics pages. The list: every topic with its partitions, replication, health, records
 * and size, and a form creating one. One topic: its partitions (leader, epoch, replicas, ISR,
 * offsets, size; offline and under-replicated ones highlighted) with links into the message
 * browser, its configs (overrides set and removed through AlterConfigs), and deletion. Every
 * change asks window.confirm first. Both refresh every few seconds while open (offsets and
 * sizes move with traffic; the server reads them on demand rather than pushing them).
 */
import { api, errorBox, fill, formatBytes, formatNumber, h, link, type Page, type PageParams } from '../lib.js';
import { parseConfigLines, partitionState } from './topic-format.js';
import type { ConfigEntry, PartitionDetail, TopicDetail, TopicSummary } from '../api-types.js';

/** How often an open topics page reads offsets, sizes and health again. */
const REFRESH_MS = 5000;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const unknown = (): HTMLElement => h('span', { class: 'muted', title: 'not known right now (leader down, or no metrics scrape yet)' }, '—');

function sizeCell(bytes: number | null): HTMLElement {
  return h('td', { class: 'num', title: bytes === null ? null : `${bytes} bytes` }, bytes === null ? unknown() : formatBytes(bytes));
}

function countCell(value: number | null): HTMLElement {
  return h('td', { class: 'num' }, value === null ? unknown() : formatNumber(value));
}

/** Repeats `load` every REFRESH_MS while the page is open; returns the function that stops it. */
function refreshing(load: () => Promise<void>): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = async (): Promise<void> => {
    await load();
    if (!stopped) timer = setTimeout(() => void tick(), REFRESH_MS);
  };
  void tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

// ---------------------------------------------------------------------------
// The list

function topicsTable(topics: TopicSummary[]): HTMLElement {
  return h(
    'table',
    { class: 'grid', 'data-testid': 'topics-table' },
    h(
      'thead',
      {},
      h('tr', {}, h('th', {}, 'Topic'), h('th', { class: 'num' }, 'Partitions'), h('th', { class: 'num' }, 'Replication'), h('th', { class: 'num' }, 'Under-replicated'), h('th', { class: 'num' }, 'Offline'), h('th', { class: 'num' }, 'Records'), h('th', { class: 'num' }, 'Size')),
    ),
    h(
      'tbody',
      {},
      topics.map((t) =>
        h(
          'tr',
          { 'data-testid': `topic-row-${t.name}`, class: t.offlinePartitions > 0 ? 'row-bad' : t.underReplicatedPartitions > 0 ? 'row-warn' : '' },
          h('td', {}, link(`#/topics/${encodeURIComponent(t.name)}`, t.name), t.internal ? h('span', { class: 'badge' }, 'internal') : null, t.markedForDeletion ? h('span', { class: 'badge warn' }, 'deleting') : null),
          h('td', { class: 'num' }, t.partitions),
          h('td', { class: 'num' }, t.replicationFactor),
          h('td', { class: `num ${t.underReplicatedPartitions > 0 ? 'warn' : ''}` }, t.underReplicatedPartitions),
          h('td', { class: `num ${t.offlinePartitions > 0 ? 'bad' : ''}` }, t.offlinePartitions),
          countCell(t.records),
          sizeCell(t.sizeBytes),
        ),
      ),
    ),
  );
}

function createForm(onCreated: (name: string) => void): HTMLElement {
  const name = h('input', { name: 'name', required: true, placeholder: 'orders', 'data-testid': 'create-topic-name' });
  const partitions = h('input', { name: 'partitions', type: 'number', min: 1, placeholder: 'default', style: 'width: 7em', 'data-testid': 'create-topic-partitions' });
  const replication = h('input', { name: 'replicationFactor', type: 'number', min: 1, placeholder: 'default', style: 'width: 7em', 'data-testid': 'create-topic-rf' });
  const configs = h('textarea', { name: 'configs', rows: 2, cols: 32, placeholder: 'retention.ms=86400000\ncleanup.policy=compact', 'data-testid': 'create-topic-configs' });
  const outcome = h('div', { 'data-testid': 'create-topic-outcome' });
  const form = h(
    'form',
    { class: 'inline', 'data-testid': 'create-topic-form' },
    h('label', {}, 'Name', name),
    h('label', {}, 'Partitions', partitions),
    h('label', {}, 'Replication factor', replication),
    h('label', {}, 'Configs (name=value a line)', configs),
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'create-topic-submit' }, 'Create topic'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void (async () => {
      fill(outcome);
      let parsedConfigs: Record<string, string>;
      try {
        parsedConfigs = parseConfigLines(configs.value);
      } catch (error) {
        fill(outcome, errorBox(message(error)));
        return;
      }
      const topic = name.value.trim();
      const extra = Object.entries(parsedConfigs).map(([k, v]) => `${k}=${v}`);
      const question = `Create topic '${topic}' with ${partitions.value || 'the default number of'} partitions, replication factor ${replication.value || '(default)'}${extra.length > 0 ? ` and ${extra.join(', ')}` : ''}?`;
      if (!window.confirm(question)) return;
      try {
        await api('POST', '/api/topics', { name: topic, partitions: partitions.value === '' ? undefined : Number(partitions.value), replicationFactor: replication.value === '' ? undefined : Number(replication.value), configs: parsedConfigs });
        fill(outcome, h('div', { class: 'ok', role: 'status' }, 'Created ', link(`#/topics/${encodeURIComponent(topic)}`, topic), '.'));
        form.reset();
        onCreated(topic);
      } catch (error) {
        fill(outcome, errorBox(message(error)));
      }
    })();
  });
  return h('div', { class: 'card create-topic' }, h('h2', {}, 'Create a topic'), form, outcome);
}

function renderList(root: HTMLElement): () => void {
  const list = h('div', { 'data-testid': 'topics-list' }, h('p', { class: 'muted' }, 'Loading…'));
  const errors = h('div', {});
  const load = async (): Promise<void> => {
    try {
      const { topics } = await api<{ topics: TopicSummary[] }>('GET', '/api/topics');
      fill(errors);
      fill(list, topics.length === 0 ? h('p', { class: 'muted' }, 'No topics yet.') : topicsTable(topics));
    } catch (error) {
      fill(errors, errorBox(message(error)));
    }
  };
  fill(root, h('div', { class: 'page-head' }, h('h1', {}, 'Topics')), errors, list, createForm(() => void load()));
  return refreshing(load);
}

// ---------------------------------------------------------------------------
// One topic

function partitionsTable(topic: TopicDetail): HTMLElement {
  return h(
    'table',
    { class: 'grid', 'data-testid': 'partitions-table' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { class: 'num' }, 'Partition'),
        h('th', {}, 'Leader'),
        h('th', { class: 'num' }, 'Epoch'),
        h('th', {}, 'Replicas'),
        h('th', {}, 'ISR'),
        h('th', {}, 'State'),
        h('th', { class: 'num' }, 'Earliest'),
        h('th', { class: 'num' }, 'Latest'),
        h('th', { class: 'num' }, 'Records'),
        h('th', { class: 'num' }, 'Size'),
        h('th', {}, ''),
      ),
    ),
    h(
      'tbody',
      {},
      topic.partitions.map((p) => {
        const state = partitionState(p);
        return h(
          'tr',
          { 'data-testid': `partition-row-${p.partition}`, 'data-state': state.tone, class: state.tone === 'bad' ? 'row-bad' : state.tone === 'warn' ? 'row-warn' : '' },
          h('td', { class: 'num' }, p.partition),
          h('td', { class: p.offline ? 'bad' : '' }, p.leader < 0 ? 'none' : String(p.leader)),
          h('td', { class: 'num' }, p.leaderEpoch),
          h('td', {}, p.replicas.join(', ')),
          h('td', { class: p.underReplicated ? 'warn' : '' }, p.isr.join(', ')),
          h('td', { class: state.tone }, state.label),
          countCell(p.earliest),
          countCell(p.latest),
          countCell(p.earliest === null || p.latest === null ? null : p.latest - p.earliest),
          sizeCell(p.sizeBytes),
          h('td', {}, link(`#/messages?${new URLSearchParams({ topic: topic.name, partition: String(p.partition), from: 'earliest' }).toString()}`, 'browse')),
        );
      }),
    ),
  );
}

function configsSection(topic: TopicDetail, reload: () => Promise<void>): HTMLElement {
  const outcome = h('div', { 'data-testid': 'config-outcome' });
  const alter = async (changes: Record<string, string | null>, question: string): Promise<void> => {
    if (!window.confirm(question)) return;
    fill(outcome);
    try {
      await api('PUT', `/api/topics/${encodeURIComponent(topic.name)}/configs`, { configs: changes });
      fill(outcome, h('div', { class: 'ok', role: 'status' }, 'Saved.'));
      await reload();
    } catch (error) {
      fill(outcome, errorBox(message(error)));
    }
  };
  const nameInput = h('input', { name: 'name', list: 'config-names', required: true, placeholder: 'retention.ms', 'data-testid': 'config-name' });
  const valueInput = h('input', { name: 'value', required: true, placeholder: 'value', 'data-testid': 'config-value' });
  const form = h(
    'form',
    { class: 'inline', 'data-testid': 'config-form' },
    h('label', {}, 'Config', nameInput),
    h('label', {}, 'Value', valueInput),
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'config-submit' }, 'Set'),
    h('datalist', { id: 'config-names' }, (topic.configs ?? []).map((c) => h('option', { value: c.name }))),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = nameInput.value.trim();
    const value = valueInput.value.trim();
    void alter({ [name]: value }, `Set ${name}=${value} on topic '${topic.name}'?`);
  });
  const table =
    topic.configs === null
      ? errorBox(`configs: ${topic.configsError ?? 'unknown'}`)
      : h(
          'table',
          { class: 'grid', 'data-testid': 'configs-table' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Config'), h('th', {}, 'Value'), h('th', {}, 'Source'), h('th', {}, ''))),
          h(
            'tbody',
            {},
            topic.configs.map((c) =>
              h(
                'tr',
                { 'data-testid': `config-row-${c.name}`, 'data-default': String(c.isDefault) },
                h('td', {}, h('code', {}, c.name)),
                h('td', { class: 'mono', 'data-testid': `config-value-${c.name}` }, c.sensitive ? '(sensitive)' : c.value ?? 'null'),
                h('td', {}, c.isDefault ? h('span', { class: 'muted' }, 'default') : h('span', { class: 'badge' }, 'override')),
                h(
                  'td',
                  {},
                  h('button', { type: 'button', onclick: () => { nameInput.value = c.name; valueInput.value = c.value ?? ''; valueInput.focus(); } }, 'Edit'),
                  c.isDefault ? null : h('button', { type: 'button', class: 'danger', 'data-testid': `config-remove-${c.name}`, onclick: () => void alter({ [c.name]: null }, `Remove the override ${c.name}=${c.value} from topic '${topic.name}' (back to the default)?`) }, 'Remove override'),
                ),
              ),
            ),
          ),
        );
  return h('section', {}, h('h2', {}, 'Configs'), form, outcome, table);
}

function renderTopic(root: HTMLElement, params: PageParams): () => void {
  const name = params.path.name ?? '';
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const errors = h('div', {});
  const deleteButton = h('button', { type: 'button', class: 'danger', 'data-testid': 'delete-topic' }, 'Delete topic');
  let stop = (): void => undefined;
  let editing = false;
  const load = async (force = false): Promise<void> => {
    // A timed refresh must not wipe what the user is typing into the configs form.
    if (editing && !force) return;
    try {
      const topic = await api<TopicDetail>('GET', `/api/topics/${encodeURIComponent(name)}`);
      fill(errors);
      fill(
        body,
        h(
          'div',
          { class: 'stats' },
          h('div', { class: 'card stat' }, h('div', { class: 'stat-value' }, topic.partitions.length), h('div', { class: 'stat-label' }, 'partitions')),
          h('div', { class: 'card stat' }, h('div', { class: 'stat-value' }, topic.replicationFactor), h('div', { class: 'stat-label' }, 'replication')),
          h('div', { class: `card stat ${topic.underReplicatedPartitions > 0 ? 'warn' : ''}` }, h('div', { class: 'stat-value' }, topic.underReplicatedPartitions), h('div', { class: 'stat-label' }, 'under-replicated')),
          h('div', { class: `card stat ${topic.offlinePartitions > 0 ? 'bad' : ''}` }, h('div', { class: 'stat-value' }, topic.offlinePartitions), h('div', { class: 'stat-label' }, 'offline')),
          h('div', { class: 'card stat' }, h('div', { class: 'stat-value' }, topic.records === null ? '—' : formatNumber(topic.records)), h('div', { class: 'stat-label' }, 'records')),
          h('div', { class: 'card stat' }, h('div', { class: 'stat-value' }, topic.sizeBytes === null ? '—' : formatBytes(topic.sizeBytes)), h('div', { class: 'stat-label' }, 'size')),
        ),
        topic.markedForDeletion ? h('p', { class: 'warn' }, 'Being deleted.') : null,
        h('h2', {}, 'Partitions'),
        partitionsTable(topic),
        configsSection(topic, () => load(true)),
      );
      editing = false;
      const form = body.querySelector('form');
      form?.addEventListener('focusin', () => (editing = true));
      form?.addEventListener('focusout', () => (editing = false));
    } catch (error) {
      fill(errors, errorBox(message(error)));
    }
  };
  deleteButton.addEventListener('click', () => {
    if (!window.confirm(`Delete topic '${name}' and all its records on every broker? This cannot be undone.`)) return;
    void (async () => {
      try {
        await api('DELETE', `/api/topics/${encodeURIComponent(name)}`);
        stop();
        location.hash = '#/topics';
      } catch (error) {
        fill(errors, errorBox(message(error)));
      }
    })();
  });
  fill(root, h('div', { class: 'page-head' }, h('h1', { 'data-testid': 'topic-name' }, name), link('#/topics', '← all topics'), deleteButton), errors, body);
  stop = refreshing(() => load());
  return () => stop();
}

export const topicsPage: Page = { title: 'topics', render: (root) => renderList(root) };
export const topicPage: Page = { title: 'topic', render: renderTopic };
