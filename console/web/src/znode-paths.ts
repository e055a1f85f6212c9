/**
 * The tree browser's paths: between a znode path (`/brokers/ids`) and the hash route that shows
 * it (`#/tree/brokers/ids`, each segment URI-encoded: znode names may hold `?`, `#`, `%`).
 * No DOM, no imports: unit-tested from jest.
 */

/** The znode path of the route's `*path` parameter ('brokers/ids'; absent: the root). */
export function znodePathOf(param: string | undefined): string {
  const segments = (param ?? '').split('/').filter((s) => s !== '');
  return `/${segments.join('/')}`;
}

/** The hash route showing `path`. */
export function treeHref(path: string): string {
  const segments = path.split('/').filter((s) => s !== '');
  return segments.length === 0 ? '#/tree' : `#/tree/${segments.map(encodeURIComponent).join('/')}`;
}

export function childOf(path: string, name: string): string {
  return path === '/' ? `/${name}` : `${path}/${name}`;
}

/** `/` then each ancestor down to `path` itself, with its name and route. */
export function breadcrumbs(path: string): Array<{ name: string; path: string; href: string }> {
  const segments = path.split('/').filter((s) => s !== '');
  const crumbs = [{ name: '/', path: '/', href: treeHref('/') }];
  for (let i = 0; i < segments.length; i++) {
    const at = `/${segments.slice(0, i + 1).join('/')}`;
    crumbs.push({ name: segments[i]!, path: at, href: treeHref(at) });
  }
  return crumbs;
}

/** The znode's data for reading: JSON pretty-printed when the server parsed it, else the text as is. */
export function dataText(body: { data: string; json?: unknown }): { text: string; isJson: boolean } {
  if (body.json !== undefined && typeof body.json === 'object' && body.json !== null) return { text: JSON.stringify(body.json, null, 2), isJson: true };
  return { text: body.data, isJson: body.json !== undefined };
}
