"""Online reads: compiled read plans (``plan``), the request path (``api``) and ``OnlineResponse`` (``response``)."""
