import { z } from 'zod';
import { ConfigSchema } from './schema.js';

interface JsonSchemaNode {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchemaNode>;
  items?: JsonSchemaNode;
  additionalProperties?: JsonSchemaNode | boolean;
  anyOf?: JsonSchemaNode[];
}

function typeOf(n: JsonSchemaNode): string {
  if (n.enum) return n.enum.map(v => `\`${String(v)}\``).join(' \\| ');
  if (n.anyOf) return n.anyOf.map(typeOf).join(' \\| ');
  const t = Array.isArray(n.type) ? n.type.join(' \\| ') : (n.type ?? 'any');
  if (t === 'string | number' || t === 'string \\| number') return 'duration';
  if (t === 'array') return `${n.items ? typeOf(n.items) : 'any'}[]`;
  if (t === 'object' && n.additionalProperties && typeof n.additionalProperties === 'object')
    return `map of ${typeOf(n.additionalProperties)}`;
  return t;
}

function defaultOf(n: JsonSchemaNode): string {
  if (n.default === undefined) {
    const m = /Default: ([^ ]+) \(× time\.scale\)/.exec(n.description ?? '');
    return m?.[1] ? `\`${m[1]}\`` : '';
  }
  if (typeof n.default === 'object' && n.default !== null && Object.keys(n.default).length === 0) return '';
  return `\`${JSON.stringify(n.default)}\``;
}

function rows(node: JsonSchemaNode, prefix: string, out: string[]): void {
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (child.properties) {
      rows(child, path, out);
      continue;
    }
    if (child.type === 'array' && child.items?.properties) {
      out.push(
        `| \`${path}\` | list | ${defaultOf(child)} | ${(child.description ?? '').replace(/\|/g, '\\|')} |`,
      );
      rows(child.items, `${path}[]`, out);
      continue;
    }
    const description = (child.description ?? '')
      .replace(/ Default: [^ ]+ \(× time\.scale\)\./, ' Scales with `time.scale`.')
      .replace(/\|/g, '\\|');
    out.push(`| \`${path}\` | ${typeOf(child)} | ${defaultOf(child)} | ${description} |`);
  }
}

/** The configuration reference as Markdown, generated from the zod schema (the single source). */
export function configReferenceMarkdown(): string {
  const schema = z.toJSONSchema(ConfigSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchemaNode;
  const out = ['| key | type | default | meaning |', '|---|---|---|---|'];
  rows(schema, '', out);
  return `${out.join('\n')}\n`;
}

/** Replaces the text between `<!-- name:start … -->` and `<!-- name:end -->` in a document. */
export function replaceGenerated(doc: string, name: string, content: string): string {
  const start = new RegExp(`(<!-- ${name}:start[^>]*-->\\n)[\\s\\S]*?(<!-- ${name}:end -->)`);
  if (!start.test(doc)) throw new Error(`no <!-- ${name}:start --> … <!-- ${name}:end --> markers`);
  return doc.replace(start, (_m, open: string, close: string) => `${open}${content}${close}`);
}
