import type { Codec, ProtocolName } from './codec.js';
import type { OutEvent } from './events.js';

/** Renders one event at most once per protocol, however many sessions it goes to. */
export class FrameCache {
  readonly #event: OutEvent;
  #text: string | null | undefined;
  #json: string | null | undefined;

  constructor(event: OutEvent) {
    this.#event = event;
  }

  frameFor(codec: Codec): string | null {
    const name: ProtocolName = codec.name;
    if (name === 'text') return this.#text === undefined ? (this.#text = codec.encode(this.#event)) : this.#text;
    return this.#json === undefined ? (this.#json = codec.encode(this.#event)) : this.#json;
  }
}
