import { Resvg } from '@resvg/resvg-js';

export interface Raster {
  width: number;
  height: number;
  /** RGBA, row-major, 4 bytes per pixel. */
  pixels: Uint8Array;
}

function render(svg: string) {
  return new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, background: '#ffffff' }).render();
}

/** Rasterises an SVG document at its own size (text uses the system's fonts). */
export function rasterize(svg: string): Raster {
  const image = render(svg);
  return { width: image.width, height: image.height, pixels: new Uint8Array(image.pixels) };
}

/** Rasterises an SVG document to PNG bytes at its own size. */
export function svgToPng(svg: string): Uint8Array {
  return new Uint8Array(render(svg).asPng());
}
