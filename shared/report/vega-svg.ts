/**
 * Vega-Lite specs rendered to SVG in Node, without a browser: compiled with vega-lite, run by a headless vega View
 * (`renderer: 'none'`) and serialised with `toSVG()`. The markup is meant to be inlined in an HTML5 document.
 */
import { createHash } from 'node:crypto';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Settings every chart of a report shares (font, background, no per-item ARIA text). */
export const CHART_CONFIG = {
  font: 'system-ui, sans-serif',
  background: 'white',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' },
  legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' },
} as const;

/**
 * Renders a Vega-Lite spec with inline data to SVG markup for inlining in HTML5:
 * - the `xmlns` and `xmlns:xlink` attributes are removed (inline SVG needs none), and any `://` (which only text from
 *   the data could hold) is written `:&#47;&#47;`, which displays the same: the markup contains no URL at all;
 * - coordinates are rounded to 0.01 px (a scatter's markup is a sixth smaller);
 * - element ids (gradients, clip paths) get a prefix made from the markup, so that several charts can share a page.
 * Text from the data is escaped by vega.
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const { spec: vg } = compile({ config: CHART_CONFIG, ...spec });
  const view = new View(parse(vg), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    const inline = svg
      .replace(/ xmlns(:xlink)?="[^"]*"/g, '')
      .replace(/ (d|transform)="[^"]*"/g, (attribute) => attribute.replace(/(\.\d\d)\d+/g, '$1'))
      .replaceAll('://', ':&#47;&#47;');
    // Vega numbers its gradients and clip paths from 0 in every chart: scope them to this markup.
    const scope = `v${createHash('sha256').update(inline).digest('hex').slice(0, 8)}-`;
    return inline.replace(/ id="([^"]+)"/g, ` id="${scope}$1"`).replace(/url\(#([^)]+)\)/g, `url(#${scope}$1)`);
  } finally {
    view.finalize();
  }
}
