/** Longest reaction, in UTF-16 code units: a flag or a family emoji with modifiers fits. */
export const MAX_EMOJI_LENGTH = 32;

// One or more emoji: pictographs and regional indicators, joined by ZWJ, with
// variation selectors, skin tones and keycap marks. Letters, digits alone and
// spaces are not reactions.
const EMOJI = /^(?:[\p{Extended_Pictographic}\p{Regional_Indicator}\p{Emoji_Modifier}#*0-9]|\u{fe0f}|\u{200d}|\u{20e3})+$/u;
const PICTURE = /[\p{Extended_Pictographic}\p{Regional_Indicator}]/u;

/** Why `emoji` is not a reaction, or null when it is one. */
export function emojiProblem(emoji: string): string | null {
  if (emoji.length === 0) return 'an emoji is required';
  if (emoji.length > MAX_EMOJI_LENGTH) return `at most ${MAX_EMOJI_LENGTH} characters`;
  if (!EMOJI.test(emoji) || !PICTURE.test(emoji)) return 'not an emoji';
  return null;
}
