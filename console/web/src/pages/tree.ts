/**
 * The znode tree browser: one znode per page (`#/tree/brokers/ids`): breadcrumbs, its children
 * as links, its data (JSON pretty-printed), its Stat with the ephemeral owner highlighted. Live:
 * /api/tree/events sends the znode again whenever its data or children change, and says when it
 * is deleted (the page then waits for it to come back).
 */
import { errorBox, fill, formatNumber, formatTime, h, type Page } from '../lib.js';
import { breadcrumbs, childOf, dataText, treeHref, znodePathOf } from '../znode-paths.js';
import type { DeletedBody, ZnodeBody, ZnodeStat as Stat } from '../api-types.js';

type NodeEvent = ZnodeBody | DeletedBody;

function crumbs(path: string): HTMLElement {
  const parts = breadcrumbs(path);
  // A div, not a nav: the stylesheet's `nav` is the top bar.
  return h(
    'div',
    { class: 'crumbs', role: 'navigation', 'data-testid': 'znode-breadcrumbs', 'aria-label': 'znode path' },
    parts.flatMap((c, i) => [i > 0 ? h('span', { class: 'muted' }, ' › ') : null, i === parts.length - 1 ? h('strong', {}, c.name) : h('a', { href: c.href }, c.name)]),
  );
}

function statTable(stat: Stat, ephemeral: boolean): HTMLElement {
  const row = (name: string, value: string | number) => h('tr', { 'data-testid': `stat-${name}` }, h('th', {}, name), h('td', { class: typeof value === 'number' ? 'num' : '' }, value));
  return h(
    'table',
    { class: 'grid stat-table', 'data-testid': 'znode-stat' },
    h(
      'tbody',
      {},
      row('czxid', stat.czxid),
      row('mzxid', stat.mzxid),
      row('pzxid', stat.pzxid),
      row('ctime', formatTime(stat.ctime)),
      row('mtime', formatTime(stat.mtime)),
      row('version', stat.version),
      row('cversion', stat.cversion),
      row('aversion', stat.aversion),
      row('numChildren', stat.numChildren),
      row('dataLength', stat.dataLength),
      h(
        'tr',
        { 'data-testid': 'znode-ephemeral-owner', class: ephemeral ? 'row-warn' : '' },
        h('th', {}, 'ephemeralOwner'),
        h('td', {}, ephemeral ? [h('span', { class: 'mono' }, stat.ephemeralOwner), h('span', { class: 'badge warn' }, 'ephemeral: goes with its session')] : h('span', { class: 'muted' }, '0 (persistent)')),
      ),
    ),
  );
}

/** Hex in rows of 32 bytes (64 digits), bytes two digits apart, so binary data reads like a hex dump. */
function hexLines(hex: string): string {
  const rows: string[] = [];
  for (let at = 0; at < hex.length; at += 64) rows.push(hex.slice(at, at + 64).replace(/(..)(?!$)/g, '$1 '));
  return rows.join('\n');
}

function nodeView(body: ZnodeBody): HTMLElement {
  const { text, isJson } = dataText(body);
  return h(
    'div',
    { class: 'znode' },
    h(
      'section',
      {},
      h('h2', {}, `Children (${body.children.length})`),
      body.children.length === 0
        ? h('p', { class: 'muted', 'data-testid': 'znode-children' }, 'No children.')
        : h(
            'ul',
            { class: 'znode-children', 'data-testid': 'znode-children' },
            body.children.map((name) => h('li', {}, h('a', { href: treeHref(childOf(body.path, name)), 'data-testid': `znode-child-${name}` }, name))),
          ),
    ),
    h(
      'section',
      {},
      h('h2', {}, 'Data', isJson ? h('span', { class: 'badge' }, 'JSON') : null, body.format === 'hex' ? h('span', { class: 'badge', 'data-testid': 'znode-data-hex' }, `binary: ${body.stat.dataLength} bytes as hex`) : null),
      text === '' ? h('p', { class: 'muted', 'data-testid': 'znode-data' }, '(empty)') : h('pre', { 'data-testid': 'znode-data', 'data-json': String(isJson), 'data-format': body.format ?? 'text' }, body.format === 'hex' ? hexLines(text) : text),
      h('h2', {}, 'Stat'),
      statTable(body.stat, body.ephemeral),
    ),
  );
}

/** Why the server refused the stream (bad path, too many streams): its `{ error }`, read with fetch since EventSource hides it. */
async function refusal(url: string): Promise<string | null> {
  const abort = new AbortController();
  try {
    const response = await fetch(url, { signal: abort.signal });
    if (response.ok) return null;
    const body = (await response.json().catch(() => null)) as { error?: string } | null;
    return body?.error ?? `HTTP ${response.status}`;
  } catch {
    return null;
  } finally {
    abort.abort();
  }
}

export const treePage: Page = {
  title: 'Znodes',
  render(root, params) {
    const path = znodePathOf(params.path.path);
    const status = h('span', { class: 'live-status muted', 'data-testid': 'live-status' }, 'connecting…');
    const content = h('div', { 'data-testid': 'znode', 'data-path': path }, h('p', { class: 'muted' }, 'Reading…'));
    fill(root, h('div', { class: 'page-head' }, h('h1', {}, 'Znodes'), status), crumbs(path), content);
    const url = `/api/tree/events?path=${encodeURIComponent(path)}`;
    const source = new EventSource(url);
    source.addEventListener('node', (message) => {
      const body = JSON.parse((message as MessageEvent<string>).data) as NodeEvent;
      content.dataset.version = String(Number(content.dataset.version ?? '0') + 1);
      if ('deleted' in body) fill(content, h('p', { class: 'muted', 'data-testid': 'znode-missing' }, `No znode at ${path}. This page shows it as soon as it is created.`));
      else fill(content, nodeView(body));
    });
    source.onopen = () => {
      status.textContent = '● live';
      status.className = 'live-status ok';
    };
    source.onerror = () => {
      if (source.readyState !== EventSource.CLOSED) {
        status.textContent = '○ reconnecting…';
        status.className = 'live-status warn';
        return;
      }
      // CLOSED: the server answered with an error status; EventSource will not retry.
      status.textContent = 'not live';
      status.className = 'live-status bad';
      void refusal(url).then((reason) => fill(content, errorBox(reason ?? 'the console closed the live stream; reload to try again')));
    };
    return () => source.close();
  },
};
