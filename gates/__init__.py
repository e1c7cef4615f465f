"""docflow's infrastructure gates: checks a change must pass before it is packaged or deployed.

Each gate is a function that takes data (a stage's configuration, a compiled CloudFormation
template) and returns findings; an empty list means the gate passes. `python -m gates`
runs them from the command line (see `gates/__main__.py`), `make gates` runs them all.
"""
