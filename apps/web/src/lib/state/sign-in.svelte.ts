import { displayNameProblem } from '@chorus/protocol';
import type { AuthApi, AuthResult, ProfileInput, SignedIn } from '../auth/auth-api.js';
import { explainAuthFailure, fieldOfFailure, type AuthAction, type AuthField } from '../auth/auth-words.js';
import { nameProblem } from '../name-words.js';
import type { GatePrompt, SignInMode } from '../auth/start-route.js';

/** Password length bounds (Unicode code points), as the server checks them. */
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;

/** What {@link SignInFlow} does once someone is in. */
export interface SignInHooks {
  /** An account signed in (or was created): chat as it. */
  signedIn(signed: SignedIn): void;
  /** Chat as the guest `name`; returns the problem with the name instead, if it has one. */
  guest(name: string): string | null;
  /** Chat as `username`, whose token this browser keeps. */
  continueAs(username: string): void;
}

/** Why `password` cannot be chosen for `username`, checked before asking the server (which has the last word). */
export function passwordProblem(password: string, username: string): string | null {
  const length = [...password.normalize('NFC')].length;
  if (length < PASSWORD_MIN) return `The password must be at least ${PASSWORD_MIN} characters.`;
  if (length > PASSWORD_MAX) return `The password must be at most ${PASSWORD_MAX} characters.`;
  if (username !== '' && password.toLowerCase() === username.toLowerCase()) return 'The password must not be your username.';
  return null;
}

/** Why a display name cannot be used, in plain words; null when it can (or none was given). */
export function displayNameFieldProblem(displayName: string | undefined): string | null {
  const wrong = displayName === undefined ? null : displayNameProblem(displayName);
  return wrong === null ? null : `That display name cannot be used: ${wrong}.`;
}

/** Why a profile cannot be sent as typed (the server's bounds); null when it can. */
export function profileProblem(profile: ProfileInput): string | null {
  if ((profile.firstNames?.length ?? 0) > 100) return 'First names can be at most 100 characters.';
  if ((profile.lastNames?.length ?? 0) > 100) return 'Last names can be at most 100 characters.';
  if ((profile.gender?.length ?? 0) > 32) return 'Gender can be at most 32 characters.';
  if (profile.age !== undefined && !(Number.isInteger(profile.age) && profile.age >= 0 && profile.age <= 150)) {
    return 'Age must be a whole number from 0 to 150.';
  }
  return null;
}

/**
 * The sign-in screen: which tab is showing (sign in, sign up, guest), why
 * the screen shows, and the answer to the last attempt in plain words. The
 * forms own what is typed; this class checks it, asks the server, and hands
 * a signed-in account (or a guest name) to its hooks.
 */
export class SignInFlow {
  mode = $state<SignInMode>('sign-in');
  /** The name the forms start with. */
  name = $state('');
  /** Why the screen shows: signed out, session expired, a name that needs its password. */
  notice = $state<string | null>(null);
  /** What is wrong with the name in the URL (guest tab). */
  nameProblem = $state<string | null>(null);
  /** Why the last attempt failed, in plain words. */
  error = $state<string | null>(null);
  /** The field the error is about (the form shows it there and marks the field); null: the form as a whole. */
  errorField = $state<AuthField | null>(null);
  /** A request is under way (the submit buttons wait). */
  busy = $state(false);
  /** An account this browser is still signed in to, offered as a shortcut. */
  known = $state<string | null>(null);
  /** Bumped whenever the screen is shown anew, so that the forms start over. */
  shown = $state(0);

  readonly #api: AuthApi;
  readonly #hooks: SignInHooks;

  constructor(api: AuthApi, hooks: SignInHooks) {
    this.#api = api;
    this.#hooks = hooks;
  }

  /** Shows the screen as `prompt` says; `known` is an account with a valid token kept here. */
  show(prompt: GatePrompt, known: string | null): void {
    this.mode = prompt.mode;
    this.name = prompt.name;
    this.notice = prompt.notice;
    this.nameProblem = prompt.problem;
    this.known = known;
    this.#clearError();
    this.shown += 1;
  }

  /** Switches tabs (what was typed in the name field carries over). */
  choose(mode: SignInMode, name?: string): void {
    if (name !== undefined) this.name = name;
    this.mode = mode;
    this.#clearError();
  }

  /** What was typed changed: the last answer no longer applies. */
  edited(): void {
    this.#clearError();
  }

  /** Signs in; resolves true once in. */
  async signIn(username: string, password: string): Promise<boolean> {
    const name = username.trim();
    if (name === '' || password === '') {
      this.#fail('Enter your username and your password.', name === '' ? 'username' : 'password');
      return false;
    }
    return this.#attempt('sign-in', name, () => this.#api.login(name, password));
  }

  /** Creates an account and signs in; resolves true once in. */
  async signUp(username: string, password: string, profile: ProfileInput = {}): Promise<boolean> {
    const name = username.trim();
    // Each problem is shown at the field it is about.
    const problems: [string | null, AuthField][] = [
      [nameProblem(name, 'username'), 'username'],
      [passwordProblem(password, name), 'password'],
      [displayNameFieldProblem(profile.displayName), 'displayName'],
      [profileProblem(profile), 'profile'],
    ];
    const found = problems.find(([problem]) => problem !== null);
    if (found) {
      this.#fail(found[0]!, found[1]);
      return false;
    }
    return this.#attempt('sign-up', name, () => this.#api.register(name, password, profile));
  }

  /** Chats as the guest `name`; returns the problem with it instead, if it has one. */
  guest(name: string): string | null {
    return this.#hooks.guest(name.trim());
  }

  /** Continues as the account this browser is still signed in to. */
  continueKnown(): void {
    if (this.known !== null) this.#hooks.continueAs(this.known);
  }

  async #attempt(action: AuthAction, name: string, request: () => Promise<AuthResult<SignedIn>>): Promise<boolean> {
    if (this.busy) return false;
    this.busy = true;
    this.#clearError();
    try {
      const result = await request();
      if (!result.ok) {
        this.#fail(explainAuthFailure(result.failure, action, name), fieldOfFailure(result.failure.code, action));
        return false;
      }
      this.notice = null;
      this.#hooks.signedIn(result.value);
      return true;
    } finally {
      this.busy = false;
    }
  }

  #fail(text: string, field: AuthField | null): void {
    this.error = text;
    this.errorField = field;
  }

  #clearError(): void {
    this.error = null;
    this.errorField = null;
  }
}
