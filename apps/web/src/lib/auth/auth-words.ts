import { nameProblem } from '../name-words.js';
import type { AuthFailure } from './auth-api.js';

/** What the person was doing when a request failed. */
export type AuthAction = 'sign-in' | 'sign-up' | 'change-password' | 'display-name';

/** A field of the sign-in and sign-up forms an error can be about. */
export type AuthField = 'username' | 'password' | 'displayName' | 'profile';

/**
 * The field a refusal is about, so that the form shows it there; null for
 * one about the attempt as a whole (the network, too many attempts). A failed
 * sign-in never says whether the name or the password was wrong: the
 * password field, where the person types next.
 */
export function fieldOfFailure(code: AuthFailure['code'], action: AuthAction): AuthField | null {
  switch (code) {
    case 'USERNAME_TAKEN':
    case 'INVALID_CLIENT_ID':
      return 'username';
    case 'WEAK_PASSWORD':
    case 'WRONG_PASSWORD':
      return 'password';
    case 'AUTH_FAILED':
      return action === 'sign-in' ? 'password' : null;
    default:
      return null;
  }
}

/** "30 seconds", "a minute", "15 minutes", "2 hours": a wait rounded up. */
export function formatWait(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds));
  if (s === 1) return 'a second';
  if (s < 60) return `${s} seconds`;
  const minutes = Math.ceil(s / 60);
  if (minutes === 1) return 'a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.ceil(minutes / 60);
  return hours === 1 ? 'an hour' : `${hours} hours`;
}

/** Why a sign-in, a sign-up or a password change failed, in plain words. */
export function explainAuthFailure(failure: AuthFailure, action: AuthAction, username: string): string {
  switch (failure.code) {
    case 'AUTH_FAILED':
      // The server never says whether the name or the password was wrong; neither do we.
      if (action === 'change-password') return 'You are no longer signed in. Sign in again, then change the password.';
      if (action === 'display-name') return 'You are no longer signed in. Sign in again, then choose the name.';
      return 'Wrong username or password.';
    case 'USERNAME_TAKEN':
      return `The name “${username}” is taken. If it is yours, sign in instead; otherwise pick another name.`;
    case 'WEAK_PASSWORD':
      return `${capitalize(failure.message)}.`;
    case 'INVALID_CLIENT_ID':
      // The server's words are about an id; ours are about the person's name, and say what is allowed.
      return (
        nameProblem(username, 'username') ??
        `“${username}” cannot be used as a username: ${failure.message.replace(/^invalid (username|client id): /, '')}.`
      );
    case 'INVALID_REQUEST':
      // The server names the field and what is wrong with it ("displayName: the name is empty").
      if (action === 'display-name')
        return `That name cannot be used: ${failure.message.replace(/^invalid request: (profile\.)?displayName: /, '')}.`;
      return `That did not work (${failure.message}). Try again.`;
    case 'WRONG_PASSWORD':
      return 'Your current password is not right.';
    case 'TOO_MANY_ATTEMPTS':
      return failure.retryAfterSeconds === null
        ? 'Too many attempts. Wait a while, then try again.'
        : `Too many attempts. Try again in ${formatWait(failure.retryAfterSeconds)}.`;
    case 'NETWORK':
      return 'Cannot reach the chat server. Check your connection and try again.';
    case 'ORIGIN_NOT_ALLOWED':
      return 'The chat server does not accept sign-ins from this page’s address.';
    default:
      return `That did not work (${failure.message}). Try again.`;
  }
}

/** Why a chat session ended and the sign-in screen shows instead. */
export type SessionEnd = 'signed-out' | 'expired' | 'password-needed' | 'signed-out-here';

/** The line the sign-in screen shows after `end`, for the account `username`. */
export function sessionEndNotice(end: SessionEnd, username: string): string {
  switch (end) {
    case 'signed-out':
      return 'You were signed out. Sign in again to continue.';
    case 'expired':
      return 'Your session expired. Sign in again to continue.';
    case 'password-needed':
      return `“${username}” needs a password. Sign in to chat as ${username}, or continue as a guest under another name.`;
    case 'signed-out-here':
      return `You signed out. Sign in again whenever you like.`;
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
