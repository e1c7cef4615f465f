"""docflow's HTTP API from a shell: `python -m docflow_client --help`.

A development and operator tool: it lives outside `handlers/`, `docflow/` and `shared/`, so no
function's `package.patterns` ever ships it to Lambda.
"""
