import type { Route } from '../types';
import { routes as overview } from './overview';
import { routes as topics } from './topics';
import { routes as messages } from './messages';
import { routes as groups } from './groups';
import { routes as tree } from './tree';
import { routes as rates } from './rates';

/** Every API route of the console, one module per concern. */
export const ROUTES: Route[] = [...overview, ...topics, ...messages, ...groups, ...tree, ...rates];
