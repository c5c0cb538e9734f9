/**
 * @tonejs/midi is a CommonJS package that the toolkit imports as Node does (its default export is
 * module.exports). The bundler is pointed here so the page gets the same shape.
 */
import * as tonejsMidi from '@tonejs/midi/dist/Midi.js';
export default tonejsMidi;
export * from '@tonejs/midi/dist/Midi.js';
