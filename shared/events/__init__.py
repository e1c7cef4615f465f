"""Typed views of the events docflow receives, parsed once at the boundary, one module per
trigger so a handler loads only the views it uses (each frozen dataclass costs its cold start):

- `shared.events.http`: `HttpRequest` (API Gateway HTTP API, payload 2.0)
- `shared.events.s3`: `S3Event`, `S3Object`
- `shared.events.sqs`: `SqsEvent`, `SqsMessage`, `Notification` (SNS through SQS)
- `shared.events.streams`: `DynamoDBStreamEvent`, `StreamChange`
- `shared.events.kinesis`: `KinesisWindowEvent`, `KinesisRecord`
- `shared.events.cloudwatch_logs`: `LogsPayload`, what a CloudWatch Logs subscription
  delivers (gzip JSON in a Kinesis record), and `log_lines`, the JSON lines it carries
- `shared.events.schedule`: `ScheduledEvent`
- `shared.events.payloads`: `loads`, the JSON every view and consumer reads (standard JSON,
  bounded depth, finite numbers), and `gunzip`, bounded

Malformed input raises `InvalidInputError` naming what was wrong, never a `KeyError`.
"""
