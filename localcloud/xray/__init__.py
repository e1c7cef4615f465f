"""X-Ray on the local stack: the daemon's UDP protocol, trace storage and queries, trace context.

- ``daemon``: a UDP listener speaking the X-Ray daemon's protocol (a JSON header line, then one
  segment or subsegment document per datagram), which the functions' X-Ray SDK sends to;
- ``store``: moto's X-Ray backend, extended so ``GetTraceSummaries`` takes filter expressions
  and reports annotations and services, and ``BatchGetTraces`` returns segments with their
  separately sent subsegments nested, as X-Ray assembles them;
- ``filters``: the part of X-Ray's filter expression language the store evaluates;
- ``model``: trace headers, ids, and the segment documents AWS services write themselves;
- ``context``: the trace header of the request being served, for the services that carry it on.
"""
