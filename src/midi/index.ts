export { midiToRoll, DEFAULT_MAX_FRAMES, DEFAULT_MAX_BYTES, type MidiReadOptions, type MidiReadResult } from './read.js';
export { rollToMidi, midiTimeBase, type RollToMidiOptions } from './write.js';
export { readMidiFile } from './read-file.js';
