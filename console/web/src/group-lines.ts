/**
 * The group pages' text: assignments (`orders: 0, 1, 2`), lags, group routes. No DOM, no
 * imports: unit-tested from jest.
 */

export interface TopicPartitionsView {
  topic: string;
  partitions: number[];
}

/** `orders: 0, 1, 2; audit: 3`; '—' for none; a note for an assignment that is not the consumer protocol's. */
export function assignmentText(assignment: TopicPartitionsView[] | null, bytes = 0): string {
  if (assignment === null) return `(${bytes} bytes, not a consumer assignment)`;
  if (assignment.length === 0) return '—';
  return assignment.map((tp) => `${tp.topic}: ${[...tp.partitions].sort((a, b) => a - b).join(', ')}`).join('; ');
}

/** An offset, end or lag cell: '—' when unknown. */
export function offsetText(value: number | null): string {
  return value === null ? '—' : value.toLocaleString('en-US');
}

export function groupHref(groupId: string): string {
  return `#/groups/${encodeURIComponent(groupId)}`;
}

/** How a lag is shown: none (0), some, or unknown. */
export function lagTone(lag: number | null): 'ok' | 'warn' | 'muted' {
  return lag === null ? 'muted' : lag === 0 ? 'ok' : 'warn';
}
