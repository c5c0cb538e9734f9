import { parseMidi, type MidiData } from 'midi-file';
import { UserError } from '../errors.js';
import { HIGHEST_NOTE, KEY_COUNT, LOWEST_NOTE, type Frame, type FrameTiming, type PianoRoll } from '../data/pianoroll.js';

/** How a MIDI file becomes frames. Give either stepsPerQuarter (tempo-aware grid) or frameSeconds. */
export interface MidiReadOptions {
  /** Frames per quarter note on the tempo-aware grid (default 2: eighth notes). */
  stepsPerQuarter?: number;
  /** Fixed frame length in seconds (e.g. 0.3); overrides stepsPerQuarter. */
  frameSeconds?: number;
  /** Refuse pieces longer than this many frames (default 20,000). */
  maxFrames?: number;
  /** Refuse files larger than this many bytes (default 8 MiB). */
  maxBytes?: number;
  /** Drop the silent frames before the first note (default false: the roll keeps the file's timing). */
  trimLeadingSilence?: boolean;
}

export interface MidiReadResult {
  roll: PianoRoll;
  /** Notes outside 21..108 that were left out. */
  dropped: number;
  /** Notes that made it into the roll. */
  notes: number;
  /** Notes on the drum channel (MIDI channel 10), which are always left out. */
  drumNotes: number;
  /** Tracks in the file, and how many of them held (non-drum) notes. */
  tracks: number;
  tracksWithNotes: number;
  /** Tempo changes after the first one. */
  tempoChanges: number;
}

export const DEFAULT_MAX_FRAMES = 20_000;
export const DEFAULT_MAX_BYTES = 8 * 1024 * 1024;
const DRUM_CHANNEL = 9;
const DEFAULT_MICROS_PER_QUARTER = 500_000; // 120 bpm, the MIDI default
/** Faster than this (microseconds per quarter, i.e. above 2,000 bpm) is taken as a corrupt tempo. */
const MIN_MICROS_PER_QUARTER = 30_000;

/** A note with times in ticks, before quantization. */
interface TickNote {
  midi: number;
  on: number;
  off: number;
}

/**
 * Converts the bytes of a standard MIDI file into a piano roll: all tracks merged except the drum
 * channel, quantized on the tempo-aware grid (stepsPerQuarter) or on fixed frames (frameSeconds).
 * A note covers frames round(start) .. round(end) - 1 and at least one frame; notes outside 21..108
 * are dropped and counted. `label` names the file in error messages.
 */
export function midiToRoll(bytes: Uint8Array, options: MidiReadOptions = {}, label = 'MIDI data'): MidiReadResult {
  const fail = (what: string): never => {
    throw new UserError(`${label}: ${what}`);
  };
  const timing = checkOptions(options);
  const maxFrames = options.maxFrames ?? DEFAULT_MAX_FRAMES;
  const { ppq, declaredTracks } = checkStructure(bytes, fail);

  let data: MidiData;
  try {
    data = parseMidi(bytes);
  } catch (err) {
    // The parser throws plain strings.
    return fail(`not a valid MIDI file (${err instanceof Error ? err.message : String(err)})`);
  }
  if (data.tracks.length !== declaredTracks) fail(`header declares ${declaredTracks} tracks but the parser found ${data.tracks.length}`);

  // One pass over every track: absolute ticks, tempo map, note on/off pairing (first in, first out per channel and key).
  const tempos: { tick: number; micros: number }[] = [];
  const notes: TickNote[] = [];
  let drumNotes = 0;
  let tracksWithNotes = 0;
  data.tracks.forEach((events, trackIndex) => {
    const open = new Map<number, number[]>(); // channel * 128 + key -> start ticks of sounding notes
    let tick = 0;
    let trackNotes = 0;
    for (const event of events) {
      const delta = event.deltaTime;
      if (!Number.isInteger(delta) || delta < 0 || delta > 0x0fffffff) fail(`track ${trackIndex + 1}: invalid delta time ${delta}`);
      tick += delta;
      if (event.type === 'setTempo') {
        const micros = event.microsecondsPerBeat;
        if (!Number.isInteger(micros) || micros < MIN_MICROS_PER_QUARTER) {
          fail(`track ${trackIndex + 1}: absurd tempo (${micros} microseconds per quarter note, i.e. ${micros > 0 ? Math.round(60e6 / micros) : 'infinite'} bpm)`);
        }
        tempos.push({ tick, micros });
      } else if (event.type === 'noteOn' || event.type === 'noteOff') {
        const key = event.noteNumber;
        if (!Number.isInteger(key) || key < 0 || key > 127 || !Number.isInteger(event.velocity)) fail(`track ${trackIndex + 1}: malformed note event at tick ${tick}`);
        if (event.channel === DRUM_CHANNEL) {
          if (event.type === 'noteOn') drumNotes++;
          continue;
        }
        const id = event.channel * 128 + key;
        if (event.type === 'noteOn') {
          let starts = open.get(id);
          if (!starts) open.set(id, (starts = []));
          starts.push(tick);
        } else {
          const starts = open.get(id);
          const on = starts?.shift();
          if (on !== undefined) {
            notes.push({ midi: key, on, off: tick });
            trackNotes++;
          }
        }
      }
    }
    // Notes never released end with their track.
    for (const [id, starts] of open) for (const on of starts) {
      notes.push({ midi: id % 128, on, off: tick });
      trackNotes++;
    }
    if (trackNotes > 0) tracksWithNotes++;
  });

  if (notes.length === 0) fail(drumNotes > 0 ? `no notes outside the drum channel (${drumNotes} drum notes)` : 'no notes');

  tempos.sort((a, b) => a.tick - b.tick);
  const toFrame = frameMapper(timing, ppq, tempos);
  let lastOff = 0;
  for (const n of notes) if (n.off > lastOff) lastOff = n.off;
  const T = Math.max(1, Math.round(toFrame(lastOff)));
  if (!(T <= maxFrames)) fail(`piece would be ${Number.isFinite(T) ? T : 'infinitely many'} frames long, more than the limit of ${maxFrames} (implausible delta times or tempo, or use a coarser frame)`);

  // Per key, +1 where a note starts and -1 where it ends (a difference array): linear in notes + frames,
  // however many notes overlap.
  const edges = new Int32Array((T + 1) * KEY_COUNT);
  let dropped = 0;
  let kept = 0;
  for (const n of notes) {
    if (n.midi < LOWEST_NOTE || n.midi > HIGHEST_NOTE) {
      dropped++;
      continue;
    }
    let start = Math.round(toFrame(n.on));
    let end = Math.round(toFrame(n.off));
    if (start >= T) start = T - 1;
    if (end <= start) end = start + 1; // a note shorter than a frame still sounds for one frame
    if (end > T) end = T;
    const k = n.midi - LOWEST_NOTE;
    edges[start * KEY_COUNT + k]++;
    edges[end * KEY_COUNT + k]--;
    kept++;
  }
  if (kept === 0) fail(`no notes in the piano range ${LOWEST_NOTE}..${HIGHEST_NOTE} (${dropped} dropped)`);

  let frames: Frame[] = new Array(T);
  const sounding = new Int32Array(KEY_COUNT);
  for (let t = 0; t < T; t++) {
    const frame: Frame = [];
    for (let k = 0; k < KEY_COUNT; k++) {
      sounding[k] += edges[t * KEY_COUNT + k];
      if (sounding[k] > 0) frame.push(k + LOWEST_NOTE);
    }
    frames[t] = frame;
  }
  if (options.trimLeadingSilence) frames = frames.slice(frames.findIndex((f) => f.length > 0));
  const firstMicros = tempos.length > 0 && tempos[0].tick === 0 ? tempos[0].micros : DEFAULT_MICROS_PER_QUARTER;
  const rollTiming: FrameTiming =
    timing.kind === 'seconds' ? timing : { kind: 'grid', stepsPerQuarter: timing.stepsPerQuarter, bpm: roundBpm(60e6 / firstMicros) };
  return {
    roll: { frames, timing: rollTiming },
    dropped,
    notes: kept,
    drumNotes,
    tracks: data.tracks.length,
    tracksWithNotes,
    tempoChanges: Math.max(0, tempos.length - 1),
  };
}

function roundBpm(bpm: number): number {
  return Math.round(bpm * 1000) / 1000;
}

export type Quantization = { kind: 'grid'; stepsPerQuarter: number } | { kind: 'seconds'; frameSeconds: number };

/** Checks the reading options (frame length, frame limit); a UserError says which is wrong. */
export function checkOptions(options: MidiReadOptions): Quantization {
  const maxFrames = options.maxFrames ?? DEFAULT_MAX_FRAMES;
  if (!Number.isInteger(maxFrames) || maxFrames < 1) throw new UserError(`frame limit must be a positive integer, got ${maxFrames}`);
  if (options.frameSeconds !== undefined) {
    const s = options.frameSeconds;
    if (!(s >= 0.001 && s <= 10)) throw new UserError(`frame length must be between 0.001 and 10 seconds, got ${s}`);
    return { kind: 'seconds', frameSeconds: s };
  }
  const spq = options.stepsPerQuarter ?? 2;
  if (!Number.isInteger(spq) || spq < 1 || spq > 96) throw new UserError(`steps per quarter must be an integer in 1..96, got ${spq}`);
  return { kind: 'grid', stepsPerQuarter: spq };
}

/** Tick -> fractional frame index. Grid frames follow ticks; second frames follow the tempo map. */
function frameMapper(q: Quantization, ppq: number, tempos: { tick: number; micros: number }[]): (tick: number) => number {
  if (q.kind === 'grid') {
    const ticksPerStep = ppq / q.stepsPerQuarter;
    return (tick) => tick / ticksPerStep;
  }
  // Piecewise-linear tick -> seconds map; before the first tempo event the tempo is 120 bpm.
  const points: { tick: number; seconds: number; micros: number }[] = [{ tick: 0, seconds: 0, micros: DEFAULT_MICROS_PER_QUARTER }];
  for (const t of tempos) {
    const last = points[points.length - 1];
    const seconds = last.seconds + ((t.tick - last.tick) * last.micros) / ppq / 1e6;
    if (t.tick === last.tick) points[points.length - 1] = { tick: t.tick, seconds: last.seconds, micros: t.micros };
    else points.push({ tick: t.tick, seconds, micros: t.micros });
  }
  return (tick) => {
    let lo = 0;
    let hi = points.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (points[mid].tick <= tick) lo = mid;
      else hi = mid - 1;
    }
    const p = points[lo];
    return (p.seconds + ((tick - p.tick) * p.micros) / ppq / 1e6) / q.frameSeconds;
  };
}

/**
 * Checks the chunk layout before parsing, so that empty, foreign, truncated or inconsistent files
 * get a precise message: an MThd header of at least 6 bytes, ticks-per-quarter timing, and as many
 * complete MTrk chunks as the header declares.
 */
function checkStructure(bytes: Uint8Array, fail: (what: string) => never): { ppq: number; declaredTracks: number } {
  if (bytes.length === 0) fail('empty file');
  const id = (at: number) => String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
  if (bytes.length < 4 || id(0) !== 'MThd') fail('not a MIDI file (it does not start with "MThd")');
  if (bytes.length < 14) fail(`truncated MIDI header (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(4);
  if (headerLength < 6) fail(`bad MIDI header length ${headerLength}`);
  const format = view.getUint16(8);
  const declaredTracks = view.getUint16(10);
  const division = view.getUint16(12);
  if (format > 2) fail(`unknown MIDI format ${format}`);
  if (division & 0x8000) fail('SMPTE time code timing is not supported (only ticks per quarter note)');
  if (division === 0) fail('header gives 0 ticks per quarter note');
  if (declaredTracks === 0) fail('header declares no tracks');
  let pos = 8 + headerLength;
  let found = 0;
  while (pos < bytes.length) {
    if (bytes.length - pos < 8) fail(`truncated file: ${bytes.length - pos} stray bytes after chunk ${found + 1}`);
    const chunkId = id(pos);
    const length = view.getUint32(pos + 4);
    if (length > bytes.length - pos - 8) {
      fail(`truncated file: ${chunkId === 'MTrk' ? `track ${found + 1}` : `chunk ${JSON.stringify(chunkId)}`} declares ${length} bytes but only ${bytes.length - pos - 8} remain`);
    }
    if (chunkId === 'MTrk') found++;
    else if (!/^[\x20-\x7e]{4}$/.test(chunkId)) fail(`corrupt chunk at byte ${pos}`);
    pos += 8 + length;
  }
  if (found < declaredTracks) fail(`header declares ${declaredTracks} tracks but the file holds ${found}`);
  return { ppq: division, declaredTracks };
}
