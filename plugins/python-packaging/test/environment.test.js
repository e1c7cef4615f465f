'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { resolveEnvironment } = require('../lib/environment');

test('literal values stay, deploy-time values become placeholders of the right shape', () => {
  const template = { Parameters: { Level: { Type: 'String', Default: 'INFO' } }, Resources: {} };
  const environment = resolveEnvironment(
    {
      PLAIN: 'docflow',
      NUMBER: 20971520,
      FLAG: true,
      TABLE: { Ref: 'DocumentsTable' },
      LEVEL: { Ref: 'Level' },
      QUEUE_ARN: { 'Fn::GetAtt': ['JobsQueue', 'Arn'] },
      BUCKET: { 'Fn::Sub': 'docflow-dev-documents-${AWS::AccountId}-${AWS::Region}' },
      TYPES: { 'Fn::Join': [',', ['image/png', 'text/csv']] },
      INDEX: { 'Fn::Sub': ['${Table}/index/x', { Table: { 'Fn::GetAtt': ['DocumentsTable', 'Arn'] } }] },
    },
    { region: 'eu-west-1', stackName: 'docflow-dev', template }
  );
  assert.deepEqual(environment, {
    PLAIN: 'docflow',
    NUMBER: '20971520',
    FLAG: 'true',
    TABLE: 'import-check-DocumentsTable',
    LEVEL: 'INFO',
    QUEUE_ARN: 'arn:aws:import-check:eu-west-1:000000000000:JobsQueue',
    BUCKET: 'docflow-dev-documents-000000000000-eu-west-1',
    TYPES: 'image/png,text/csv',
    INDEX: 'arn:aws:import-check:eu-west-1:000000000000:DocumentsTable/index/x',
  });
});
