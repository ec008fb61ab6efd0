"""Sans-I/O wire adapters, one per protocol: build the request, parse responses, map errors.

Each module offers ``build_request(spec, messages, tools, options, stream)`` (the keyword
arguments of the SDK call), ``StreamParser`` (push: ``feed(event)`` / ``end()``, so the
sync and async drivers share it), ``parse_stream(events)`` and ``parse_response(resp)``
(pull, for whole iterables), and ``map_error(exc, ...)``. No sockets, no SDK imports.
"""
