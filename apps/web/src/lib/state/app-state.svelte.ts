import { AuthApi, authBase, type SignedIn, type UserProfile } from '../auth/auth-api.js';
import { explainAuthFailure, sessionEndNotice } from '../auth/auth-words.js';
import { entryAfterAuthEnded, entryFor, type AuthEnding, type Entry } from '../auth/start-route.js';
import { TokenStore, type StoredToken } from '../auth/token-store.js';
import { fileServerBase, loadEnv, socketUrl, type ClientEnv } from '../env.js';
import { nameProblem } from '../name-words.js';
import { idFromPath, pathForId } from '../route.js';
import type { ChatStore } from '../store/chat-store.js';
import { deleteChatStore, openChatStore, type StoreOwner } from '../store/indexeddb-store.js';
import { ChatSession, type UrlOptions } from './chat-session.svelte.js';
import { displayNames } from './display-names.svelte.js';
import { passwordProblem, SignInFlow } from './sign-in.svelte.js';

/** The signed-in account, as the header shows it. */
export interface Account {
  readonly username: string;
  /** Null until the server has told it (after a reload it is asked for). */
  readonly profile: UserProfile | null;
}

/** What {@link AppState} uses from the outside world; tests may replace any of it. */
export interface AppDeps {
  /** The deployment's /env (the chat server's URL). */
  loadEnv(): Promise<ClientEnv>;
  /** Opens the conversations kept for a guest's or an account's id. */
  openStore(clientId: string, owner: StoreOwner): Promise<ChatStore>;
  /** Deletes them (an account signing out). */
  deleteStore(clientId: string, owner: StoreOwner): Promise<void>;
  readonly tokens: TokenStore;
  readonly fetch?: typeof fetch;
}

/**
 * The whole tab: who is chatting (a guest, or an account with its token) and
 * the chat session for it, or the sign-in screen. The path is the source of
 * truth for the name (`/alice` chats as alice), so the back button and shared
 * links behave; tokens live in a {@link TokenStore} (localStorage), so a reload
 * and every tab of the origin find them.
 *
 * Signing out revokes the session on the server (every tab using its token
 * is closed with 4401), forgets the token and deletes the account's local
 * store (conversations, outbox): nothing stays behind on a shared machine.
 */
export class AppState {
  /** The chat of the name in the URL; null while the sign-in screen shows. */
  session = $state<ChatSession | null>(null);
  /** The account the session is signed in as; null for a guest. */
  account = $state<Account | null>(null);
  /** The sign-in screen (sign in, sign up, guest). */
  readonly gate: SignInFlow;
  /** Whether the URL has been followed yet (until then neither screen shows). */
  started = $state(false);

  readonly #deps: AppDeps;
  readonly #tokens: TokenStore;
  readonly #api: AuthApi;
  #env: Promise<ClientEnv> | null = null;
  /** The token of the current session (null: a guest, or no session). */
  #token: StoredToken | null = null;
  /** Profiles the server told this tab, by username. */
  readonly #profiles = new Map<string, UserProfile>();
  readonly #onPopState = () => this.#route(false);

  constructor(deps: Partial<AppDeps> = {}) {
    this.#deps = {
      loadEnv: deps.loadEnv ?? (() => loadEnv()),
      openStore: deps.openStore ?? openChatStore,
      deleteStore: deps.deleteStore ?? deleteChatStore,
      tokens: deps.tokens ?? new TokenStore(),
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
    };
    this.#tokens = this.#deps.tokens;
    this.#api = new AuthApi(async () => authBase((await this.#loadEnv()).SERVER), this.#deps.fetch);
    displayNames.useLookup(async (ids) => {
      const result = await this.#api.names(ids);
      return result.ok ? result.value : null;
    });
    this.gate = new SignInFlow(this.#api, {
      signedIn: (signed) => this.#signedIn(signed),
      guest: (name) => this.join(name),
      continueAs: (username) => this.continueAs(username),
    });
  }

  /** Follows the URL now and on every back/forward navigation. */
  start(): void {
    window.addEventListener('popstate', this.#onPopState);
    this.#route(true);
    this.started = true;
  }

  /** Stops following the URL and disconnects. */
  stop(): void {
    window.removeEventListener('popstate', this.#onPopState);
    this.#enter(null);
  }

  /** Chats as the guest `name` (or as the account, if this browser is signed in to it): returns the problem with the name instead, if it has one. */
  join(name: string): string | null {
    const problem = nameProblem(name);
    if (problem) return problem;
    this.#navigate(name);
    this.#route(false);
    return null;
  }

  /** A guest leaves the chat and picks another name. */
  leave(): void {
    const name = this.session?.me ?? '';
    this.#enter(null);
    history.pushState(null, '', '/');
    this.gate.show({ mode: 'guest', name, notice: null, problem: null }, this.#tokens.lastUser());
  }

  /** Chats as `username`, whose token this browser keeps. */
  continueAs(username: string): void {
    this.#navigate(username);
    this.#route(false);
  }

  /**
   * Signs out: the server revokes the session (every tab using it is closed
   * with 4401), the token is forgotten, and this account's local store is
   * deleted. The sign-in screen shows at once; the server is told meanwhile.
   */
  async signOut(): Promise<void> {
    const token = this.#token;
    if (!token) return;
    const username = token.username;
    this.#enter(null);
    history.pushState(null, '', '/');
    this.#tokens.forget(username, token.token);
    this.gate.show(
      { mode: 'sign-in', name: username, notice: sessionEndNotice('signed-out-here', username), problem: null },
      this.#tokens.lastUser(),
    );
    const shown = this.gate.shown;
    const result = await this.#api.logout(token.token);
    // AUTH_FAILED: the session had ended already (expired, or signed out elsewhere).
    if (!result.ok && result.failure.code !== 'AUTH_FAILED' && this.gate.shown === shown) {
      this.gate.notice =
        'You signed out in this browser, but the server could not be told: other devices stay signed in until the session expires.';
    }
    // Unless another tab has signed in to this account anew meanwhile (its token is kept): it still uses the store.
    if (this.#tokens.get(username) === null) await this.#deps.deleteStore(username, 'account');
  }

  /** Changes the password of the signed-in account; resolves with a problem in plain words, or null once changed. */
  async changePassword(currentPassword: string, newPassword: string): Promise<string | null> {
    const token = this.#token;
    if (!token) return 'You are not signed in.';
    if (currentPassword === '') return 'Enter your current password.';
    const problem = passwordProblem(newPassword, token.username);
    if (problem) return problem;
    const result = await this.#api.changePassword(token.token, currentPassword, newPassword);
    return result.ok ? null : explainAuthFailure(result.failure, 'change-password', token.username);
  }

  /** Sets (null: clears) the signed-in account's display name: a problem in plain words, or null once done. */
  async changeDisplayName(displayName: string | null): Promise<string | null> {
    const token = this.#token;
    if (!token) return 'Sign in to choose a display name.';
    const result = await this.#api.setDisplayName(token.token, displayName);
    if (!result.ok) return explainAuthFailure(result.failure, 'display-name', token.username);
    const profile = result.value.profile;
    this.#profiles.set(token.username, profile);
    displayNames.set(token.username, profile.displayName);
    if (this.#token === token) this.account = { username: token.username, profile };
    return null;
  }

  #signedIn(signed: SignedIn): void {
    const token: StoredToken = { username: signed.user.username, token: signed.token, expiresAt: signed.expiresAt };
    this.#tokens.save(token);
    this.#profiles.set(token.username, signed.user.profile);
    displayNames.set(token.username, signed.user.profile.displayName);
    this.#navigate(token.username);
    this.#go({ kind: 'chat', id: token.username, token });
  }

  /** Puts `id` in the URL (a new history entry) unless it is there already. */
  #navigate(id: string): void {
    const path = pathForId(id);
    if (location.pathname !== path) history.pushState(null, '', path);
  }

  /** Goes where the URL says; `atStart` (a page load) lets `/` continue as the account signed in last. */
  #route(atStart: boolean): void {
    const id = idFromPath(location.pathname);
    const entry = entryFor(id, this.#tokens, { continueLast: atStart });
    if (entry.kind === 'chat' && id === null) history.replaceState(null, '', pathForId(entry.id));
    this.#go(entry);
  }

  #go(entry: Entry): void {
    if (entry.kind === 'chat') return this.#enter(entry.id, entry.token);
    this.#enter(null);
    this.gate.show(entry, this.#tokens.lastUser());
  }

  /** Chats as `id` (with `token`, or as a guest); null: no chat. Nothing changes when that is the chat already. */
  #enter(id: string | null, token: StoredToken | null = null): void {
    if (this.session !== null && this.session.me === id && this.#token?.token === token?.token) return;
    this.session?.stop();
    this.#token = token;
    this.account = id !== null && token !== null ? { username: id, profile: this.#profiles.get(id) ?? null } : null;
    if (id === null) {
      this.session = null;
      return;
    }
    const owner: StoreOwner = token ? 'account' : 'guest';
    const session: ChatSession = new ChatSession(
      id,
      (options) => this.#serverUrl(session, token, options),
      () => this.#deps.openStore(id, owner),
      {
        token: token?.token ?? null,
        onAuthEnded: (ending) => this.#authEnded(session, ending),
        fileServer: async () => fileServerBase((await this.#loadEnv()).SERVER),
      },
    );
    this.session = session;
    session.start();
    if (token && !this.#profiles.has(id)) void this.#loadProfile(token);
  }

  /** The server refused or ended `session` for want of a valid token (4401). */
  #authEnded(session: ChatSession, ending: AuthEnding): void {
    if (this.session !== session) return;
    this.#go(entryAfterAuthEnded(session.me, this.#token, ending, this.#tokens, Date.now()));
  }

  /** Asks the server for the account's profile (the header shows it). */
  async #loadProfile(token: StoredToken): Promise<void> {
    const result = await this.#api.me(token.token);
    // A refused token is the socket's to report (it closes with 4401).
    if (!result.ok) return;
    this.#profiles.set(token.username, result.value.profile);
    displayNames.set(token.username, result.value.profile.displayName);
    if (this.#token === token) this.account = { username: token.username, profile: result.value.profile };
  }

  #loadEnv(): Promise<ClientEnv> {
    const env = (this.#env ??= this.#deps.loadEnv());
    // Ask again next time if it failed: the client app may be restarting.
    env.catch(() => {
      if (this.#env === env) this.#env = null;
    });
    return env;
  }

  /** The socket URL for the next attempt of `session`. */
  async #serverUrl(session: ChatSession, token: StoredToken | null, options: UrlOptions): Promise<string> {
    // Another tab signed out (or in again) since: never reconnect with a token this browser let go.
    if (token !== null && this.#tokens.get(token.username)?.token !== token.token) {
      queueMicrotask(() => this.#authEnded(session, { error: null, reason: 'signed out' }));
      throw new Error('signed out in another tab');
    }
    return socketUrl((await this.#loadEnv()).SERVER, session.me, { resume: true, takeover: options.takeover });
  }
}
