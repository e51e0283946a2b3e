"""The web application: the resident's own page and the staff page (FastAPI, server-rendered).

``keukentafel web`` serves :func:`keukentafel.web.app.create_app` with uvicorn; the App
(keukentafel/bootstrap.py) builds it with ``App.web()``. See docs/web.md for the routes, the
security model and the configuration.
"""
