/** Calls per Redis command name, e.g. { publish: 1200, set: 3 }. */
export type CommandCalls = Readonly<Record<string, number>>;

/**
 * Reads the `# Commandstats` section of `INFO commandstats` (or of a whole
 * INFO): one line per command, `cmdstat_<name>:calls=N,usec=...`. Subcommands
 * (`cmdstat_client|setinfo`) keep their full name. Lines of other sections are
 * ignored.
 */
export function parseCommandStats(info: string): CommandCalls {
  const calls: Record<string, number> = {};
  for (const line of info.split(/\r?\n/)) {
    const match = /^cmdstat_([^:]+):(.*)$/.exec(line.trim());
    if (!match) continue;
    const fields = new Map(match[2]!.split(',').map((kv) => kv.split('=', 2) as [string, string]));
    const n = Number(fields.get('calls'));
    if (Number.isFinite(n)) calls[match[1]!.toLowerCase()] = n;
  }
  return calls;
}

/**
 * Commands called between two readings, by name (names with no new call are
 * left out). `ignore`: commands the reader itself sends (its `info`), which
 * are not the system's traffic.
 */
export function commandsBetween(before: CommandCalls, after: CommandCalls, ignore: readonly string[] = ['info']): CommandCalls {
  const out: Record<string, number> = {};
  for (const [name, n] of Object.entries(after)) {
    if (ignore.includes(name)) continue;
    // A counter that went down means the stats were reset (CONFIG RESETSTAT) meanwhile: count from zero.
    const delta = n >= (before[name] ?? 0) ? n - (before[name] ?? 0) : n;
    if (delta > 0) out[name] = delta;
  }
  return out;
}

/** The sum of every command's calls. */
export function totalCalls(calls: CommandCalls): number {
  return Object.values(calls).reduce((n, c) => n + c, 0);
}
