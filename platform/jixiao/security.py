"""Security headers on every answer: pages, API and downloads (等保三级, 安全通信网络 / 入侵防范).

The Content-Security-Policy allows scripts only from the app's own static files (no inline script, no other
origin), so injected markup cannot run; framing is refused (clickjacking); browsers may not guess content
types; referrers stay on the site; HTTPS is pinned in production (HSTS). ``JIXIAO_CSP`` replaces the policy
for a deployment that must load something else, e.g. a map tile server.
"""

from __future__ import annotations

from flask import Flask, Response

DEFAULT_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
               "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
               "frame-ancestors 'none'")
HSTS = "max-age=31536000; includeSubDomains"


def init_app(app: Flask) -> None:
    policy = str(app.config.get("CONTENT_SECURITY_POLICY") or DEFAULT_CSP)
    production = app.config.get("ENV") == "production"

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", policy)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        if production:
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response
