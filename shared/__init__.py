"""The common package every docflow handler uses.

Each module is named for one concern (settings, logging, tracing, secrets, errors, aws,
events, batch, idempotency, metrics) and `handler` stacks them in one fixed order. Importing
`shared` is cheap on purpose: heavy dependencies (boto3, aws-xray-sdk) load on first use.
"""
