/**
 * `samsa produce`'s pure parts: Kafka's spellings of --acks, and the progress line (redrawn at
 * most every PROGRESS_INTERVAL_MS, nothing for short inputs, cleared before the summary) with a
 * fake clock and a fake stream.
 */
import { parseAcks } from '../../../cli/commands/produce';
import { formatProgress, PROGRESS_INTERVAL_MS, ProgressLine } from '../../../cli/produce-progress';

describe('parseAcks', () => {
  test.each([
    ['all', -1],
    ['ALL', -1],
    ['-1', -1],
    [-1, -1],
    ['1', 1],
    [1, 1],
    ['0', 0],
    [0, 0],
  ])('%p is %p', (given, expected) => {
    expect(parseAcks(given)).toBe(expected);
  });

  test.each(['2', 'none', '', 'leader'])('%p is refused with one line naming the choices', (given) => {
    expect(() => parseAcks(given)).toThrow(`INVALID_REQUIRED_ACKS: --acks ${given} (use all, -1, 1 or 0)`);
  });
});

describe('formatProgress', () => {
  test('with a file: a bar, the percentage of bytes read, records and the rate', () => {
    expect(formatProgress({ records: 500, bytesRead: 250, totalBytes: 1000, elapsedMs: 2000 })).toBe(`[${'#'.repeat(6)}${'.'.repeat(18)}]  25%  500 records  250 records/s`);
    expect(formatProgress({ records: 10, bytesRead: 2000, totalBytes: 1000, elapsedMs: 1000 })).toContain(`[${'#'.repeat(24)}] 100%`);
  });

  test('stdin (no size): counts and rate only; no division by a zero elapsed time', () => {
    expect(formatProgress({ records: 42, bytesRead: 100, totalBytes: null, elapsedMs: 0 })).toBe('42 records  0 records/s');
  });
});

describe('ProgressLine', () => {
  const sink = (): { text: string; write(chunk: string): void } => ({ text: '', write(chunk: string) { this.text += chunk; } });

  test('a short input draws nothing and clears nothing', () => {
    const out = sink();
    const line = new ProgressLine(out, 1000, 100);
    line.update(1000 + PROGRESS_INTERVAL_MS - 1, 10, 50);
    line.finish();
    expect(out.text).toBe('');
  });

  test('redraws in place at most once per interval, then clears the line for the summary', () => {
    const out = sink();
    const line = new ProgressLine(out, 0, 1000);
    line.update(PROGRESS_INTERVAL_MS, 500, 100);
    line.update(PROGRESS_INTERVAL_MS + 1, 1000, 200);
    line.update(2 * PROGRESS_INTERVAL_MS, 1500, 300);
    line.finish();
    const draws = out.text.split('\r').filter(Boolean);
    expect(draws).toHaveLength(3);
    expect(draws[0]).toContain('500 records');
    expect(draws[1]).toContain('1500 records');
    expect(draws[2]).toBe('\u001b[K');
  });
});
