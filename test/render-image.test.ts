import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PianoRoll } from '../src/data/pianoroll.js';
import { rollToSvg } from '../src/render/pianoroll-image.js';
import { rasterize, svgToPng } from '../src/render/png.js';

const timing = { kind: 'grid', stepsPerQuarter: 2, bpm: 120 } as const;
// Primer: a held C major chord (frames 0-3); then a G below middle C held 2 frames and a high E.
const roll: PianoRoll = { frames: [[60, 64, 67], [60, 64, 67], [60, 64, 67], [60, 64, 67], [55], [55, 76], [], [76]], timing };

function rects(svg: string, fill: string): { x: number; y: number; w: number; h: number }[] {
  const out = [];
  for (const m of svg.matchAll(/<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="([^"]+)"/g))
    if (m[5] === fill) out.push({ x: +m[1], y: +m[2], w: +m[3], h: +m[4] });
  return out;
}

test('the SVG piano roll has one bar per held note, C lines with labels and a shaded primer', () => {
  const svg = rollToSvg(roll, { primerLength: 4, title: 'toy <sample> & co', frameWidth: 10, keyHeight: 8 });
  assert.ok(svg.startsWith('<svg'));
  const primerNotes = rects(svg, '#7d7f86');
  const generated = rects(svg, '#2f6fd1');
  assert.equal(primerNotes.length, 3);
  assert.equal(generated.length, 3); // 55 (2 frames), 76 (frame 5), 76 (frame 7)
  for (const r of primerNotes) assert.equal(r.w, 4 * 10 - 1);
  const g = generated.find((r) => r.w === 2 * 10 - 1);
  assert.ok(g, 'the held G is one 2-frame bar');
  // Pitch grows upwards: the high E sits above the G.
  const e = generated.filter((r) => r.w === 9);
  assert.equal(e.length, 2);
  assert.ok(e[0].y < g.y);
  assert.equal(g.y - e[0].y, (76 - 55) * 8);
  // Range C3..B5 (whole octaves, at least three): labels C3, C4, C5.
  for (const label of ['C3', 'C4', 'C5']) assert.ok(svg.includes(`>${label}</text>`), label);
  assert.ok(!svg.includes('>C6<') && !svg.includes('>C2<'));
  assert.equal(rects(svg, '#fdf0c8').length, 1);
  assert.ok(svg.includes('toy &lt;sample&gt; &amp; co'));
  assert.equal(rects(rollToSvg(roll), '#fdf0c8').length, 0, 'no primer, no shading');
});

test('the PNG is the SVG rasterised: right size, notes coloured where the SVG puts them', () => {
  const svg = rollToSvg(roll, { primerLength: 4, frameWidth: 10, keyHeight: 8 });
  const png = svgToPng(svg);
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
  const view = new DataView(png.buffer, png.byteOffset);
  const [w, h] = svg.match(/width="(\d+)" height="(\d+)"/)!.slice(1).map(Number);
  assert.equal(String.fromCharCode(...png.subarray(12, 16)), 'IHDR');
  assert.equal(view.getUint32(16), w);
  assert.equal(view.getUint32(20), h);

  const img = rasterize(svg);
  const at = (x: number, y: number) => {
    const o = (Math.round(y) * img.width + Math.round(x)) * 4;
    return [img.pixels[o], img.pixels[o + 1], img.pixels[o + 2]];
  };
  const center = (r: { x: number; y: number; w: number; h: number }) => at(r.x + r.w / 2, r.y + r.h / 2);
  const [r1, g1, b1] = center(rects(svg, '#2f6fd1')[0]);
  assert.ok(b1 > 150 && r1 < 100 && g1 < 150, `generated note pixel ${[r1, g1, b1]}`);
  const [r2, g2, b2] = center(rects(svg, '#7d7f86')[0]);
  assert.ok(Math.abs(r2 - b2) < 20 && r2 > 90 && r2 < 160 && g2 > 90, `primer note pixel ${[r2, g2, b2]}`);
  assert.deepEqual(at(2, 2), [255, 255, 255]);
});
