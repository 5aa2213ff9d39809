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

/** Turns the file links messages carry (paths on the chat server) into URLs this page can load. */
export interface FileServer {
  url(path: string): string;
}

const [getFiles, setFiles] = createContext<FileServer>();

/** The chat's {@link FileServer}; call during component initialisation, below the chat screen. */
export function getFileServer(): FileServer {
  return getFiles();
}

export function setFileServer(server: FileServer): FileServer {
  return setFiles(server);
}
