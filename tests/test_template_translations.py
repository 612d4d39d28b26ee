"""A template's _("…") without a catalog is the text itself, as Flask-Babel's lookup gives it (Jixiao ships no
catalog: its strings are its Chinese source), and a catalog under translations/ brings the lookup back."""

from __future__ import annotations

import jinja2

from jixiao.app import _has_catalogs

SOURCE = '{{ _("预算年度") }}|{{ _("共 %(n)s 个", n=3) }}|{{ _("<b>%(x)s</b>", x="<i>") }}'


def test_without_a_catalog_the_null_translations_give_flask_babel_s_text(app):
    assert not _has_catalogs(app)
    with app.test_request_context():
        ours = app.jinja_env.from_string(SOURCE).render()
    # The reference: Flask-Babel's own callables, as it installs them when it configures Jinja.
    from flask_babel import get_translations

    reference = jinja2.Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    with app.test_request_context():
        reference.install_gettext_callables(gettext=lambda s: get_translations().ugettext(s),
                                            ngettext=lambda s, p, n: get_translations().ungettext(s, p, n),
                                            newstyle=True)
        theirs = reference.from_string(SOURCE).render()
    assert ours == theirs


def test_a_compiled_catalog_is_found(app, tmp_path):
    catalog = tmp_path / "translations" / "en" / "LC_MESSAGES"
    catalog.mkdir(parents=True)
    (catalog / "messages.mo").write_bytes(b"")

    class Elsewhere:
        root_path = str(tmp_path)
        config = {"BABEL_TRANSLATION_DIRECTORIES": "translations"}

    assert _has_catalogs(Elsewhere())  # type: ignore[arg-type]
