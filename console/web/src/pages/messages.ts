/**
 * The message browser: one partition's records from an offset, a time, the earliest offset or
 * the last page before the end, with keys, headers and values shown as text, JSON or hex
 * (whatever codec the batches were written in: the server decodes them). Its state lives in
 * the hash query (`#/messages?topic=t&partition=0&offset=0`), kept current with
 * history.replaceState, so a page of records can be linked to and reloaded.
 */
import { api, ApiFailure, errorBox, fill, formatTime, h, type Page, type PageParams } from '../lib.js';
import { availableModes, defaultMode, localTimeToMs, msToLocalTime, renderAs, type RenderedBytes, type ViewMode } from './message-format.js';
import type { MessagePage, RecordView } from '../api-types.js';

interface TopicSummary {
  name: string;
  partitions: number;
}

type StartKind = 'offset' | 'time' | 'earliest' | 'latest';

interface BrowserState {
  topic: string;
  partition: number;
  start: StartKind;
  offset: string;
  /** A datetime-local value. */
  time: string;
  limit: string;
}

const DEFAULT_LIMIT = '50';

function stateFromQuery(query: URLSearchParams): BrowserState {
  const timestamp = query.get('timestamp');
  const from = query.get('from');
  const start: StartKind = query.get('offset') !== null ? 'offset' : timestamp !== null ? 'time' : from === 'latest' ? 'latest' : 'earliest';
  const timestampMs = timestamp === null ? NaN : Number(timestamp);
  return {
    topic: query.get('topic') ?? '',
    partition: Number(query.get('partition') ?? '0') || 0,
    start,
    offset: query.get('offset') ?? '0',
    time: Number.isFinite(timestampMs) ? msToLocalTime(timestampMs) : '',
    limit: query.get('limit') ?? DEFAULT_LIMIT,
  };
}

/** The API query (and the hash query) for `state`; throws on a time that is not one. */
function queryOf(state: BrowserState): URLSearchParams {
  const query = new URLSearchParams({ topic: state.topic, partition: String(state.partition) });
  if (state.start === 'offset') query.set('offset', state.offset.trim());
  else if (state.start === 'time') {
    const ms = localTimeToMs(state.time);
    if (ms === null) throw new Error('pick a time to start at');
    query.set('timestamp', String(ms));
  } else query.set('from', state.start);
  if (state.limit.trim() !== '' && state.limit.trim() !== DEFAULT_LIMIT) query.set('limit', state.limit.trim());
  return query;
}

/** A value or key cell: the bytes in one mode, with buttons to switch between the modes they can be shown in. */
function bytesCell(rendered: RenderedBytes | null, testid: string, switchable: boolean): HTMLElement {
  if (rendered === null) return h('td', { 'data-testid': testid }, h('span', { class: 'muted' }, 'null'));
  let mode: ViewMode = defaultMode(rendered);
  // Values get a box (they may be long, or pretty JSON); keys stay inline.
  const body = switchable ? h('pre', { class: 'record-bytes', 'data-testid': `${testid}-body` }) : h('code', { class: 'record-key', 'data-testid': `${testid}-body` });
  const buttons = availableModes(rendered).map((m) =>
    h('button', { type: 'button', class: 'mode', 'data-mode': m, onclick: () => show(m) }, m),
  );
  const show = (next: ViewMode): void => {
    mode = next;
    body.textContent = renderAs(rendered, mode);
    body.dataset.mode = mode;
    for (const button of buttons) button.classList.toggle('active', button.dataset.mode === mode);
  };
  show(mode);
  return h('td', { 'data-testid': testid }, switchable && buttons.length > 1 ? h('div', { class: 'modes' }, buttons) : null, body);
}

function headersCell(record: RecordView): HTMLElement {
  if (record.headers.length === 0) return h('td', { 'data-testid': `record-headers-${record.offset}` }, h('span', { class: 'muted' }, '—'));
  return h(
    'td',
    { 'data-testid': `record-headers-${record.offset}` },
    h(
      'ul',
      { class: 'headers' },
      record.headers.map((header) =>
        h('li', {}, h('code', {}, header.key), ' = ', header.value === null ? h('span', { class: 'muted' }, 'null') : h('code', {}, renderAs(header.value, header.value.text !== null ? 'text' : 'hex'))),
      ),
    ),
  );
}

function recordsTable(page: MessagePage): HTMLElement {
  return h(
    'table',
    { class: 'grid messages', 'data-testid': 'messages-table' },
    h('thead', {}, h('tr', {}, h('th', { class: 'num' }, 'Offset'), h('th', {}, 'Time'), h('th', {}, 'Codec'), h('th', {}, 'Key'), h('th', {}, 'Headers'), h('th', {}, 'Value'))),
    h(
      'tbody',
      {},
      page.records.map((record) =>
        h(
          'tr',
          { 'data-testid': `record-${record.offset}` },
          h('td', { class: 'num' }, record.offset),
          h('td', { class: 'mono' }, record.timestamp >= 0 ? formatTime(record.timestamp) : '—'),
          h('td', { 'data-testid': `record-codec-${record.offset}` }, record.codec),
          bytesCell(record.key, `record-key-${record.offset}`, false),
          headersCell(record),
          bytesCell(record.value, `record-value-${record.offset}`, true),
        ),
      ),
    ),
  );
}

function render(root: HTMLElement, params: PageParams): () => void {
  const state = stateFromQuery(params.query);
  let left = false;
  let topics: TopicSummary[] = [];

  const topicSelect = h('select', { name: 'topic', 'data-testid': 'messages-topic' });
  const partitionSelect = h('select', { name: 'partition', 'data-testid': 'messages-partition' });
  const startSelect = h(
    'select',
    { name: 'start', 'data-testid': 'messages-start' },
    h('option', { value: 'earliest' }, 'earliest'),
    h('option', { value: 'latest' }, 'latest page'),
    h('option', { value: 'offset' }, 'offset'),
    h('option', { value: 'time' }, 'time'),
  );
  const offsetInput = h('input', { name: 'offset', type: 'text', inputmode: 'numeric', size: 10, 'data-testid': 'messages-offset' });
  const timeInput = h('input', { name: 'time', type: 'datetime-local', step: 1, 'data-testid': 'messages-time' });
  const limitInput = h('input', { name: 'limit', type: 'number', min: 1, max: 500, style: 'width: 6em', 'data-testid': 'messages-limit' });
  const offsetLabel = h('label', {}, 'Offset', offsetInput);
  const timeLabel = h('label', {}, 'Time (local)', timeInput);
  const status = h('div', { class: 'muted', 'data-testid': 'messages-status' });
  const errors = h('div', {});
  const results = h('div', { 'data-testid': 'messages-results' });
  const nextButton = h('button', { type: 'button', 'data-testid': 'messages-next', disabled: true }, 'Next page →');

  const fillPartitions = (): void => {
    const count = topics.find((t) => t.name === topicSelect.value)?.partitions ?? state.partition + 1;
    fill(partitionSelect, Array.from({ length: count }, (_unused, i) => h('option', { value: i }, String(i))));
    partitionSelect.value = String(Math.min(state.partition, count - 1));
  };
  const showStartInputs = (): void => {
    offsetLabel.hidden = startSelect.value !== 'offset';
    timeLabel.hidden = startSelect.value !== 'time';
  };
  const readForm = (): void => {
    state.topic = topicSelect.value;
    state.partition = Number(partitionSelect.value) || 0;
    state.start = startSelect.value as StartKind;
    state.offset = offsetInput.value;
    state.time = timeInput.value;
    state.limit = limitInput.value;
  };

  let nextOffset: number | null = null;
  const load = async (): Promise<void> => {
    fill(errors);
    if (state.topic === '') {
      fill(status, 'Pick a topic.');
      return;
    }
    let query: URLSearchParams;
    try {
      query = queryOf(state);
    } catch (error) {
      fill(errors, errorBox(error instanceof Error ? error.message : String(error)));
      return;
    }
    history.replaceState(null, '', `#/messages?${query.toString()}`);
    fill(status, 'Loading…');
    nextButton.disabled = true;
    try {
      const page = await api<MessagePage>('GET', `/api/messages?${query.toString()}`);
      if (left) return;
      nextOffset = page.nextOffset;
      nextButton.disabled = false;
      const range = page.latest > page.earliest ? `offsets ${page.earliest}–${page.latest - 1}` : 'empty';
      fill(status, `${page.topic}-${page.partition} (leader broker ${page.leader}, ${range}): ${page.records.length} record${page.records.length === 1 ? '' : 's'} from offset ${page.startOffset}; next page from ${page.nextOffset}.`);
      fill(results, page.records.length === 0 ? h('p', { class: 'muted', 'data-testid': 'messages-empty' }, 'No records here yet.') : recordsTable(page));
    } catch (error) {
      if (left) return;
      fill(status);
      fill(results);
      fill(errors, errorBox(error instanceof ApiFailure || error instanceof Error ? error.message : String(error)));
    }
  };

  topicSelect.addEventListener('change', () => {
    state.partition = 0;
    fillPartitions();
  });
  startSelect.addEventListener('change', showStartInputs);
  nextButton.addEventListener('click', () => {
    if (nextOffset === null) return;
    state.start = 'offset';
    state.offset = String(nextOffset);
    startSelect.value = 'offset';
    offsetInput.value = state.offset;
    showStartInputs();
    void load();
  });
  const form = h(
    'form',
    { class: 'inline', 'data-testid': 'messages-form' },
    h('label', {}, 'Topic', topicSelect),
    h('label', {}, 'Partition', partitionSelect),
    h('label', {}, 'Start at', startSelect),
    offsetLabel,
    timeLabel,
    h('label', {}, 'Records', limitInput),
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'messages-show' }, 'Show'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    readForm();
    void load();
  });

  startSelect.value = state.start;
  offsetInput.value = state.offset;
  timeInput.value = state.time;
  limitInput.value = state.limit;
  showStartInputs();
  fill(root, h('div', { class: 'page-head' }, h('h1', {}, 'Messages')), form, status, errors, results, h('div', { class: 'toolbar' }, nextButton));

  void (async () => {
    try {
      topics = (await api<{ topics: TopicSummary[] }>('GET', '/api/topics')).topics;
    } catch (error) {
      if (!left) fill(errors, errorBox(`topics: ${error instanceof Error ? error.message : String(error)}`));
    }
    if (left) return;
    const names = topics.map((t) => t.name);
    if (state.topic !== '' && !names.includes(state.topic)) names.unshift(state.topic);
    fill(topicSelect, h('option', { value: '' }, '— topic —'), names.map((name) => h('option', { value: name }, name)));
    topicSelect.value = state.topic;
    fillPartitions();
    if (state.topic !== '') await load();
    else fill(status, 'Pick a topic.');
  })();

  return () => {
    left = true;
  };
}

export const messagesPage: Page = { title: 'messages', render };
