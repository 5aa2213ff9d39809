import { totalCalls } from '../services/commandstats.js';
import type { SystemSpec } from '../systems.js';
import { round, type Window } from './common.js';

/**
 * Figures of the Redis traffic of a window, for a system with Redis (none
 * otherwise): commands per routed message (`messages`: the messages the
 * system routed in the window, each once however many receive it), in all and per
 * command (`redis.<command>`), and the CPU of redis-server and of the
 * PostgreSQL backends (already counted in the system's CPU), in cores.
 */
export function serviceFigures(spec: SystemSpec, window: Window, messages: number, suffix = ''): Record<string, number> {
  const figures: Record<string, number> = {};
  if (window.redisCommands !== null && messages > 0) {
    figures[`redisCommandsPerMessage${suffix}`] = round(totalCalls(window.redisCommands) / messages, 3);
    for (const [name, calls] of Object.entries(window.redisCommands)) figures[`redis.${name}${suffix}`] = round(calls / messages, 3);
  }
  const cores = (micros: number): number => round(micros / 1e6 / window.seconds, 2);
  if (spec.services.includes('redis')) figures[`redisCpuCores${suffix}`] = cores(window.cpuMicrosOf.redis);
  if (spec.services.includes('postgres')) figures[`postgresCpuCores${suffix}`] = cores(window.cpuMicrosOf.postgres);
  return figures;
}
