"""``thresher serve``: a small local web app over one release (card, search, documents, "am I in it?",
removal requests). Starlette + server-rendered Jinja2 templates; no assets from the internet.

Example::

    import uvicorn
    from thresher.web import create_app
    uvicorn.run(create_app("out/demo"), host="127.0.0.1", port=8000)
"""
from .app import create_app

__all__ = ["create_app"]
