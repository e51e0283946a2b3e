"""Fake external systems on 127.0.0.1 that speak the real protocols, for the tests and the demo.

Shipped with the package (``keukentafel demo`` runs on them). ``_server`` is the base every fake
builds on (threaded HTTP/TLS server, request log, fault rules, routing); ``vera_server`` and
``vera_data`` are the VERA ERP; ``m365`` is Microsoft Entra ID and Graph. Nothing here is used in
production.
"""
