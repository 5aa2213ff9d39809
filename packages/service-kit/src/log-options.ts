/** The two settings that choose how an app logs. */
export interface LogSettings {
  readonly LOG_LEVEL: string;
  readonly ENVIRONMENT: string;
}

/** pino's options as both apps pass them (to pino, or to Fastify's `logger`). */
export interface LogOptions {
  /** Which app wrote the line (`npm start` interleaves both apps' lines on one terminal). */
  readonly name: string;
  readonly level: string;
  readonly transport?: { readonly target: string; readonly options: Record<string, unknown> };
}

/**
 * Readable lines (pino-pretty, in a worker thread) for a person at a terminal
 * in development; JSON lines, one object each, everywhere else: production,
 * tests, and any pipe, where a program reads them. `terminal`: whether stdout
 * is one (the caller knows its stream). `name` names the app in every line.
 */
export function logOptions(name: string, settings: LogSettings, terminal: boolean): LogOptions {
  if (settings.ENVIRONMENT !== 'development' || !terminal) return { name, level: settings.LOG_LEVEL };
  return {
    name,
    level: settings.LOG_LEVEL,
    transport: {
      target: 'pino-pretty',
      // A clock time rather than epoch milliseconds; one line per entry, its fields at the end.
      options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true },
    },
  };
}
