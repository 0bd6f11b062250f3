import type { Scope, Subject } from './scope.js';

/**
 * Facts are typed values about one subject at one observation, computed by detect from a
 * Snapshot plus the job's history. Names follow `<scope>.<metric>[.<agg>][.<window>]`.
 *
 * Windows are *named* (short, medium, long, day) rather than spelled as durations, because each
 * window is a config duration (5m, 15m, 1h, 24h by default) that `time.scale` compresses for
 * rehearsals: `vertex.busyRatio.max.avgShort` stays true to its name at any scale.
 *
 * A fact the source did not deliver is absent: the key is missing. Never 0, never null.
 */
export type FactType = 'number' | 'boolean' | 'string' | 'string[]';
export type FactUnit = 'ratio' | 's' | 'per_s' | 'bytes' | 'count' | 'bool' | 'text' | 'records';
export type FactAggregation = 'latest' | 'max' | 'min' | 'avg' | 'sum' | 'skew' | 'count' | 'growth' | 'set';
export const WINDOW_NAMES = ['short', 'medium', 'long', 'day'] as const;
export type WindowName = (typeof WINDOW_NAMES)[number];
export type FactWindow = 'latest' | WindowName;

export type FactValue = number | boolean | string | readonly string[];

export interface FactDefinition {
  name: string;
  scope: Scope;
  type: FactType;
  unit: FactUnit;
  /** How subtasks (or samples in the window) are combined. */
  aggregation: FactAggregation;
  window: FactWindow;
  description: string;
}

/** Facts of one subject: present facts only. */
export type FactMap = Record<string, FactValue>;

export interface SubjectFacts {
  subject: Subject;
  facts: FactMap;
}

/** Everything detect produced for one job at one observation. */
export interface JobFacts {
  jobKey: string;
  observedAt: number;
  cluster: SubjectFacts;
  job: SubjectFacts;
  sources: SubjectFacts[];
  vertices: SubjectFacts[];
  taskmanagers: SubjectFacts[];
  nodes: SubjectFacts[];
}

export function subjectsOfScope(facts: JobFacts, scope: Scope): readonly SubjectFacts[] {
  switch (scope) {
    case 'cluster':
      return [facts.cluster];
    case 'job':
      return [facts.job];
    case 'source':
      return facts.sources;
    case 'vertex':
      return facts.vertices;
    case 'taskmanager':
      return facts.taskmanagers;
    case 'node':
      return facts.nodes;
  }
}

export function scopeOfFact(name: string): Scope | undefined {
  const head = name.slice(0, name.indexOf('.'));
  return (['cluster', 'job', 'source', 'vertex', 'taskmanager', 'node'] as const).find(s => s === head);
}
