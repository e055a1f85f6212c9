/**
 * The console's shell: a hash router (`#/topics/orders`) choosing one page module, the
 * navigation bar, and the cleanup of the page left (its event streams close with it).
 */
import { fill, h, type Page, type PageParams } from './lib.js';
import { overviewPage } from './pages/overview.js';
import { topicsPage, topicPage } from './pages/topics.js';
import { messagesPage } from './pages/messages.js';
import { groupsPage, groupPage } from './pages/groups.js';
import { treePage } from './pages/tree.js';
import { chartsPage } from './pages/charts.js';

interface RouteEntry {
  /** `/topics/:name`; a last part `*path` takes the rest of the hash path. */
  pattern: string;
  page: Page;
  nav?: string;
}

const ROUTES: RouteEntry[] = [
  { pattern: '/', page: overviewPage, nav: 'Overview' },
  { pattern: '/topics', page: topicsPage, nav: 'Topics' },
  { pattern: '/topics/:name', page: topicPage },
  { pattern: '/messages', page: messagesPage, nav: 'Messages' },
  { pattern: '/groups', page: groupsPage, nav: 'Groups' },
  { pattern: '/groups/:id', page: groupPage },
  { pattern: '/tree', page: treePage, nav: 'Znodes' },
  { pattern: '/tree/*path', page: treePage },
  { pattern: '/charts', page: chartsPage, nav: 'Charts' },
];

function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/').filter(Boolean);
  const got = path.split('/').filter(Boolean);
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const part = want[i]!;
    if (part.startsWith('*')) {
      if (i >= got.length) return null;
      params[part.slice(1)] = got.slice(i).map(decodeURIComponent).join('/');
      return params;
    }
    if (i >= got.length) return null;
    if (part.startsWith(':')) params[part.slice(1)] = decodeURIComponent(got[i]!);
    else if (part !== got[i]) return null;
  }
  return want.length === got.length ? params : null;
}

let leave: (() => void) | void = undefined;

function route(): void {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [pathPart, queryPart] = hash.split('?', 2) as [string, string | undefined];
  const main = document.getElementById('page')!;
  if (typeof leave === 'function') leave();
  leave = undefined;
  for (const entry of ROUTES) {
    const params = match(entry.pattern, pathPart);
    if (params === null) continue;
    const pageParams: PageParams = { path: params, query: new URLSearchParams(queryPart ?? '') };
    document.title = `${entry.page.title} · Samsa console`;
    for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a')) {
      const target = a.getAttribute('href')!.slice(1);
      a.classList.toggle('active', target === '/' ? pathPart === '/' : pathPart === target || pathPart.startsWith(`${target}/`));
    }
    fill(main);
    leave = entry.page.render(main, pageParams);
    return;
  }
  fill(main, h('h1', {}, 'Not found'), h('p', {}, `No page at ${pathPart}. `, h('a', { href: '#/' }, 'Overview')));
}

function start(): void {
  const nav = document.getElementById('nav')!;
  fill(nav, h('span', { class: 'brand' }, 'Samsa'), ...ROUTES.filter((r) => r.nav !== undefined).map((r) => h('a', { href: `#${r.pattern}` }, r.nav!)));
  window.addEventListener('hashchange', route);
  route();
}

start();
