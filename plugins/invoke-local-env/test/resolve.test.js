'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const InvokeLocalEnv = require('..');

const { resolve, resolveEnvironment, pseudoParameters } = InvokeLocalEnv;
const pseudo = pseudoParameters({ accountId: '123456789012', region: 'us-east-1' });

test('a Sub of pseudo parameters becomes the name CloudFormation builds', () => {
  assert.equal(
    resolve({ 'Fn::Sub': 'docflow-local-analytics-${AWS::AccountId}-${AWS::Region}' }, pseudo),
    'docflow-local-analytics-123456789012-us-east-1'
  );
  assert.equal(
    resolve({ 'Fn::Sub': 'arn:${AWS::Partition}:states:${AWS::Region}:x:${!Literal}' }, pseudo),
    'arn:aws:states:us-east-1:x:${Literal}'
  );
});

test('a Join of strings (and of resolvable values) is joined', () => {
  assert.equal(resolve({ 'Fn::Join': [',', ['a@example.com', 'b@example.com']] }, pseudo), 'a@example.com,b@example.com');
  assert.equal(
    resolve({ 'Fn::Join': ['-', ['x', { 'Fn::Sub': '${AWS::Region}' }]] }, pseudo),
    'x-us-east-1'
  );
});

test('what needs the deployed stack is left for osls', () => {
  assert.equal(resolve({ 'Fn::Sub': '${DocumentsTable.Arn}/index/by_status' }, pseudo), undefined);
  assert.equal(resolve({ 'Fn::Join': [',', [{ Ref: 'Queue' }]] }, pseudo), undefined);
  assert.equal(resolve({ Ref: 'DocumentsTable' }, pseudo), undefined);
  assert.equal(resolve({ 'Fn::Sub': '${AWS::AccountId}' }, pseudoParameters({ region: 'r' })), undefined);
});

test('only the computable values of an environment change', () => {
  const environment = {
    PLAIN: 'value',
    TABLE: { Ref: 'DocumentsTable' },
    BUCKET: { 'Fn::Sub': 'b-${AWS::AccountId}' },
    RULES: { 'Fn::Join': [',', ['accepted:15:redrive', 'processing:30:redrive']] },
  };
  assert.deepEqual(resolveEnvironment(environment, pseudo), {
    PLAIN: 'value',
    TABLE: { Ref: 'DocumentsTable' },
    BUCKET: 'b-123456789012',
    RULES: 'accepted:15:redrive,processing:30:redrive',
  });
  assert.equal(resolveEnvironment(undefined, pseudo), undefined);
});

function fakeServerless(commands, environment, calls) {
  return {
    processedInput: { commands },
    service: { provider: {}, functions: { sync: { environment } } },
    getProvider: () => ({
      getRegion: () => 'us-east-1',
      getAccountId: async () => {
        calls.push('sts');
        return '123456789012';
      },
    }),
  };
}

test('the hook rewrites the invoked function for invoke local only', async () => {
  const calls = [];
  const environment = { BUCKET: { 'Fn::Sub': 'b-${AWS::AccountId}' } };
  const local = fakeServerless(['invoke', 'local'], environment, calls);
  await new InvokeLocalEnv(local, { function: 'sync' }).hooks.initialize();
  assert.deepEqual(local.service.functions.sync.environment, { BUCKET: 'b-123456789012' });

  const deploy = fakeServerless(['deploy'], environment, calls);
  await new InvokeLocalEnv(deploy, { function: 'sync' }).hooks.initialize();
  assert.deepEqual(deploy.service.functions.sync.environment, environment);
  assert.deepEqual(calls, ['sts']);
});
