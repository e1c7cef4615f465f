'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { skipLayerComparisonWhenPackaging } = require('../lib/offline-layers');

function fakeServerless(commands) {
  const calls = [];
  const compiler = {
    compareWithLastLayer: async (name) => {
      calls.push(name);
      throw new Error('AWS provider credentials not found');
    },
  };
  return { calls, compiler, serverless: { processedInput: { commands }, pluginManager: { plugins: [{}, compiler] } } };
}

test('sls package does not ask CloudFormation about the deployed layer', async () => {
  const { serverless, compiler, calls } = fakeServerless(['package']);
  assert.equal(skipLayerComparisonWhenPackaging(serverless, null), true);
  await compiler.compareWithLastLayer('pythonRequirements');
  assert.deepEqual(calls, []);
});

test('sls deploy keeps the comparison (it saves an upload)', async () => {
  const { serverless, compiler } = fakeServerless(['deploy']);
  assert.equal(skipLayerComparisonWhenPackaging(serverless, null), false);
  await assert.rejects(compiler.compareWithLastLayer('pythonRequirements'), /credentials/);
});
