import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parseMidi } from 'midi-file';
import { Rng } from '../src/engine/random.js';
import { UserError } from '../src/errors.js';
import type { Frame, PianoRoll } from '../src/data/pianoroll.js';
import { midiToRoll } from '../src/midi/read.js';
import { readMidiFile } from '../src/midi/read-file.js';
import { rollToMidi } from '../src/midi/write.js';

const fixtures = fileURLToPath(new URL('../../test/fixtures/midi/', import.meta.url));

/** A random roll with sustained notes: each key flips on or off with a small probability per frame. */
function randomRoll(rng: Rng, T: number, timing: PianoRoll['timing']): PianoRoll {
  const down = new Set<number>();
  const frames: Frame[] = [];
  for (let t = 0; t < T; t++) {
    for (let note = 21; note <= 108; note++) {
      if (rng.next() < 0.02) {
        if (down.has(note)) down.delete(note);
        else down.add(note);
      }
    }
    frames.push([...down].sort((a, b) => a - b));
  }
  // Silence after the last note is not written to MIDI, so the last frame must sound for the length to survive.
  if (frames[T - 1].length === 0) frames[T - 1].push(60);
  return { frames, timing };
}

test('roll -> MIDI -> roll is exact on the grid', () => {
  const rng = new Rng(7);
  for (const [spq, bpm] of [[2, 120], [4, 96], [1, 72.5], [3, 140]] as const) {
    const roll = randomRoll(rng, 120, { kind: 'grid', stepsPerQuarter: spq, bpm });
    const back = midiToRoll(rollToMidi(roll), { stepsPerQuarter: spq });
    assert.deepEqual(back.roll.frames, roll.frames, `spq ${spq}`);
    assert.deepEqual(back.roll.timing, roll.timing);
    assert.equal(back.dropped, 0);
  }
});

test('roll -> MIDI -> roll is exact with fixed-second frames', () => {
  const rng = new Rng(8);
  for (const seconds of [0.3, 0.25, 1 / 3, 0.05]) {
    const roll = randomRoll(rng, 100, { kind: 'seconds', frameSeconds: seconds });
    const back = midiToRoll(rollToMidi(roll), { frameSeconds: seconds });
    assert.deepEqual(back.roll.frames, roll.frames, `frame ${seconds} s`);
  }
});

test('the written file: one note per run of frames, tempo and ticks for the frame length, piano, velocity', () => {
  const roll: PianoRoll = { frames: [[60], [60], [], [60, 64]], timing: { kind: 'seconds', frameSeconds: 0.3 } };
  const midi = parseMidi(rollToMidi(roll, { velocity: 64 }));
  const ppq = midi.header.ticksPerBeat!;
  const tempo = midi.tracks.flat().find((e) => e.type === 'setTempo');
  assert.ok(tempo && tempo.type === 'setTempo');
  let tick = 0;
  const ons: { key: number; tick: number; velocity: number }[] = [];
  const offs: { key: number; tick: number }[] = [];
  for (const e of midi.tracks[1]) {
    tick += e.deltaTime;
    if (e.type === 'noteOn') ons.push({ key: e.noteNumber, tick, velocity: e.velocity });
    if (e.type === 'noteOff') offs.push({ key: e.noteNumber, tick });
    if (e.type === 'programChange') assert.equal(e.programNumber, 0);
  }
  assert.equal(ons.length, 3); // 60 for frames 0-1, 60 and 64 in frame 3
  assert.ok(ons.every((n) => n.velocity === 64));
  // Seconds per frame = (ticks of the first note) / ppq * tempo: exactly 0.3 s.
  const firstOff = offs.find((o) => o.key === 60)!;
  const secondsPerFrame = (firstOff.tick / 2 / ppq) * (tempo.microsecondsPerBeat / 1e6);
  assert.ok(Math.abs(secondsPerFrame - 0.3) < 1e-9, `frame lasts ${secondsPerFrame} s`);

  const grid = parseMidi(rollToMidi({ frames: [[60]], timing: { kind: 'grid', stepsPerQuarter: 2, bpm: 100 } }, { program: 5 }));
  const gridTempo = grid.tracks.flat().find((e) => e.type === 'setTempo');
  assert.ok(gridTempo && gridTempo.type === 'setTempo' && gridTempo.microsecondsPerBeat === 600000);
  assert.ok(grid.tracks[1].some((e) => e.type === 'programChange' && e.programNumber === 5));
  assert.ok(grid.tracks[1].some((e) => e.type === 'noteOn' && e.velocity === 90));
  assert.throws(() => rollToMidi({ frames: [[60]], timing: roll.timing }, { velocity: 0 }), /velocity/);
});

test('import: tracks merged, drums and out-of-range notes left out, short notes get one frame, tempo changes followed', () => {
  const file = join(fixtures, 'tempo-change.mid');
  const grid = readMidiFile(file);
  // ppq 96, 2 steps per quarter: C4 ticks 0-96, G4 ticks 96-101 (shorter than a frame), E4 ticks 192-384.
  assert.deepEqual(grid.roll.frames, [[60], [60], [67], [], [64], [64], [64], [64]]);
  assert.deepEqual(grid.roll.timing, { kind: 'grid', stepsPerQuarter: 2, bpm: 120 });
  assert.equal(grid.dropped, 1);
  assert.equal(grid.drumNotes, 1);
  assert.equal(grid.notes, 3);
  assert.equal(grid.tempoChanges, 1);
  // In seconds: 120 bpm until tick 192 (1.0 s), then 240 bpm, so E4 lasts 0.5 s = 2 frames of 0.25 s.
  const secs = readMidiFile(file, { frameSeconds: 0.25 });
  assert.deepEqual(secs.roll.frames, [[60], [60], [67], [], [64], [64]]);
  assert.deepEqual(secs.roll.timing, { kind: 'seconds', frameSeconds: 0.25 });
});

test('leading silence is kept by default and dropped on request', () => {
  const roll: PianoRoll = { frames: [[], [], [], [62], [62, 65]], timing: { kind: 'grid', stepsPerQuarter: 2, bpm: 120 } };
  const bytes = rollToMidi(roll);
  assert.deepEqual(midiToRoll(bytes).roll.frames, roll.frames);
  assert.deepEqual(midiToRoll(bytes, { trimLeadingSilence: true }).roll.frames, [[62], [62, 65]]);
});

test('each bad MIDI file gives one clear UserError naming the file', () => {
  const expected: Record<string, RegExp> = {
    'empty.mid': /empty file/,
    'not-midi.mid': /not a MIDI file/,
    'truncated.mid': /truncated file: track 2 declares \d+ bytes but only \d+ remain/,
    'too-many-tracks.mid': /header declares 3 tracks but the file holds 1/,
    'zero-tempo.mid': /absurd tempo \(0 microseconds per quarter note/,
    'fast-tempo.mid': /absurd tempo \(100 microseconds per quarter note/,
    'huge-delta.mid': /piece would be \d+ frames long, more than the limit of 20000/,
    'no-notes.mid': /: no notes$/,
    'drums-only.mid': /no notes outside the drum channel \(2 drum notes\)/,
    'out-of-range.mid': /no notes in the piano range 21\.\.108 \(2 dropped\)/,
    'smpte.mid': /SMPTE time code timing is not supported/,
    'bad-event.mid': /not a valid MIDI file/,
  };
  for (const [name, pattern] of Object.entries(expected)) {
    const path = join(fixtures, name);
    assert.throws(
      () => readMidiFile(path),
      (err: unknown) => err instanceof UserError && err.message.startsWith(`${path}: `) && pattern.test(err.message) && !err.message.includes('\n'),
      name,
    );
  }
  assert.throws(() => readMidiFile(join(fixtures, 'missing.mid')), /missing\.mid: cannot read file \(ENOENT\)/);
  assert.throws(() => readMidiFile(join(fixtures, 'tempo-change.mid'), { maxFrames: 4 }), /8 frames long, more than the limit of 4/);
});
