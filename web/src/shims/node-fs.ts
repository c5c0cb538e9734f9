/**
 * Stand-in for node:fs in the page bundle. The toolkit's MIDI reader imports it for readMidiFile; the
 * page only calls midiToRoll on bytes it already has, so these are never reached.
 */
function unavailable(name: string): never {
  throw new Error(`${name} is not available in the browser`);
}
export const readFileSync = (): never => unavailable('readFileSync');
export const statSync = (): never => unavailable('statSync');
export default { readFileSync, statSync };
