/**
 * HTML from template literals in which every interpolated value is escaped unless it is already {@link SafeHtml}
 * (another `html` result, or {@link trusted} markup such as a chart's SVG). Escaping also writes `/` as `&#47;`, so
 * text from the data never forms a URL in the markup.
 */

/** Markup that is safe to emit as is. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '/': '&#47;' };

/** Text made safe for element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'/]/g, (c) => ESCAPES[c]);
}

/** What may be interpolated: SafeHtml as is, arrays joined, null/undefined/false as nothing, the rest as escaped text. */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return (value as readonly HtmlValue[]).map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/** Tagged template: html`<td>${name}</td>` escapes `name`. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new SafeHtml(out);
}

/** Markup made by code that escapes its own text (charts rendered by vega). */
export function trusted(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/** A number for a table: integers as they are, others to 4 significant digits; absent or non-finite as `-`. */
export function figure(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  return Number.isInteger(value) ? String(value) : Number(value.toPrecision(4)).toString();
}
