/**
 * Consumer groups: the list (state, members, total lag) and one group (members with their
 * assigned partitions; per partition the committed offset, the end offset and the lag). Both
 * read the cluster again every few seconds while open (groups have no watch to follow: their
 * state lives in the brokers' group coordinators), and on the Refresh button.
 */
import { api, ApiFailure, errorBox, fill, h, link, type Page } from '../lib.js';
import { assignmentText, groupHref, lagTone, offsetText } from '../group-lines.js';
import type { GroupDetail, GroupList, GroupSummary, MemberView, PartitionLag } from '../api-types.js';

/** How often an open group page reads the cluster again. */
const REFRESH_MS = 3000;

const stateTone = (state: string): string => (state === 'Stable' ? 'ok' : state === 'Empty' ? 'muted' : state === 'Dead' ? 'bad' : 'warn');

/**
 * Reads with `load` now, every REFRESH_MS after the previous read finished (never two at once),
 * and when the returned `now()` is called; `stop` ends it (the page's cleanup).
 */
function refreshing(load: () => Promise<void>): { now: () => void; stop: () => void } {
  let stopped = false;
  let timer: number | undefined;
  let busy = false;
  const run = async (): Promise<void> => {
    if (stopped || busy) return;
    busy = true;
    window.clearTimeout(timer);
    try {
      await load();
    } finally {
      busy = false;
      if (!stopped) timer = window.setTimeout(() => void run(), REFRESH_MS);
    }
  };
  void run();
  return {
    now: () => void run(),
    stop: () => {
      stopped = true;
      window.clearTimeout(timer);
    },
  };
}

function head(title: string, onRefresh: () => void, updated: HTMLElement): HTMLElement {
  return h('div', { class: 'page-head' }, h('h1', {}, title), h('button', { onclick: onRefresh, 'data-testid': 'refresh' }, 'Refresh'), updated);
}

function groupsTable(list: GroupList): HTMLElement {
  return h(
    'div',
    {},
    list.unreachableBrokers.length > 0 ? errorBox(`Broker(s) ${list.unreachableBrokers.join(', ')} did not list their groups: the groups they coordinate are missing below.`) : null,
    list.groups.length === 0
      ? h('p', { class: 'muted', 'data-testid': 'groups-empty' }, 'No consumer groups yet.')
      : h(
          'table',
          { class: 'grid', 'data-testid': 'groups' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Group'), h('th', {}, 'State'), h('th', {}, 'Protocol'), h('th', { class: 'num' }, 'Members'), h('th', { class: 'num' }, 'Coordinator'), h('th', { class: 'num' }, 'Total lag'))),
          h(
            'tbody',
            {},
            list.groups.map((g) =>
              h(
                'tr',
                { 'data-testid': `group-row-${g.groupId}`, 'data-state': g.state, 'data-members': String(g.members), 'data-lag': g.totalLag === null ? '' : String(g.totalLag) },
                h('td', {}, link(groupHref(g.groupId), g.groupId)),
                h('td', { class: stateTone(g.state) }, g.state),
                h('td', { class: 'muted' }, g.protocolType || '—'),
                h('td', { class: 'num' }, g.members),
                h('td', { class: 'num' }, g.coordinator),
                h('td', { class: `num ${lagTone(g.totalLag)}` }, offsetText(g.totalLag)),
              ),
            ),
          ),
        ),
  );
}

function membersTable(group: GroupDetail): HTMLElement {
  if (group.members.length === 0) return h('p', { class: 'muted', 'data-testid': 'group-members' }, 'No active members.');
  return h(
    'table',
    { class: 'grid', 'data-testid': 'group-members' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Member'), h('th', {}, 'Instance id'), h('th', {}, 'Client id'), h('th', {}, 'Host'), h('th', {}, 'Assigned partitions'))),
    h(
      'tbody',
      {},
      group.members.map((m) =>
        h(
          'tr',
          { 'data-testid': `group-member-${m.memberId}`, 'data-client-id': m.clientId },
          h('td', { class: 'mono' }, m.memberId),
          h('td', { class: m.groupInstanceId === null ? 'muted' : '' }, m.groupInstanceId ?? '—'),
          h('td', {}, m.clientId),
          h('td', { class: 'muted' }, m.host),
          h('td', { 'data-testid': 'member-assignment' }, assignmentText(m.assignment, m.assignmentBytes)),
        ),
      ),
    ),
  );
}

function offsetsTable(group: GroupDetail): HTMLElement {
  if (group.offsets.length === 0) return h('p', { class: 'muted', 'data-testid': 'group-offsets' }, 'No committed offsets.');
  return h(
    'table',
    { class: 'grid', 'data-testid': 'group-offsets' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Topic'), h('th', { class: 'num' }, 'Partition'), h('th', { class: 'num' }, 'Committed'), h('th', { class: 'num' }, 'End offset'), h('th', { class: 'num' }, 'Lag'), h('th', {}, 'Client id'))),
    h(
      'tbody',
      {},
      group.offsets.map((o) =>
        h(
          'tr',
          { 'data-testid': `group-offset-${o.topic}-${o.partition}`, 'data-committed': o.committed === null ? '' : String(o.committed), 'data-end': o.end === null ? '' : String(o.end), 'data-lag': o.lag === null ? '' : String(o.lag) },
          h('td', {}, link(`#/topics/${encodeURIComponent(o.topic)}`, o.topic)),
          h('td', { class: 'num' }, o.partition),
          h('td', { class: 'num' }, offsetText(o.committed)),
          h('td', { class: 'num' }, offsetText(o.end)),
          h('td', { class: `num ${lagTone(o.lag)}` }, offsetText(o.lag)),
          h('td', { class: o.clientId === null ? 'muted' : '' }, o.clientId ?? 'unassigned'),
        ),
      ),
    ),
  );
}

function groupView(group: GroupDetail): HTMLElement {
  return h(
    'div',
    {},
    h(
      'div',
      { class: 'stats' },
      h('div', { class: `card stat ${stateTone(group.state)}`, 'data-testid': 'group-state' }, h('div', { class: 'stat-value' }, group.state), h('div', { class: 'stat-label' }, 'state')),
      h('div', { class: 'card stat' }, h('div', { class: 'stat-value' }, group.members.length), h('div', { class: 'stat-label' }, 'members')),
      h('div', { class: `card stat ${lagTone(group.totalLag)}`, 'data-testid': 'group-total-lag', 'data-lag': group.totalLag === null ? '' : String(group.totalLag) }, h('div', { class: 'stat-value' }, offsetText(group.totalLag)), h('div', { class: 'stat-label' }, 'total lag')),
      h('div', { class: 'card stat' }, h('div', { class: 'stat-value' }, `broker ${group.coordinator}`), h('div', { class: 'stat-label' }, 'coordinator')),
    ),
    h('p', { class: 'muted' }, `Protocol: ${group.protocolType || '—'}${group.protocol ? ` / ${group.protocol}` : ''}`),
    h('h2', {}, 'Members'),
    membersTable(group),
    h('h2', {}, 'Offsets and lag'),
    offsetsTable(group),
  );
}

const updatedNote = (): HTMLElement => h('span', { class: 'muted live-status' });
const stamp = (element: HTMLElement): void => void (element.textContent = `updated ${new Date().toLocaleTimeString()}`);

export const groupsPage: Page = {
  title: 'Groups',
  render(root) {
    const content = h('div', {}, h('p', { class: 'muted' }, 'Listing the groups of every live broker…'));
    const updated = updatedNote();
    const refresh = refreshing(async () => {
      try {
        fill(content, groupsTable(await api<GroupList>('GET', '/api/groups')));
        stamp(updated);
      } catch (error) {
        fill(content, errorBox(error instanceof Error ? error.message : String(error)));
      }
    });
    fill(root, head('Consumer groups', () => refresh.now(), updated), content);
    return () => refresh.stop();
  },
};

export const groupPage: Page = {
  title: 'Group',
  render(root, params) {
    const groupId = params.path.id ?? '';
    const content = h('div', { 'data-testid': 'group', 'data-group': groupId }, h('p', { class: 'muted' }, 'Describing the group…'));
    const updated = updatedNote();
    const refresh = refreshing(async () => {
      try {
        fill(content, groupView(await api<GroupDetail>('GET', `/api/groups/${encodeURIComponent(groupId)}`)));
        stamp(updated);
      } catch (error) {
        const missing = error instanceof ApiFailure && error.status === 404;
        fill(content, errorBox(error instanceof Error ? error.message : String(error)), missing ? h('p', {}, link('#/groups', 'All groups')) : null);
      }
    });
    fill(root, h('p', { class: 'muted' }, link('#/groups', '← groups')), head(`Group ${groupId}`, () => refresh.now(), updated), content);
    return () => refresh.stop();
  },
};
