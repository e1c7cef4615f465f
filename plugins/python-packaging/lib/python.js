'use strict';

// Runs the plugin's Python helpers (python/*.py) with the Lambda runtime's Python and
// collects their one-JSON-object-per-line output.

const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const SCRIPTS = path.join(__dirname, '..', 'python');

function runScript(pythonBin, script, spec, ServerlessError) {
  const specDir = fs.mkdtempSync(path.join(os.tmpdir(), 'python-packaging-'));
  const specFile = path.join(specDir, 'spec.json');
  fs.writeFileSync(specFile, JSON.stringify(spec));
  try {
    const result = spawnSync(pythonBin, [path.join(SCRIPTS, script), specFile], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    if (result.error) {
      const cause = result.error.code === 'ENOENT' ? 'not found' : result.error.message;
      throw new ServerlessError(
        `${script}: cannot run ${pythonBin} (${cause}). Python 3.12 is needed to compile and ` +
          'check packages: set custom.pythonRequirements.pythonBin (the Makefile passes ' +
          'DOCFLOW_PYTHON312), or install python3.12 on PATH',
        'PYTHON_PACKAGING_NO_PYTHON'
      );
    }
    const reports = result.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line));
    return { status: result.status, reports, stderr: result.stderr.trim() };
  } finally {
    fs.rmSync(specDir, { recursive: true, force: true });
  }
}

module.exports = { runScript };
