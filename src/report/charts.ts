import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { Resvg } from '@resvg/resvg-js';

/** One point of a loss curve: a model's loss on a split after some amount of training. */
export interface CurvePoint {
  model: string;
  epoch: number;
  nll: number;
}

export interface RenderedChart {
  svg: string;
  png: Uint8Array;
}

const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';

/** A line chart of loss curves, one line per model, as SVG and PNG (vega-lite rendered headless, rasterised by resvg). */
export async function renderLossChart(title: string, points: CurvePoint[], yTitle = 'NLL (nats/frame)'): Promise<RenderedChart> {
  if (points.length === 0) throw new Error(`no data points for the chart "${title}"`);
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 520,
    height: 280,
    background: 'white',
    title,
    data: { values: points },
    mark: { type: 'line', point: { size: 30 } },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } },
      y: { field: 'nll', type: 'quantitative', title: yTitle, scale: { zero: false } },
      color: { field: 'model', type: 'nominal', title: 'model', scale: { range: ['#d1495b', '#2e86ab', '#66a182', '#edae49'] } },
    },
    config: { font: FONT, title: { fontSize: 15 }, axis: { labelFontSize: 12, titleFontSize: 13 } },
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } })
    .render()
    .asPng();
  return { svg, png };
}
