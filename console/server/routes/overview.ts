import { clientSoftware } from '../clients';
import type { Overview } from '../overview';
import type { Route } from '../types';

/** The cluster overview: at once, and then every change the coordinator's watches report. */
export const routes: Route[] = [
  { method: 'GET', pattern: '/api/overview', handler: async (_request, context) => ({ body: context.cluster.overview }) },
  // Client software per broker (ApiVersions v3+), as of the latest scrape of each broker's /metrics.
  { method: 'GET', pattern: '/api/clients', handler: async (_request, context) => ({ body: { clients: clientSoftware(context.rates.latest()) } }) },
  {
    method: 'GET',
    pattern: '/api/overview/events',
    events: (_request, context, stream) => {
      stream.send('overview', context.cluster.overview);
      const onChange = (overview: Overview): void => stream.send('overview', overview);
      context.cluster.on('change', onChange);
      stream.onClose(() => context.cluster.off('change', onChange));
    },
  },
];
