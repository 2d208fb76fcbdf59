"""How the web process is served: uvicorn and daphne subclasses and fixes, the WSGI bridge; apps never import it."""
