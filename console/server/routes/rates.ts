/**
 * The charts page's data: the last few minutes of traffic samples, then each new one as a
 * server-sent event (console/server/rates-poller.ts takes them).
 */
import type { Route } from '../types';

export const routes: Route[] = [
  {
    method: 'GET',
    pattern: '/api/rates',
    handler: async (_request, context) => ({ body: { history: context.rates.history() } }),
  },
  {
    method: 'GET',
    pattern: '/api/rates/events',
    events: (_request, context, stream) => {
      const unsubscribe = context.rates.subscribe((sample) => {
        if (!stream.closed) stream.send('sample', sample);
      });
      stream.onClose(unsubscribe);
    },
  },
];
