// What the factory page's features share: the factory's logs (as last read) and how to name them.
import { h, short } from '../../dom.js';
import { errorText } from '../../api.js';

/** The factory's logs, as last read by start() (index.js). */
export const state = { logs: [] };

/** A log's stream name, or its id when the log is not (yet) known. */
export const streamOf = (logId) => state.logs.find((l) => l.log_id === logId)?.stream ?? logId;

/** A counterparty: its party name with the address beside it, or just the address. */
export const party = (name, address) => (name ? h('span', { title: address }, h('b', {}, name), ' ', short(address, 6)) : short(address, 6));

/** Renders `box` with `render`; a failure becomes a line in `box` saying what could not be read. */
export function refresh(box, render, what) {
  return render(box).catch((e) => box.replaceChildren(h('p', { class: 'error', role: 'alert' },
    `${what} could not be read: ${errorText(e)}`)));
}
