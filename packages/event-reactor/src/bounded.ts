/**
 * Tables kept to their newest rows. Once a table is full, its oldest PRUNE_STEP rows are deleted
 * together: one statement per that many writes instead of one per write.
 */

/** Rows one prune deletes from a full table (of sent commands, decisions or event ids). */
export const PRUNE_STEP = 50;

/**
 * How many of the oldest rows to delete from a table that holds `count` with the write just
 * made: none up to `max`; past it, PRUNE_STEP (more if one write took it further), so the
 * next prune is PRUNE_STEP writes away. Every capped table prunes by this one rule.
 */
export function rowsToPrune(count: number, max: number): number {
  return count > max ? count - (max - PRUNE_STEP + 1) : 0;
}

/**
 * A table kept to its newest `max` rows by rowid, which it hands out in order. The rowid range
 * is kept in memory (both ends read from the rowid B-tree on wake), so no insert counts rows.
 */
export class RowidWindow {
  /** The oldest rowid that may still be stored, and the next one to hand out. */
  private oldest = 1;
  private next = 1;

  constructor(
    private readonly sql: SqlStorage,
    private readonly table: string,
    private readonly max: number,
  ) {
    this.reload();
  }

  /** The rowid for the next row; first prunes the oldest rows if the table is full. */
  nextRowid(): number {
    // Rows may be missing inside the range (deleted by time), never outside it: the range
    // overcounts, so the table never holds more than `max`.
    const excess = rowsToPrune(this.next - this.oldest + 1, this.max);
    if (excess > 0) {
      this.oldest += excess;
      this.sql.exec(`DELETE FROM ${this.table} WHERE rowid < ?`, this.oldest);
    }
    return this.next++;
  }

  /** Reads the range again, after rows were deleted by other means or a write rolled back. */
  reload(): void {
    const range = this.sql
      .exec<{ oldest: number | null; newest: number | null }>(
        `SELECT min(rowid) AS oldest, max(rowid) AS newest FROM ${this.table}`,
      )
      .one();
    this.next = (range.newest ?? 0) + 1;
    this.oldest = range.oldest ?? this.next;
  }
}
