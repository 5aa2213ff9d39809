import { createContext } from 'svelte';
import type { AppState } from './state/app-state.svelte.js';

const [get, set] = createContext<AppState>();

/** The tab's {@link AppState}; call during component initialisation, below the root. */
export function getAppState(): AppState {
  return get();
}

/** Makes `state` the tab's {@link AppState} for every component below the caller. */
export function setAppState(state: AppState): AppState {
  return set(state);
}
