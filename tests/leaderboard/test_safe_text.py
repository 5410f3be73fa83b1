"""User strings render as plain text: no link, image, markup or HTML survives (issue 13, case 10)."""
from __future__ import annotations

import pytest

from leaderboard.safe_text import html_text, plain

HOSTILE = "[best](http://evil.example/) ![x](http://evil.example/pixel.png) <img src=x onerror=alert(1)> **b** # h"


def test_markdown_renders_as_the_literal_characters():
    markdown = pytest.importorskip("markdown_it")
    rendered = markdown.MarkdownIt("commonmark").render(plain(HOSTILE))
    assert "<a " not in rendered and "<img" not in rendered and "<strong>" not in rendered and "<h1>" not in rendered
    assert "[best](http://evil.example/)" in rendered  # shown, not followed


def test_html_is_escaped():
    out = html_text(HOSTILE)
    assert "<img" not in out and "&lt;img src=x onerror=alert(1)&gt;" in out


def test_control_characters_and_length_are_capped():
    out = plain("a\nb\x1b[31m\u202eevil" + "x" * 1000)
    assert "\n" not in out and "\x1b" not in out and "\u202e" not in out
    assert len(html_text("x" * 1000)) == 300
