"""Processing: the Step Functions workflow's tasks (extract, transform, policy, approval, store)."""
