/**
 * The progress line on stderr: one line rewritten in place (\r) while a step
 * runs, when stderr is a terminal; finished steps and notes are printed as
 * lines of their own. Without a terminal only those lines are printed.
 */
export class Status {
  readonly #tty = process.stderr.isTTY === true;
  #prefix = '';
  #live: (() => string) | null = null;
  #timer: NodeJS.Timeout | null = null;
  #shown = false;

  /** Sets the step shown at the start of the line (e.g. "run 2/5 · direct · chorus-w2"). */
  step(prefix: string): void {
    this.#prefix = prefix;
    this.#render();
  }

  /** Shows `text` after the step, refreshed four times a second from `live` when given. */
  detail(text: string | (() => string)): void {
    this.#live = typeof text === 'string' ? () => text : text;
    if (this.#tty && this.#timer === null) this.#timer = setInterval(() => this.#render(), 250).unref();
    this.#render();
  }

  /** Prints a finished line (above the progress line). */
  log(line: string): void {
    this.#clear();
    process.stderr.write(`${line}\n`);
    this.#render();
  }

  /** Removes the progress line and stops refreshing it. */
  done(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#live = null;
    this.#clear();
  }

  #render(): void {
    if (!this.#tty) return;
    const detail = this.#live?.() ?? '';
    const line = detail ? `${this.#prefix} · ${detail}` : this.#prefix;
    const width = process.stderr.columns ?? 120;
    process.stderr.write(`\r${line.slice(0, width - 1)}\x1b[K`);
    this.#shown = true;
  }

  #clear(): void {
    if (this.#tty && this.#shown) process.stderr.write('\r\x1b[K');
    this.#shown = false;
  }
}
