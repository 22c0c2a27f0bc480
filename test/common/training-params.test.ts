/**
 * The one training-parameter table (src-main/common/training-params.ts): every consumer accepts
 * exactly the table's range: the contract's validator, the command line, the mapping to the
 * pipeline config; the presets' values come from it. (The Training view's form: test/renderer/training-state.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../src-main/common/api';
import { PRESET_PIPELINE, TRAINING_PARAM_DEFS, type TrainingParamDef } from '../../src-main/common/training-params';
import { parseTrainOptions } from '../../src-main/cli/train-options';
import { presetConfig, trainOverrides } from '../../src-main/services/training-data';
import { PRESETS } from '../../src-main/bgad/config';

/** Boundary values in the range, and values just outside it (or not an integer where one is needed). */
function boundaries(d: TrainingParamDef): { inside: number[]; outside: number[] } {
  const eps = d.integer ? 1 : Math.max(Math.abs(d.min), Math.abs(d.max), 1) * 1e-9;
  const outside = [d.min - (d.integer ? 1 : Math.max(Math.abs(d.min) * 1e-3, 1e-12)), d.max + (d.integer ? 1 : eps * 1e3)];
  if (d.integer) outside.push(d.min + 0.5);
  return { inside: [d.min, d.max], outside };
}

const start = (params: Record<string, number>) => ({ datasetId: 1, preset: 'fast', backboneId: 'm', params });

describe('training-parameter table', () => {
  it('has one row per contract parameter, each range sound, and the presets inside it', () => {
    expect(new Set(TRAINING_PARAM_DEFS.map((d) => d.key)).size).toBe(TRAINING_PARAM_DEFS.length);
    for (const d of TRAINING_PARAM_DEFS) {
      expect(d.min, d.key).toBeLessThan(d.max);
      expect(d.help.length, d.key).toBeGreaterThan(20);
      for (const v of Object.values(d.defaults ?? {})) if (v !== null) expect(v >= d.min && v <= d.max, `${d.key} default ${v}`).toBe(true);
    }
  });

  it.each(TRAINING_PARAM_DEFS.map((d) => [d.key, d] as const))('contract validator accepts exactly the range of %s', (key, d) => {
    const { inside, outside } = boundaries(d);
    for (const v of inside) expect(parseArgs('training.start', start({ [key]: v })).params).toEqual({ [key]: v });
    for (const v of outside) expect(() => parseArgs('training.start', start({ [key]: v })), `${key}=${v}`).toThrow(new RegExp(`args\\.params\\.${key}`));
  });

  it.each(TRAINING_PARAM_DEFS.filter((d) => d.configKey).map((d) => [d.key, d] as const))('the mapping to the pipeline accepts exactly the range of %s', (key, d) => {
    const { inside, outside } = boundaries(d);
    for (const v of inside) expect(trainOverrides({ [key]: v })).toEqual({ [d.configKey!]: v });
    for (const v of outside) expect(() => trainOverrides({ [key]: v }), `${key}=${v}`).toThrow(/must be/);
  });

  it('the mapping refuses the parameters fixed in this version', () => {
    for (const d of TRAINING_PARAM_DEFS.filter((x) => !x.configKey)) expect(() => trainOverrides({ [d.key]: d.min })).toThrow(/cannot be changed/);
  });

  it.each(TRAINING_PARAM_DEFS.filter((d) => d.flag).map((d) => [d.flag!, d] as const))('the CLI flag --%s accepts exactly the range', (flag, d) => {
    const { inside, outside } = boundaries(d);
    for (const v of inside) expect((parseTrainOptions({ [flag]: String(v) }).overrides as Record<string, unknown>)[d.configKey!]).toBe(v);
    for (const v of outside) expect(() => parseTrainOptions({ [flag]: String(v) }), `--${flag} ${v}`).toThrow(new RegExp(`--${flag} must be`));
  });

  it('the pipeline presets take their values from the table, and the contract presets map through it', () => {
    for (const d of TRAINING_PARAM_DEFS) {
      for (const [p, v] of Object.entries(d.defaults ?? {})) if (v !== null) expect((PRESETS as unknown as Record<string, Record<string, unknown>>)[p]![d.configKey!], `${p}.${d.key}`).toBe(v);
    }
    expect(PRESETS.fast.lr).toBe(1e-3);
    expect(PRESETS.paper.lr).toBe(2e-4);
    expect(PRESETS.paper.epochs).toBe(200);
    expect(PRESETS.fast.steps).toBe(1200);
    for (const p of ['fast', 'balanced', 'thorough'] as const) expect(presetConfig(p)).toEqual(PRESET_PIPELINE[p]);
    expect(presetConfig('balanced')).toEqual({ preset: 'fast', overrides: { steps: 3000 } });
  });
});
