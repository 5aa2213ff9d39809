import type { Codec, ProtocolName } from './codec.js';
import type { OutEvent } from './events.js';
import type { OutFrame } from './session.js';

/** Renders one event at most once per protocol, however many sessions it goes to. */
export class FrameCache {
  readonly #event: OutEvent;
  #text: string | null | undefined;
  #json: OutFrame | null | undefined;

  /** `json`: the event's chorus.v1 frame when it is already rendered (a message from another worker). */
  constructor(event: OutEvent, json?: OutFrame) {
    this.#event = event;
    this.#json = json;
  }

  frameFor(codec: Codec): OutFrame | null {
    const name: ProtocolName = codec.name;
    if (name === 'text') return this.#text === undefined ? (this.#text = codec.encode(this.#event)) : this.#text;
    return this.#json === undefined ? (this.#json = codec.encode(this.#event)) : this.#json;
  }
}
