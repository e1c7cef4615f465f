"""docflow's domain: plain logic that knows nothing of Lambda events.

Each package has the same inner shape: `model` (values and rules), `service` (the use cases,
taking their collaborators as arguments), and where it talks to AWS, `store`.
"""
