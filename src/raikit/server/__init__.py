"""``raikit ui``: a local, token-protected web dashboard over the evidence ledger.

FastAPI and uvicorn come with the ``ui`` extra (``pip install "raikit[ui]"``); they are imported
only when the dashboard is created.
"""

from __future__ import annotations

from raikit._errors import RaikitError

__all__ = ["MAX_BODY", "create_app", "serve"]

MAX_BODY = 64 * 1024


def _app_module():
    try:
        from raikit.server import _app
    except ImportError as error:
        raise RaikitError(
            f'raikit ui needs FastAPI and uvicorn ({error.name} is missing): pip install "raikit[ui]"'
        ) from error
    return _app


def create_app(ledger, *, token: str, port: int | None = None, host: str = "127.0.0.1"):
    """The dashboard as a FastAPI app over ``ledger``; every request must carry ``token``.

    Parameters
    ----------
    ledger : Ledger or str
        The ledger served (read through one connection per worker thread).
    token : str
        The secret every request carries (cookie set by ``/login?token=``, or a Bearer header).
    port : int, optional
        The port it is bound to: requests must then name ``127.0.0.1``, ``localhost`` or
        ``[::1]`` (or ``host``) with this port in their ``Host`` header (421 otherwise), which
        stops DNS rebinding. ``None`` accepts any port of a loopback name.
    host : str, default "127.0.0.1"
        The address it is bound to.

    Examples
    --------
    >>> import tempfile
    >>> from raikit.ledger import Ledger
    >>> app = create_app(Ledger(tempfile.mkdtemp()), token="s3cret")
    >>> sorted(r.path for r in app.routes)[:4]
    ['/', '/cards/{run_id}', '/cards/{run_id}/annex-iv', '/cohorts/{run_id}']
    """
    return _app_module().create_app(ledger, token=token, port=port, host=host)


def serve(
    ledger, *, host: str = "127.0.0.1", port: int = 8765, token: str | None = None, echo=print
):
    """Run the dashboard until interrupted; prints the URL with a fresh token."""
    return _app_module().serve(ledger, host=host, port=port, token=token, echo=echo)
