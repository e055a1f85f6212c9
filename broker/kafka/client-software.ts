/**
 * Which client software talks to this broker: the name and version clients send in ApiVersions
 * v3+ (KIP-511), counted per connection, for metrics and the console. Pure and bounded: past
 * CLIENT_SOFTWARE_KINDS_MAX distinct name/version pairs, new ones are counted under OTHER (a
 * client can send any string; the tally must not grow with them).
 */
export const CLIENT_SOFTWARE_KINDS_MAX = 256;
export const OTHER = { name: 'other', version: '' } as const;

/** Kafka's rule for both fields (ApiVersionsRequest.isValid): letters, digits, '-' and '.', alphanumeric at both ends. */
const SOFTWARE_PATTERN = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/;

export function validClientSoftware(name: string, version: string): boolean {
  return SOFTWARE_PATTERN.test(name) && SOFTWARE_PATTERN.test(version);
}

export interface ClientSoftwareCount {
  name: string;
  version: string;
  /** Connections open now that identified as this software. */
  open: number;
  /** Connections that ever did, since the broker started. */
  total: number;
}

export class ClientSoftwareTally {
  private readonly counts = new Map<string, ClientSoftwareCount>();

  constructor(private readonly kindsMax = CLIENT_SOFTWARE_KINDS_MAX) {}

  /** A connection identified itself; returns the key to release() when it closes. */
  record(name: string, version: string): string {
    let key = `${name}/${version}`;
    let count = this.counts.get(key);
    if (count === undefined) {
      if (this.counts.size >= this.kindsMax) {
        key = `${OTHER.name}/${OTHER.version}`;
        count = this.counts.get(key);
      }
      if (count === undefined) {
        count = key === `${name}/${version}` ? { name, version, open: 0, total: 0 } : { ...OTHER, open: 0, total: 0 };
        this.counts.set(key, count);
      }
    }
    count.open += 1;
    count.total += 1;
    return key;
  }

  release(key: string): void {
    const count = this.counts.get(key);
    if (count !== undefined && count.open > 0) count.open -= 1;
  }

  /** Most connections first. */
  snapshot(): ClientSoftwareCount[] {
    return [...this.counts.values()].map((count) => ({ ...count })).sort((a, b) => b.total - a.total || a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
  }
}
