import { UsageError, type Command } from '../command';
import { defaultBackboneId, listBackbones, modelsDirCandidates } from '../../backbones/registry';

const command: Command = {
  name: 'backbones',
  summary: 'List the feature extractors, which are available here, and the default',
  usage: [
    'Usage: bgad backbones [--json]',
    '',
    '  --json   print JSON: { "default": id, "modelsDirs": [...], "backbones": [{ id, available, reason?, description }] }',
    '',
    'The default is the most accurate available backbone (see bgad bench backbones):',
    'zoo-mobilenetv2-int8 when its verified model file is in a models folder, else mobilenetv2.',
    'Models folders, searched in order: $BGAD_MODELS_DIR, <data folder>/models, <app>/resources/models,',
    '../shared/models (put mobilenetv2-12-int8/mobilenetv2-12-int8.onnx in one of them).',
  ].join('\n'),
  options: { json: { type: 'boolean' } },
  async run({ values, positionals }, io) {
    if (positionals.length) throw new UsageError('bgad backbones takes no arguments');
    const list = listBackbones();
    const def = defaultBackboneId();
    if (values.json === true) {
      io.out(JSON.stringify({ default: def, modelsDirs: modelsDirCandidates(), backbones: list }, null, 2));
      return 0;
    }
    const w = Math.max(...list.map((b) => b.id.length));
    for (const b of list) {
      const mark = b.id === def ? ' (default)' : '';
      io.out(`${(b.id + mark).padEnd(w + 10)}  ${b.available ? 'available  ' : 'unavailable'}  ${b.description}`);
      if (!b.available && b.reason) io.out(`${''.padEnd(w + 10)}  ${''.padEnd(11)}  why: ${b.reason}`);
    }
    return 0;
  },
};

export default command;
