"""User-supplied strings (method names and specs, families, frameworks, notes, error messages) shown as
plain text wherever the app renders Markdown or HTML: nothing in them becomes a link, an image, a
heading, emphasis or markup (issue 13: a method name rendered a live link and fetched a remote image).

`plain(text)` is for st.markdown / st.write / st.caption and Markdown tables; `html_text(text)` for
HTML snippets. Table widgets (st.dataframe) already show cells as text and need neither."""
from __future__ import annotations

import html
import re

# Everything Markdown (CommonMark + GitHub/Streamlit extensions: ~~strike~~, :emoji:, $math$) can act on.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$&\"'=])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
MAX_CHARS = 300


def _clean(text, max_chars: int) -> str:
    text = _CONTROL.sub(" ", "" if text is None else str(text))
    return text if len(text) <= max_chars else text[:max_chars - 1] + "…"


def plain(text, max_chars: int = MAX_CHARS) -> str:
    """Markdown-escaped, one line, at most max_chars characters; renders exactly as the characters read."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _clean(text, max_chars))


def html_text(text, max_chars: int = MAX_CHARS) -> str:
    """HTML-escaped (quotes too), one line, at most max_chars characters."""
    return html.escape(_clean(text, max_chars), quote=True)
