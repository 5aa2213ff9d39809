import { clientIdProblem } from '@chorus/protocol';
import { loadEnv, socketUrl, type ClientEnv } from '../env.js';
import { idFromPath, pathForId } from '../route.js';
import type { ChatStore } from '../store/chat-store.js';
import { openChatStore } from '../store/indexeddb-store.js';
import { ChatSession } from './chat-session.svelte.js';

/**
 * The whole tab: which name the URL holds and the chat session for it. The
 * path is the source of truth (`/alice` chats as alice, `/` asks for a name),
 * so the back button and shared links behave.
 */
export class AppState {
  /** The session of the name in the URL; null while asking for a name. */
  session = $state<ChatSession | null>(null);
  /** Why the name in the URL cannot be used, in plain words. */
  nameProblem = $state<string | null>(null);
  /** The name to prefill the form with. */
  draftName = $state('');

  readonly #loadEnv: () => Promise<ClientEnv>;
  readonly #openStore: (clientId: string) => Promise<ChatStore>;
  #env: Promise<ClientEnv> | null = null;
  readonly #onPopState = () => this.#route();

  /** `openStore` opens the conversations kept for a client id (IndexedDB by default). */
  constructor(load: () => Promise<ClientEnv> = () => loadEnv(), openStore: (clientId: string) => Promise<ChatStore> = openChatStore) {
    this.#loadEnv = load;
    this.#openStore = openStore;
  }

  /** Follows the URL now and on every back/forward navigation. */
  start(): void {
    window.addEventListener('popstate', this.#onPopState);
    this.#route();
  }

  /** Stops following the URL and disconnects. */
  stop(): void {
    window.removeEventListener('popstate', this.#onPopState);
    this.#enter(null);
  }

  /** Chats as `name`: returns the problem with the name instead, if it has one. */
  join(name: string): string | null {
    const problem = clientIdProblem(name);
    if (problem) return problem;
    const path = pathForId(name);
    if (location.pathname !== path) history.pushState(null, '', path);
    this.#route();
    return null;
  }

  /** Leaves the chat and asks for another name. */
  leave(): void {
    this.draftName = this.session?.me ?? '';
    history.pushState(null, '', '/');
    this.#route();
  }

  #route(): void {
    const id = idFromPath(location.pathname);
    if (id === null) {
      this.nameProblem = null;
      this.#enter(null);
      return;
    }
    const problem = clientIdProblem(id);
    this.nameProblem = problem && `“${id}” cannot be used as a name: ${problem}.`;
    if (problem) this.draftName = id;
    this.#enter(problem ? null : id);
  }

  #enter(id: string | null): void {
    if (this.session?.me === id) return;
    this.session?.stop();
    this.session = id === null ? null : new ChatSession(id, () => this.#serverUrl(id), () => this.#openStore(id));
    this.session?.start();
  }

  async #serverUrl(id: string): Promise<string> {
    this.#env ??= this.#loadEnv();
    try {
      return socketUrl((await this.#env).SERVER, id, { resume: true });
    } catch (err) {
      this.#env = null; // Ask again on the next attempt: the client app may be restarting.
      throw err;
    }
  }
}
