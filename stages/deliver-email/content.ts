import { readFileSync } from 'node:fs';
import { Liquid, type Template } from 'liquidjs';
import type { OutgoingMessage } from '../../pipeline/delivery/contract.ts';
import { unsubscribeUrl } from '../../pipeline/feedback/index.ts';

/**
 * An e-mail's content: subject, HTML and text rendered from the Liquid templates beside this file (HTML
 * output escaped, text output verbatim), and the RFC 8058 one-click unsubscribe headers pointing at the
 * facade with a signed link. Templates are parsed once per process.
 */

export interface EmailContent {
  subject: string;
  html: string;
  text: string;
  /** Extra headers, in order: List-Unsubscribe, List-Unsubscribe-Post. */
  headers: { name: string; value: string }[];
}

export interface ContentOptions {
  publicUrl: string;
  unsubscribeSecret: string;
}

const templatesDir = new URL('./templates/', import.meta.url);
const load = (engine: Liquid, name: string): Template[] =>
  engine.parse(readFileSync(new URL(name, templatesDir), 'utf8'));

const htmlEngine = new Liquid({ outputEscape: 'escape', strictFilters: true });
const textEngine = new Liquid({ strictFilters: true });
let templates: { html: Template[]; text: Template[] } | undefined;

const defaultSubject = 'You have a new message';

export function renderEmail(message: OutgoingMessage, options: ContentOptions): EmailContent {
  templates ??= { html: load(htmlEngine, 'message.html.liquid'), text: load(textEngine, 'message.txt.liquid') };
  const { batch, recipient } = message;
  const subject = oneLine(message.subject ?? firstLine(message.text) ?? defaultSubject);
  const link = unsubscribeUrl(options.publicUrl, options.unsubscribeSecret, { uid: recipient.uid, tid: batch.tid });
  const scope = {
    subject,
    paragraphs: paragraphsOf(message.text),
    thread: batch.tid,
    locale: recipient.locale ?? 'en',
    unsubscribeUrl: link,
  };
  return {
    subject,
    html: htmlEngine.renderSync(templates.html, scope) as string,
    text: textEngine.renderSync(templates.text, scope) as string,
    headers: [
      { name: 'List-Unsubscribe', value: `<${link}>` },
      { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' },
    ],
  };
}

function paragraphsOf(text: string | null): string[] {
  if (!text) return [];
  return text
    .split(/\r?\n\s*\r?\n/)
    .map((paragraph) => paragraph.trim())
    .filter(Boolean);
}

function firstLine(text: string | null): string | null {
  const line = text?.split('\n', 1)[0]?.trim();
  return line ? line.slice(0, 78) : null;
}

/** A header must not carry line breaks (they would start a new header). */
function oneLine(value: string): string {
  return value.replace(/[\r\n]+/g, ' ').trim() || defaultSubject;
}
