import type { AuthField } from '../../auth/auth-words.js';

/** What the sign-in and the sign-up form both get from the sign-in screen. */
export interface AuthFormProps {
  /** The username typed (shared with the other tabs of the sign-in screen). */
  name: string;
  /** Why the last attempt failed, in plain words. */
  error: string | null;
  /** The field the error is about (shown there, the field marked); null: the form as a whole. */
  errorField: AuthField | null;
  busy: boolean;
  /** Something was typed: the last error no longer applies. */
  onEdit: () => void;
}
