/**
 * A real browser for the console's tests: Debian's Chromium (/usr/bin/chromium, installed by
 * scripts/ensure-deps.sh chromium, which `make test` runs) driven by playwright-core. The flags
 * keep it off the network this machine does not have (background networking, component
 * updates, sync) and let it run as root in a container (--no-sandbox); playwright gives it a fresh profile each launch.
 */
import fs from 'fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.SAMSA_CHROMIUM ?? '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/ensure-deps.sh chromium (make test does)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}
