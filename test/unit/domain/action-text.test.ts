import { describe, expect, it } from 'vitest';
import { actionTextPlaceholders, formatNumber, renderActionText } from '../../../src/domain/action-text.js';
import { loadRules } from '../../../src/config/rule-files.js';
import type { FactValue } from '../../../src/domain/index.js';

const subject = { kind: 'vertex' as const, id: 'v-1', name: 'Window(5m) -> Sink' };

function render(
  text: string,
  facts: Record<string, FactValue> = {},
  params: Record<string, number | string | number[]> = {},
): string {
  return renderActionText(text, { subject, params, facts: { get: name => facts[name] } });
}

describe('action text placeholders', () => {
  it('lists placeholder names in order, once, trimmed', () => {
    expect(
      actionTextPlaceholders('{{ subject.name }} {{params.x}} {{vertex.parallelism}} {{params.x}}'),
    ).toEqual(['subject.name', 'params.x', 'vertex.parallelism']);
    expect(actionTextPlaceholders('no placeholders, { not } {{ }}')).toEqual(['']);
    expect(actionTextPlaceholders('plain')).toEqual([]);
  });

  it('fills in the subject, params and facts', () => {
    expect(
      render(
        'Raise {{subject.name}} ({{subject.id}}) from {{vertex.parallelism}} over {{params.busy}}.',
        { 'vertex.parallelism': 4 },
        { busy: 0.9 },
      ),
    ).toBe('Raise Window(5m) -> Sink (v-1) from 4 over 0.9.');
  });

  it('renders an absent fact, a missing param and an unknown name as ?', () => {
    expect(render('{{vertex.parallelism}} {{params.nope}} {{nope}} {{params.toString}}')).toBe('? ? ? ?');
  });

  it.each([
    ['vertex.parallelism', 12, '12'],
    ['vertex.recordsInRate', 1234.56789, '1234.568'],
    ['vertex.recordsInRate', 0.000123456, '0.000123'],
    ['vertex.recordsInRate', -2.5, '-2.5'],
    ['vertex.busyRatio.max', 0.934, '93.4%'],
    ['vertex.busyRatio.max', 0.07, '7%'],
    ['vertex.busyRatio.max', 1, '100%'],
    ['vertex.busyRatio.max', 0.123456, '12.3%'],
    ['source.lagSeconds', 4200, '1h10m'],
    ['source.lagSeconds', 0.25, '250ms'],
    ['source.lagSeconds', -3, '-3s'],
    ['job.checkpoints.stateSize', 512, '512 B'],
    ['job.checkpoints.stateSize', 1536, '1.5 KiB'],
    ['job.checkpoints.stateSize', 3 * 1024 ** 3, '3.0 GiB'],
    ['vertex.isSource', true, 'yes'],
    ['vertex.isSink', false, 'no'],
    ['job.state', 'RUNNING', 'RUNNING'],
    ['job.exceptions.classesMedium', ['oom', 'kafka-timeout'], 'oom, kafka-timeout'],
    ['job.exceptions.classesMedium', [], 'none'],
    ['vertex.recordsInRate', Number.POSITIVE_INFINITY, 'Infinity'],
    ['vertex.busyRatio.max', Number.NaN, 'NaN'],
  ] as [string, FactValue, string][])('renders %s = %j as %s', (fact, value, expected) => {
    expect(render(`{{${fact}}}`, { [fact]: value })).toBe(expected);
  });

  it('renders list params', () => {
    expect(render('{{params.states}}', {}, { states: [1, 2.5] })).toBe('1, 2.5');
  });

  it('formats numbers readably', () => {
    expect([
      formatNumber(3),
      formatNumber(2.0004),
      formatNumber(0.5),
      formatNumber(0.33333),
      formatNumber(1e21),
    ]).toEqual(['3', '2', '0.5', '0.333', '1e+21']);
  });

  it('every shipped action text renders without ? when its facts are present', async () => {
    for (const rule of await loadRules()) {
      const text = renderActionText(rule.action.text, {
        subject: { kind: rule.scope, id: 'x', name: 'x' },
        params: { ...rule.action.params, ...rule.params },
        facts: { get: () => 1 },
      });
      // An absent fact renders as a lone '?'; a question in the prose is fine.
      expect(text).not.toMatch(/(^|\s)\?(\s|$|[.,;)])/);
      expect(text).not.toContain('{{');
    }
  });
});
