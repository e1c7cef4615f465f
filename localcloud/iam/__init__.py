"""IAM on the local stack: role sessions from the local STS, and every request they sign
authorised against the role's policies (and the resource's policy) as AWS does.

- `principals`: who signed a request (admin credentials, or a role session), role credentials
  for functions and state machines, and the policies attached to a role;
- `policy`: IAM's policy evaluation logic (pure: documents and a request in, a decision out);
- `requests`: the action, resource ARNs and condition keys of an HTTP request to a service;
- `enforce`: the WSGI middleware in front of moto that refuses what the role does not allow,
  answering with the service's own access-denied error;
- `audit`: every decision made for a role session, for `python -m localcloud iam-report`.
"""
