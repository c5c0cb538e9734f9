/**
 * A model's identity for style files: a 64-bit hash of its configuration and every parameter's name,
 * shape and float bits, as 16 hex digits. The same weights give the same identity in Node and in the
 * browser (plain TypeScript, no crypto API), so a style tuned for one model is recognised elsewhere.
 * It tells models apart; it is not meant to resist deliberate collisions.
 */
import type { SequenceModel } from '../models/model.js';

export function modelIdentity(model: SequenceModel): string {
  // two independent 32-bit FNV-1a style streams over 32-bit words
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ 0x5bd1e995;
  const word = (w: number) => {
    h1 = Math.imul(h1 ^ w, 0x01000193);
    h2 = Math.imul(h2 ^ w, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  };
  const text = (s: string) => {
    for (let i = 0; i < s.length; i++) word(s.charCodeAt(i));
  };
  text(JSON.stringify(model.config));
  for (const p of model.parameters()) {
    text(p.name);
    for (const d of p.shape) word(d);
    const bits = new Uint32Array(p.data.buffer, p.data.byteOffset, p.data.length);
    for (let i = 0; i < bits.length; i++) word(bits[i]);
  }
  const hex = (x: number) => (x >>> 0).toString(16).padStart(8, '0');
  return hex(h1) + hex(h2);
}
