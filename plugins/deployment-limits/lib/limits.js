'use strict';

// AWS Lambda and CloudFormation quotas that cannot be raised. Sources: Lambda quotas
// (docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html), CloudFormation quotas,
// IAM quotas, and the SQS event source guidance (visibility >= 6 x function timeout).
const MB = 1024 * 1024;

module.exports = Object.freeze({
  MB,
  UNZIPPED_BYTES: 262144000, // function code plus all its layers, unzipped (250 MB)
  ZIPPED_BYTES: 50 * MB, // a package uploaded directly (50 MB)
  LAYERS_PER_FUNCTION: 5,
  ENVIRONMENT_BYTES: 4096, // all environment variables of one function (4 KB)
  TIMEOUT_SECONDS: 900,
  API_TIMEOUT_SECONDS: 29, // API Gateway integration timeout
  MEMORY_MIN_MB: 128,
  MEMORY_MAX_MB: 10240,
  SQS_VISIBILITY_FACTOR: 6,
  SQS_DEFAULT_VISIBILITY_SECONDS: 30,
  RESOURCES_PER_STACK: 500,
  ROLE_INLINE_POLICY_BYTES: 10240, // aggregate inline policy size per role
  DEFAULT_TIMEOUT_SECONDS: 6, // Serverless Framework defaults when a function sets none
  DEFAULT_MEMORY_MB: 1024,
  DEFAULT_BUDGET: 0.8,
});
