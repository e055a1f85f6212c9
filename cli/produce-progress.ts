/**
 * `samsa produce`'s progress line on a terminal: records sent, the rate, and with --file how
 * much of the file is read. Hand-written rather than a progress-bar library: it is one `\r`
 * line redrawn a few times a second, and the formatting (the pure part) is unit-tested.
 */

/** The line is redrawn at most this often, and only once the input has taken this long (short inputs show nothing). */
export const PROGRESS_INTERVAL_MS = 250;
const BAR_WIDTH = 24;

export interface ProgressState {
  records: number;
  bytesRead: number;
  /** The file's size; null for stdin (no bar, no percentage). */
  totalBytes: number | null;
  elapsedMs: number;
}

/** `[#######.....]  42%  12345 records  6170 records/s` (without the bar and percentage for stdin). */
export function formatProgress(state: ProgressState): string {
  const rate = state.elapsedMs > 0 ? Math.round((state.records * 1000) / state.elapsedMs) : 0;
  const counts = `${state.records} records  ${rate} records/s`;
  if (state.totalBytes === null || state.totalBytes <= 0) return counts;
  const fraction = Math.min(1, state.bytesRead / state.totalBytes);
  const filled = Math.round(fraction * BAR_WIDTH);
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%  ${counts}`;
}

/** Redraws the line on `out` when due; `now` comes from the caller. */
export class ProgressLine {
  private lastDrawnAt: number;
  private drawn = false;

  constructor(
    private readonly out: { write(text: string): unknown },
    private readonly startedAt: number,
    private readonly totalBytes: number | null,
  ) {
    this.lastDrawnAt = startedAt;
  }

  update(now: number, records: number, bytesRead: number): void {
    if (now - this.lastDrawnAt < PROGRESS_INTERVAL_MS) return;
    this.lastDrawnAt = now;
    this.drawn = true;
    this.out.write(`\r${formatProgress({ records, bytesRead, totalBytes: this.totalBytes, elapsedMs: now - this.startedAt })}\u001b[K`);
  }

  /** Clears the line (if it was drawn) so the summary line that follows stands alone. */
  finish(): void {
    if (this.drawn) this.out.write('\r\u001b[K');
  }
}
