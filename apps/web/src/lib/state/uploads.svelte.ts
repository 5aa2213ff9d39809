import { formatSize, UploadedFile, type FileInfo, type WelcomeFrame } from '@chorus/protocol';

type Grant = NonNullable<WelcomeFrame['uploads']>;

/** Where one upload stands. `waiting`: for a connection (a ticket) to start or start again. */
export type UploadStatus = 'uploading' | 'waiting' | 'done' | 'failed';

/** One file picked, dropped or pasted into the composer. */
export interface Upload {
  readonly key: string;
  readonly name: string;
  readonly size: number;
  /** 0..1, bytes sent of the body. */
  progress: number;
  status: UploadStatus;
  /** Why it failed, in plain words. */
  error: string | null;
  /** What the server kept, once done. */
  info: FileInfo | null;
}

interface Running {
  readonly file: File;
  request: XMLHttpRequest | null;
}

/** What an upload error says to a person. */
function explain(status: number, body: unknown, grant: Grant | null): string {
  const message = (body as { message?: unknown } | null)?.message;
  if (status === 413) return typeof message === 'string' ? message : `Larger than the limit of ${formatSize(grant?.maxBytes ?? 0)}.`;
  if (typeof message === 'string') return message;
  return `The server answered ${status}.`;
}

/** Sizes as people read them (1000-based, as the text protocol writes them). */

/**
 * The files of the message being written: each uploaded at once (POST /files
 * with the connection's ticket; XMLHttpRequest, for its upload progress),
 * cancellable, and started again when a connection comes back (a ticket is
 * good only while its connection is open: an upload cut by a reconnect waits
 * for the next welcome). Sending the message takes the finished ones.
 */
export class Uploads {
  items: Upload[] = $state([]);
  /** The chat server's http(s) address once known ('' before): file links are paths on it. */
  base = $state('');
  #grant: Grant | null = null;
  readonly #running = new Map<string, Running>();
  readonly #base: () => Promise<string>;
  #next = 0;

  /** `base`: the chat server's http(s) address. */
  constructor(base: () => Promise<string>) {
    this.#base = base;
    this.#resolveBase();
  }

  /** A file link (a path on the chat server) as a URL this page can load. */
  url(path: string): string {
    return /^https?:\/\//.test(path) ? path : `${this.base}${path}`;
  }

  #resolveBase(): void {
    this.#base().then(
      (base) => (this.base = base),
      () => {},
    );
  }

  /** Whether every file is uploaded (and there is at least one). */
  get ready(): boolean {
    return this.items.length > 0 && this.items.every((u) => u.status === 'done');
  }

  /** Whether some file is still on its way. */
  get busy(): boolean {
    return this.items.some((u) => u.status === 'uploading' || u.status === 'waiting');
  }

  get maxFiles(): number {
    return this.#grant?.maxFilesPerMessage ?? 10;
  }

  /** The welcome's ticket and limits (null: this server takes no files). Waiting uploads start. */
  granted(grant: Grant | null): void {
    this.#grant = grant;
    if (grant === null) return;
    if (this.base === '') this.#resolveBase();
    for (const upload of this.items) if (upload.status === 'waiting') this.#start(upload);
  }

  /** The connection is gone: its ticket with it. Uploads on their way finish or wait for the next. */
  lost(): void {
    this.#grant = null;
  }

  add(files: Iterable<File>): void {
    for (const file of files) {
      if (this.items.length >= this.maxFiles) break;
      const upload: Upload = {
        key: `u${++this.#next}`,
        name: file.name || 'pasted',
        size: file.size,
        progress: 0,
        status: 'waiting',
        error: null,
        info: null,
      };
      this.items.push(upload);
      const proxy = this.items.at(-1)!;
      this.#running.set(upload.key, { file, request: null });
      if (this.#grant && file.size > this.#grant.maxBytes) {
        proxy.status = 'failed';
        proxy.error = `Larger than the limit of ${formatSize(this.#grant.maxBytes)}.`;
      } else if (this.#grant) this.#start(proxy);
    }
  }

  /** The finished files, as plain objects (they are kept in IndexedDB with the message). */
  finished(): FileInfo[] {
    return this.items.flatMap((u) => (u.status === 'done' && u.info ? [{ ...u.info }] : []));
  }

  /** Stops an upload (or drops a finished one from the message). */
  cancel(key: string): void {
    this.#running.get(key)?.request?.abort();
    this.#running.delete(key);
    this.items = this.items.filter((u) => u.key !== key);
  }

  /** The finished files, for a message being sent; the list starts over. */
  take(): FileInfo[] {
    const files = this.finished();
    for (const key of this.#running.keys()) this.#running.get(key)?.request?.abort();
    this.#running.clear();
    this.items = [];
    return files;
  }

  async #start(upload: Upload): Promise<void> {
    const running = this.#running.get(upload.key);
    const grant = this.#grant;
    if (!running || !grant || running.request) return;
    upload.status = 'uploading';
    upload.progress = 0;
    upload.error = null;
    const base = await this.#base();
    const request = new XMLHttpRequest();
    running.request = request;
    request.open('POST', `${base}/files`);
    request.setRequestHeader('Authorization', `Bearer ${grant.ticket}`);
    request.responseType = 'json';
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) upload.progress = event.loaded / event.total;
    };
    const settle = () => {
      running.request = null;
      if (!this.#running.has(upload.key)) return; // cancelled
      const status = request.status;
      const parsed = status === 201 ? UploadedFile.safeParse(request.response) : null;
      if (parsed?.success) {
        const { expiresAt: _expires, ...info } = parsed.data;
        upload.info = info;
        upload.progress = 1;
        upload.status = 'done';
      } else if (status === 0 || status === 401 || status === 503) {
        // Cut off, or the ticket went with the connection: again with the next one.
        upload.status = 'waiting';
        if (this.#grant && this.#grant !== grant) void this.#start(upload);
      } else {
        upload.status = 'failed';
        upload.error = explain(status, request.response, grant);
      }
    };
    request.onload = settle;
    request.onerror = settle;
    request.onabort = () => {
      running.request = null;
    };
    const form = new FormData();
    form.append('file', running.file, upload.name);
    request.send(form);
  }
}
