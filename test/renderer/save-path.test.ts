/** Report paths: what the save dialog proposes and which file each report button writes. */
import { describe, expect, it } from 'vitest';
import { contract } from '../../src-main/common/api';
import { reportFileName, reportFormatOf, reportOutPath, REPORT_EXTENSIONS, saveDialogArgs } from '../../src-renderer/lib/save-path';

const valid = (a: unknown) => contract.app.pickSaveFile.args.parse(a, 'args');

describe('the save dialog for reports', () => {
  it('proposes the run\'s file name with the PDF and CSV types', () => {
    const name = reportFileName({ id: 12, source: '/mnt/line 3/bottles/' });
    expect(name).toBe('bottles-inspection-12-report');
    const a = saveDialogArgs({ current: '', defaultName: name, extensions: REPORT_EXTENSIONS, title: 'Save the report as' });
    expect(a).toEqual({ title: 'Save the report as', defaultName: 'bottles-inspection-12-report.pdf', extensions: ['pdf', 'csv'] });
    expect(valid(a)).toEqual(a);
    expect(reportFileName({ id: 3, source: 'C:\\data\\Kamera #2' })).toBe('Kamera_2-inspection-3-report');
    expect(reportFileName({ id: 3, source: '/' })).toBe('inspection-3-report');
  });

  it('opens where the typed path points, keeping a report extension it already has', () => {
    expect(saveDialogArgs({ current: '/home/qa/run-7.csv', defaultName: 'x', extensions: ['pdf', 'csv'] }).defaultName).toBe('/home/qa/run-7.csv');
    expect(saveDialogArgs({ current: ' /home/qa/run-7 ', extensions: ['pdf', 'csv'] }).defaultName).toBe('/home/qa/run-7.pdf');
    expect(saveDialogArgs({ current: '/home/qa/run.v2', extensions: ['pdf'] }).defaultName).toBe('/home/qa/run.v2.pdf');
    // a path longer than the dialog takes: its file name only
    const long = `/${'d'.repeat(300)}/report.csv`;
    const a = saveDialogArgs({ current: long, extensions: ['pdf', 'csv'] });
    expect(a.defaultName).toBe('report.csv');
    expect(valid(a)).toEqual(a);
    expect(saveDialogArgs({ current: '' })).toEqual({});
  });

  it('writes each report with its own extension, whatever the chosen name ends with', () => {
    expect(reportFormatOf('/r/run.CSV')).toBe('csv');
    expect(reportFormatOf('/r/run.pdf')).toBe('pdf');
    expect(reportFormatOf('/r/run')).toBe('pdf');
    expect(reportOutPath('/r/run.csv', 'pdf')).toBe('/r/run.pdf');
    expect(reportOutPath('/r/run.pdf', 'csv')).toBe('/r/run.csv');
    expect(reportOutPath('/r/run.csv', 'csv')).toBe('/r/run.csv');
    // no report extension: the service adds the format's own
    expect(reportOutPath(' /r/run ', 'pdf')).toBe('/r/run');
    expect(reportOutPath('/r/run.v2', 'csv')).toBe('/r/run.v2');
  });
});
