import type pg from 'pg';
import { mergedCounts } from './progress-rows.js';
import type { StoredReceiptCounts } from './storage.js';

/**
 * Receipt counts upserted in one prepared statement over arrays: every
 * delivered message gets a row here, so on a busy node this is as many rows
 * as messages, and a VALUES list built per call (four parameters a row) cost
 * PostgreSQL a parse and a plan of a statement of thousands of parameters
 * each time. Each count keeps the larger value (batches may overlap); rows
 * go in sorted by id, once each (see mergedCounts), so two nodes lock them in
 * the same order.
 */
const UPSERT_SQL = `
insert into receipt_counts as r (message_id, recipients, delivered, read)
select * from unnest($1::text[], $2::int4[], $3::int4[], $4::int4[])
on conflict (message_id) do update set
  recipients = greatest(r.recipients, excluded.recipients),
  delivered = greatest(r.delivered, excluded.delivered),
  read = greatest(r.read, excluded.read)`;

export async function upsertReceiptCountsOn(pool: pg.Pool, counts: readonly StoredReceiptCounts[]): Promise<void> {
  const merged = mergedCounts(counts);
  await pool.query({
    name: 'chorus-receipt-counts-v1',
    text: UPSERT_SQL,
    values: [merged.map((c) => c.id), merged.map((c) => c.recipients), merged.map((c) => c.delivered), merged.map((c) => c.read)],
  });
}
