/// <reference types="svelte" />
/**
 * Loads the browser client's `*.svelte.ts` state classes in Node, compiled by
 * Svelte as the browser build compiles them (see svelte-runes-hooks.mjs).
 * Import the state modules only through this module's exports: the hooks must
 * be registered before the first of them loads.
 */
import { register } from 'node:module';

register('./svelte-runes-hooks.mjs', import.meta.url);

const state = '../../../apps/web/src/lib/state/';
export const { MessageLog } = await import(`${state}message-log.svelte.js`) as typeof import('../../../apps/web/src/lib/state/message-log.svelte.js');
export const { Conversations } = await import(`${state}conversations.svelte.js`) as typeof import('../../../apps/web/src/lib/state/conversations.svelte.js');
export const { RoomDirectory } = await import(`${state}rooms.svelte.js`) as typeof import('../../../apps/web/src/lib/state/rooms.svelte.js');
export const { TypingIndicators } = await import(`${state}typing.svelte.js`) as typeof import('../../../apps/web/src/lib/state/typing.svelte.js');
export const { OnlineList } = await import(`${state}online-list.svelte.js`) as typeof import('../../../apps/web/src/lib/state/online-list.svelte.js');
